#!/usr/bin/env bash
# Single-quoted $VARS in this file are meant for the shell inside the container.
# shellcheck disable=SC2016
# tests/docker/e2e.sh - build the image from the repository's Dockerfile and
# check it for real, in a private dockerd (see lib.sh; needs root, ~90 s warm
# on a busy 2-core machine).
#
#   sudo tests/docker/e2e.sh
#
# Image checks: builds on a python3 base, runs as uid 10001, works offline,
# /data is writable and /app is not, no torch/transformers/compiler inside,
# no token baked in, no environment default that overrides the config file;
# prints the image size.
# Every container below runs with compose.yaml's hardening (cap_drop,
# security_opt, read_only, tmpfs, mem_limit, logging), read from compose.yaml.
# CLI checks (no network): `coverage-bot index` caches the index in the /data
# volume and `coverage-bot ask` answers a gold question with its source.
# Bot checks (a fake Telegram Bot API on 127.0.0.1, --network host): the
# running container has no capability, no way to gain one and a read-only root
# (/data and /tmp writable); a config mounted over /app/config/config.yaml
# naming a mounted corpus folder is honoured (a question only that folder
# answers); a question gets a cited answer; /reload picks up a document added
# to that folder and names the folder; an admin uploads a Markdown file and an
# HTML page through the Bot API: each is stored in /data/uploads, summarized
# and answers a question only it holds (cited); after `docker restart` the
# upload still answers and /sources lists both; the healthcheck turns healthy;
# `docker stop` exits 0 in under 10 s.
#
# Environment: CBD_CACHE (cache dir, default /var/cache/coverage-bot-docker),
# CBD_REBUILD_BASE=1 (redo debootstrap).
# Host needs: root, python3 (standard library only), apt (for missing tools).
set -Eeuo pipefail
# shellcheck source=tests/docker/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ------------------------------------------------------------------ contract
FAKE_API_SCRIPT=$CBD_REPO/tests/fake_bot_api.py
BOT_TOKEN=123456:e2e-test-token
ADMIN_ID=4242 # a Telegram user id in access.admins of the test config
IMAGE_MB=0

# read_gold ID - a gold question of the seed corpus (tests/data/seeds_qa.jsonl)
# into GOLD_Q, GOLD_ANSWERS (array) and GOLD_DOC.
read_gold() {
    local id=$1
    eval "$(python3 - "$CBD_REPO/tests/data/seeds_qa.jsonl" "$id" <<'EOF'
import json, shlex, sys
path, wanted = sys.argv[1], sys.argv[2]
for line in open(path, encoding="utf-8"):
    item = json.loads(line)
    if item["id"] == wanted:
        print(f"GOLD_Q={shlex.quote(item['question'])}")
        print("GOLD_ANSWERS=(" + " ".join(shlex.quote(a) for a in item["answers"]) + ")")
        print(f"GOLD_DOC={shlex.quote(item['doc'])}")
        break
else:
    sys.exit(f"{path}: no gold question with id {wanted}")
EOF
    )"
}

# has_any TEXT NEEDLE... - true when TEXT contains one of the needles.
has_any() {
    local text=$1 needle
    shift
    for needle in "$@"; do [[ $text == *"$needle"* ]] && return 0; done
    return 1
}

# citation_keys DOC - the strings that identify DOC in an answer: its file
# name, its stem and its title (from the corpus's sources.yaml), one a line.
citation_keys() {
    in_image -i "$CBD_IMAGE" python - "$1" <<'EOF'
import pathlib, sys, yaml
doc = sys.argv[1]
sources = pathlib.Path("/app/seeds/sources.yaml")
meta = (yaml.safe_load(sources.read_text(encoding="utf-8")) or {}) if sources.exists() else {}
print(doc)
print(pathlib.Path(doc).stem)
if (meta.get(doc) or {}).get("title"):
    print(meta[doc]["title"])
EOF
}

# ------------------------------------------------------------------ hardening
HARDENING=() # docker run flags for compose.yaml's hardening (read_hardening)

# read_hardening - compose.yaml's cap_drop, security_opt, read_only, tmpfs,
# mem_limit and logging as `docker run` flags, so these checks run the
# container the way compose does (parsed by the image's own PyYAML).
read_hardening() {
    local flags
    flags=$(cbd_docker_run --rm -i --network none "$CBD_IMAGE" python -c '
import sys, yaml
bot = yaml.safe_load(sys.stdin)["services"]["bot"]
flags = [f"--cap-drop={c}" for c in bot.get("cap_drop", [])]
flags += [f"--security-opt={o}" for o in bot.get("security_opt", [])]
flags += ["--read-only"] if bot.get("read_only") else []
flags += [f"--tmpfs={t}" for t in bot.get("tmpfs", [])]
memory, logging = bot.get("mem_limit"), bot.get("logging", {})
flags += [f"--memory={memory}"] if memory else []
driver = logging.get("driver")
flags += [f"--log-driver={driver}"] if driver else []
flags += [f"--log-opt={k}={v}" for k, v in logging.get("options", {}).items()]
print("\n".join(flags))
' <"$CBD_REPO/compose.yaml") || cbd_die "cannot read the hardening settings of compose.yaml"
    mapfile -t HARDENING <<<"$flags"
    cbd_log "compose.yaml hardening: ${HARDENING[*]}"
}

# ------------------------------------------------------------------ image checks
in_image() { cbd_docker_run --rm --network none "${HARDENING[@]}" "$@"; }

check_image_basics() {
    local uid user size
    uid=$(in_image "$CBD_IMAGE" id -u)
    [[ $uid =~ ^[0-9]+$ && $uid -ne 0 ]] || cbd_die "container runs as uid '$uid', want non-root"
    [[ $uid -eq 10001 ]] || cbd_die "container runs as uid $uid, want the fixed uid 10001"
    user=$("$DOCKER" image inspect -f '{{.Config.User}}' "$CBD_IMAGE")
    cbd_log "runs as uid $uid (USER $user); $(in_image "$CBD_IMAGE" python --version)"
    [[ $("$DOCKER" image inspect -f '{{json .Config.Healthcheck.Test}}' "$CBD_IMAGE") == \
        '["CMD","coverage-bot","health"]' ]] || cbd_die "HEALTHCHECK is not 'coverage-bot health'"
    [[ $("$DOCKER" image inspect -f '{{json .Config.Cmd}}' "$CBD_IMAGE") == \
        '["coverage-bot","serve"]' ]] || cbd_die "CMD is not 'coverage-bot serve'"
    size=$("$DOCKER" image inspect -f '{{.Size}}' "$CBD_IMAGE")
    IMAGE_MB=$((size / 1000000))
    cbd_log "image size ${IMAGE_MB} MB"
}

# The token must only ever come from the run-time environment.
check_no_token_baked_in() {
    local env history
    env=$("$DOCKER" image inspect -f '{{json .Config.Env}}' "$CBD_IMAGE")
    history=$("$DOCKER" history --no-trunc --format '{{.CreatedBy}}' "$CBD_IMAGE")
    [[ $env != *TELEGRAM_BOT_TOKEN* ]] || cbd_die "image ENV contains TELEGRAM_BOT_TOKEN: $env"
    [[ $history != *TELEGRAM_BOT_TOKEN* ]] || cbd_die "an image layer mentions TELEGRAM_BOT_TOKEN"
}

# The image's settings are its config file; no ENV default may override a
# key of a config file a user mounts (bot/settings.py reads these).
check_no_env_overrides() {
    local env name
    env=$("$DOCKER" image inspect -f '{{json .Config.Env}}' "$CBD_IMAGE")
    for name in COVERAGE_BOT_CORPUS COVERAGE_BOT_INDEX_DIR COVERAGE_BOT_HEARTBEAT TELEGRAM_API_URL; do
        [[ $env != *"\"$name="* ]] || cbd_die "image ENV sets $name, overriding the config file: $env"
    done
    [[ $env == *'"COVERAGE_BOT_CONFIG=/app/config/config.yaml"'* ]] ||
        cbd_die "image ENV lacks COVERAGE_BOT_CONFIG=/app/config/config.yaml: $env"
}

# The runtime dependencies import with no network; the lean camel-tools
# install pulled none of the ML stack; no compiler came along.
check_runtime_deps() {
    in_image -i "$CBD_IMAGE" python - <<'EOF' || cbd_die "runtime dependency check failed"
import importlib.metadata as md
import importlib.util

from camel_tools.utils.dediac import dediac_ar
from camel_tools.utils.normalize import normalize_alef_ar
import numpy, rank_bm25, telegram, yaml  # noqa: F401
import docx, httpx, lxml.etree, pdfminer.high_level, trafilatura  # noqa: F401  (uploads, /add)

assert normalize_alef_ar(dediac_ar("إِعْلَان")) == "اعلان", "camel-tools normalisation is broken"
# The compiled search kernels load from the cache the image ships (Dockerfile), compiling nothing.
from retrieval.index import compiled_kernels
kernels = compiled_kernels()
dispatchers = [kernels.score_terms, kernels.top_positions, kernels.evidence, kernels.neighbour_marked,
               kernels.context_weight, kernels.block_max_top, kernels.candidate_evidence]
assert all(f.stats.cache_hits and not f.stats.cache_misses for f in dispatchers), "kernels not warm"
# numba and llvmlite are allowed (~210 MB, wheels, no compiler at run time): they
# compile the search kernels, the one heavy pair the product needs (benchmarks/README.md).
dists = sorted(d.metadata["Name"].lower() for d in md.distributions())
heavy = [d for d in (n.replace("_", "-") for n in dists) if d in {"torch", "transformers", "camel-kenlm", "scipy", "pandas",
         "scikit-learn", "tokenizers", "huggingface-hub"} or d.startswith("nvidia")]
modules = [m for m in ("torch", "transformers", "kenlm") if importlib.util.find_spec(m)]
assert not heavy and not modules, f"heavy packages in the image: {heavy + modules}"
print(f"{len(dists)} distributions: {' '.join(dists)}")
EOF
    in_image --entrypoint sh "$CBD_IMAGE" -c \
        'for c in gcc cc c++ g++ clang make; do command -v "$c" && exit 1; done; exit 0' ||
        cbd_die "a compiler or make is installed in the image"
}

# A fresh named volume on /data is writable by the bot; the code is not, even
# on a writable root (this check alone runs without --read-only).
check_permissions() {
    local vol
    vol=$(cbd_volume cbd-perm)
    cbd_docker_run --rm --network none -v "$vol:/data" --entrypoint sh "$CBD_IMAGE" -c \
        'touch /data/index/probe /data/heartbeat' ||
        cbd_die "/data is not writable by the bot user"
    if cbd_docker_run --rm --network none --entrypoint sh "$CBD_IMAGE" -c \
        'touch /app/probe || touch /app/.venv/probe' 2>/dev/null; then
        cbd_die "/app is writable by the bot user"
    fi
    in_image --entrypoint sh "$CBD_IMAGE" -c 'ls /app/seeds/*.txt >/dev/null' ||
        cbd_die "bundled corpus missing at /app/seeds"
}

# ------------------------------------------------------------------ CLI checks
check_cli_help() {
    local help sub
    help=$(in_image "$CBD_IMAGE" coverage-bot --help) || cbd_die "'coverage-bot --help' failed"
    for sub in ask index; do
        [[ $help == *" $sub "* ]] || cbd_die "'coverage-bot --help' does not list '$sub'"
    done
}

# Offline, as the bot user: the first `index` builds into the volume, the
# second reads it back, and `ask` answers a gold question citing its document.
check_cli_answers() {
    local vol out keys
    vol=$(cbd_volume cbd-cli)
    out=$(in_image -v "$vol:/data" "$CBD_IMAGE" coverage-bot index) ||
        cbd_die "'coverage-bot index' failed: $out"
    [[ $out == *"index: built"*"(/data/index)"* ]] || cbd_die "index not built into /data: $out"
    [[ $out == *"corpus: /app/seeds"* ]] || cbd_die "the image's config does not read /app/seeds: $out"
    out=$(in_image -v "$vol:/data" "$CBD_IMAGE" coverage-bot index)
    [[ $out == *"index: read from cache"* ]] || cbd_die "index not reused from /data: $out"
    cbd_log "$(grep '^documents:' <<<"$out")"
    read_gold seed-a03
    out=$(in_image -v "$vol:/data" "$CBD_IMAGE" coverage-bot ask "$GOLD_Q") ||
        cbd_die "'coverage-bot ask' failed: $out"
    has_any "$out" "${GOLD_ANSWERS[@]}" || cbd_die "ask '$GOLD_Q' misses ${GOLD_ANSWERS[*]}: $out"
    mapfile -t keys < <(citation_keys "$GOLD_DOC")
    has_any "$out" "${keys[@]}" || cbd_die "ask '$GOLD_Q' does not cite $GOLD_DOC: $out"
    cbd_log "ask: ${out:0:200}"
}

# ------------------------------------------------------------------ fake Bot API
API_URL=""

start_fake_api() {
    [[ -f $FAKE_API_SCRIPT ]] || cbd_die "$FAKE_API_SCRIPT is missing"
    local port _
    port=$(cbd_free_port)
    API_URL=http://127.0.0.1:$port
    python3 "$FAKE_API_SCRIPT" --port "$port" --token "$BOT_TOKEN" \
        >"$CBD_TMP/fake-api.log" 2>&1 9>&- &
    CBD_FAKE_API_PID=$!
    for _ in $(seq 50); do
        if curl -fsS -m 2 "$API_URL/_fake/health" >/dev/null 2>&1; then
            cbd_log "fake Bot API pid $CBD_FAKE_API_PID on $API_URL"
            return
        fi
        kill -0 "$CBD_FAKE_API_PID" 2>/dev/null || break
        sleep 0.2
    done
    cat "$CBD_TMP/fake-api.log" >&2
    cbd_die "fake Bot API did not answer on $API_URL"
}

# calls_mark - how many Bot API calls were recorded so far (a `since` value).
calls_mark() {
    curl -fsS -m 5 "$API_URL/_fake/calls" |
        python3 -c 'import json, sys; print(max((c["index"] + 1 for c in json.load(sys.stdin)), default=0))'
}

# send_private USER_ID TEXT - the user writes TEXT to the bot in a private chat.
send_private() {
    python3 -c 'import json, sys; print(json.dumps({"helper": "private_message",
        "user_id": int(sys.argv[1]), "text": sys.argv[2]}, ensure_ascii=False))' "$1" "$2" |
        curl -fsS -m 5 -X POST -H 'Content-Type: application/json' --data-binary @- \
            "$API_URL/_fake/updates" >/dev/null || cbd_die "could not enqueue update: $2"
}

# send_document USER_ID FILE_NAME PATH - the user sends the file at PATH to
# the bot in a private chat, as a document named FILE_NAME.
send_document() {
    python3 -c 'import base64, json, sys
content = base64.b64encode(open(sys.argv[3], "rb").read()).decode()
print(json.dumps({"helper": "document_message", "user_id": int(sys.argv[1]),
    "file_name": sys.argv[2], "content_base64": content}, ensure_ascii=False))' "$@" |
        curl -fsS -m 5 -X POST -H 'Content-Type: application/json' --data-binary @- \
            "$API_URL/_fake/updates" >/dev/null || cbd_die "could not enqueue the document $2"
}

# wait_reply CHAT_ID SINCE TIMEOUT [TEXT] - print the text (as shown, tags removed) of the first message
# sent to CHAT_ID after call SINCE (containing TEXT); fails after TIMEOUT s.
wait_reply() {
    local args=(--data-urlencode "chat_id=$1" --data-urlencode "since=$2"
        --data-urlencode "timeout=$3" --data-urlencode method=sendMessage)
    [[ -z ${4:-} ]] || args+=(--data-urlencode "text_contains=$4")
    curl -fsS -G -m $(($3 + 10)) "${args[@]}" "$API_URL/_fake/wait" 2>/dev/null |
        python3 -c 'import json, sys; c = json.load(sys.stdin); print((c.get("result") or {}).get("text") or c["params"]["text"])'
}

# ask USER_ID TEXT - send TEXT and print the bot's reply (up to 60 s).
ask() {
    local since
    since=$(calls_mark)
    send_private "$1" "$2"
    wait_reply "$1" "$since" 60 && return
    "$DOCKER" logs --tail 30 "$BOT" >&2 || true
    cbd_die "no reply within 60 s to: $2"
}

# ------------------------------------------------------------------ bot checks
BOT=""
CORPUS=""
NEW_DOC=900_e2e_reload.txt
# A document only the mounted corpus folder holds (not /app/seeds).
ONLY_DOC=800_e2e_mounted_corpus.txt
ONLY_QUESTION="كم شجرة زيتون غرست جمعية البيئة في الخليل؟"
ONLY_FACT="خمسمئة شجرة"

check_serve_help() {
    local help sub
    help=$(in_image "$CBD_IMAGE" coverage-bot --help)
    for sub in serve health; do
        [[ $help == *" $sub "* ]] || cbd_die "'coverage-bot --help' does not list '$sub'"
    done
}

# The bot runs as compose runs it (hardening, a config file mounted over the
# image's /app/config/config.yaml, no COVERAGE_BOT_* variables) with a test
# config (admins, heartbeat, corpus.path naming a mounted folder we can add
# to), and health probed every 2 s instead of 30 s.
run_bot() {
    CORPUS=$CBD_TMP/corpus
    mkdir -p "$CORPUS" "$CBD_TMP/config"
    cp "$CBD_REPO"/seeds/* "$CORPUS/"
    cat >"$CORPUS/$ONLY_DOC" <<'EOF'
غرست جمعية البيئة في الخليل خمسمئة شجرة زيتون على سفوح المدينة يوم السبت.
وقال رئيس الجمعية إن المتطوعين سيسقون الأشجار كل أسبوع حتى نهاية الصيف.
EOF
    cat >"$CBD_TMP/config/config.yaml" <<EOF
corpus:
  path: /corpus
  index_dir: /data/index
access:
  admins: [$ADMIN_ID]
telegram:
  heartbeat_file: /data/heartbeat
  heartbeat_max_age: 30
EOF
    chmod -R a+rX "$CBD_TMP"
    BOT=cbd-bot-$CBD_RUN_ID
    cbd_docker_run -d --name "$BOT" --network host --init "${HARDENING[@]}" \
        -e "TELEGRAM_BOT_TOKEN=$BOT_TOKEN" -e "TELEGRAM_API_URL=$API_URL" \
        -v "$CBD_TMP/config/config.yaml:/app/config/config.yaml:ro" -v "$CORPUS:/corpus:ro" \
        -v "$(cbd_volume cbd-data):/data" \
        --health-interval 2s --health-timeout 10s --health-retries 3 --health-start-period 60s \
        "$CBD_IMAGE" >/dev/null
    local _
    for _ in $(seq 120); do
        if curl -fsS -m 5 "$API_URL/_fake/calls?method=getUpdates" 2>/dev/null | grep -q '"index"'; then
            cbd_log "bot container $BOT is polling"
            return
        fi
        [[ $("$DOCKER" inspect -f '{{.State.Running}}' "$BOT") == true ]] || break
        sleep 0.5
    done
    "$DOCKER" logs --tail 50 "$BOT" >&2 || true
    cbd_die "bot container did not start polling the fake Bot API"
}

# The running bot: no capability in any set of any process, no way to gain
# one (no_new_privs), a read-only root even for uid 0, /data and /tmp writable.
check_hardening() {
    local inspect status out path format
    format='caps={{json .HostConfig.CapDrop}} ro={{.HostConfig.ReadonlyRootfs}}'
    format+=' sec={{json .HostConfig.SecurityOpt}} tmpfs={{json .HostConfig.Tmpfs}}'
    format+=' mem={{.HostConfig.Memory}}'
    format+=' log={{.HostConfig.LogConfig.Type}}{{json .HostConfig.LogConfig.Config}}'
    inspect=$("$DOCKER" inspect -f "$format" "$BOT")
    cbd_log "inspect: $inspect"
    [[ $inspect == *'caps=["ALL"]'* && $inspect == *' ro=true '* &&
        $inspect == *no-new-privileges* && $inspect == *'"/tmp"'* &&
        $inspect == *'"max-size"'* ]] || cbd_die "the bot container lacks compose.yaml's hardening: $inspect"
    [[ $inspect != *' mem=0 '* ]] || cbd_log "note: this kernel ignores memory limits (mem=0)"
    # Every process of the container, the bot's serve and tini included.
    # (A process may exit between the glob and grep: missing files are ignored.)
    status=$("$DOCKER" exec "$BOT" sh -c \
        'grep -H -E "^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs):" /proc/[0-9]*/status 2>/dev/null; true')
    [[ $(grep -c ':CapEff' <<<"$status") -ge 2 ]] ||
        cbd_die "cannot read the bot container's /proc/*/status: $status"
    out=$(grep -E ':Cap' <<<"$status" | grep -v -E ':\s+0{16}$' || true)
    [[ -z $out ]] || cbd_die "a process of the bot container holds capabilities: $out"
    out=$(grep -E ':NoNewPrivs' <<<"$status" | grep -v -E ':\s+1$' || true)
    [[ -z $out ]] || cbd_die "a process of the bot container may gain privileges: $out"
    cbd_log "no capabilities, NoNewPrivs=1 in $(grep -c ':CapEff' <<<"$status") processes"
    for path in /probe /app/probe /etc/probe; do
        out=$("$DOCKER" exec -u 0 "$BOT" sh -c "touch $path" 2>&1) &&
            cbd_die "root in the bot container could write $path"
        [[ $out == *"Read-only file system"* ]] || cbd_die "writing $path failed for another reason: $out"
    done
    "$DOCKER" exec "$BOT" sh -c 'touch /data/probe /tmp/probe && rm /data/probe /tmp/probe' ||
        cbd_die "/data or /tmp is not writable in the hardened container"
    cbd_log "root filesystem read-only (even for uid 0); /data and /tmp writable"
}

# The config mounted over /app/config/config.yaml names /corpus: serve says
# so at start-up, and a question only /corpus can answer is answered.
check_config_corpus() {
    local logs answer
    logs=$("$DOCKER" logs "$BOT" 2>&1)
    [[ $logs == *"settings from /app/config/config.yaml: corpus /corpus, index /data/index"* ]] ||
        cbd_die "serve did not log the mounted config's corpus folder: $(head -c 2000 <<<"$logs")"
    [[ $logs != *" from COVERAGE_BOT_"* ]] || cbd_die "an environment variable overrode the config: $logs"
    answer=$(ask "$ADMIN_ID" "$ONLY_QUESTION")
    has_any "$answer" "$ONLY_FACT" || cbd_die "corpus.path /corpus is not honoured: $answer"
    has_any "$answer" "${ONLY_DOC%.txt}" || cbd_die "the answer does not cite $ONLY_DOC: $answer"
    cbd_log "from /corpus: ${answer:0:200}"
}

check_cited_answer() {
    local answer keys
    read_gold seed-a03
    answer=$(ask "$ADMIN_ID" "$GOLD_Q")
    cbd_log "answer: ${answer:0:200}"
    has_any "$answer" "${GOLD_ANSWERS[@]}" || cbd_die "the answer misses ${GOLD_ANSWERS[*]}: $answer"
    mapfile -t keys < <(citation_keys "$GOLD_DOC")
    has_any "$answer" "${keys[@]}" || cbd_die "the answer does not cite $GOLD_DOC: $answer"
}

# A document added to the mounted corpus is found only after an admin's /reload.
check_reload() {
    local question="كم كتابا تضم مكتبة الأطفال الجديدة في تطوان؟" fact="ثلاثة آلاف"
    local answer since attempt
    answer=$(ask "$ADMIN_ID" "$question")
    ! has_any "$answer" "$fact" "${NEW_DOC%.txt}" || cbd_die "knows $NEW_DOC before it exists: $answer"
    cat >"$CORPUS/$NEW_DOC" <<'EOF'
افتتحت بلدية تطوان صباح اليوم مكتبة جديدة للأطفال تضم ثلاثة آلاف كتاب مصور.
وقال رئيس البلدية إن المكتبة ستفتح أبوابها مجانا طوال أيام الأسبوع.
EOF
    chmod a+r "$CORPUS/$NEW_DOC"
    since=$(calls_mark)
    send_private "$ADMIN_ID" "/reload"
    answer=$(wait_reply "$ADMIN_ID" "$since" 60 "اكتملت إعادة التحميل") ||
        { "$DOCKER" logs --tail 30 "$BOT" >&2; cbd_die "no /reload report within 60 s"; }
    cbd_log "/reload: ${answer:0:300}"
    [[ $answer == *"/corpus"* ]] || cbd_die "the /reload report does not name /corpus: $answer"
    [[ $answer == *"$NEW_DOC"* ]] || cbd_die "the /reload report does not list $NEW_DOC: $answer"
    # Progress messages of the reload may come first: look for the fact itself.
    for attempt in 1 2 3; do
        since=$(calls_mark)
        send_private "$ADMIN_ID" "$question"
        if answer=$(wait_reply "$ADMIN_ID" "$since" 20 "$fact"); then
            has_any "$answer" "${NEW_DOC%.txt}" ||
                cbd_die "after /reload the answer does not cite $NEW_DOC: $answer"
            cbd_log "after /reload: ${answer:0:200}"
            return
        fi
        cbd_log "attempt $attempt: no answer with the new fact yet"
    done
    "$DOCKER" logs --tail 30 "$BOT" >&2 || true
    cbd_die "after /reload no answer contains '$fact'"
}

# An admin uploads a Markdown file through the Bot API: the bot downloads it,
# stores it in /data/uploads (the volume; the root is read-only) and replies
# with the summary; a question only it answers is answered and cited.  An HTML
# page (trafilatura and lxml in the image) is uploaded the same way.
UPLOAD_FILE=zarqa-buses.md
UPLOAD_DOC=uploads/حافلات-الزرقاء-الكهربائية.md
UPLOAD_TITLE="حافلات الزرقاء الكهربائية"
UPLOAD_QUESTION="كم حافلة كهربائية تسلمت بلدية الزرقاء؟"
UPLOAD_FACT="أربعين حافلة"
HTML_DOC=uploads/سوق-الكتاب-في-السلط.md
HTML_QUESTION="كم دار نشر شاركت في سوق الكتاب في السلط؟"
HTML_FACT="ستون دار نشر"

# upload USER_ID FILE_NAME PATH - send a document; prints the bot's summary.
upload() {
    local since reply t0=$EPOCHREALTIME
    since=$(calls_mark)
    send_document "$@"
    reply=$(wait_reply "$1" "$since" 60) ||
        { "$DOCKER" logs --tail 30 "$BOT" >&2; cbd_die "no reply within 60 s to the upload of $2"; }
    cbd_log "upload of $2 answered in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}') s"
    printf '%s\n' "$reply"
}

check_upload() {
    local answer reply
    answer=$(ask "$ADMIN_ID" "$UPLOAD_QUESTION")
    ! has_any "$answer" "$UPLOAD_FACT" || cbd_die "knows $UPLOAD_FILE before the upload: $answer"
    cat >"$CBD_TMP/$UPLOAD_FILE" <<EOF
---
title: $UPLOAD_TITLE
---
تسلمت بلدية الزرقاء أربعين حافلة كهربائية جديدة لنقل الطلاب إلى الجامعات.
وقال مدير النقل في البلدية إن الحافلات ستعمل من السادسة صباحا حتى العاشرة مساء.
EOF
    reply=$(upload "$ADMIN_ID" "$UPLOAD_FILE" "$CBD_TMP/$UPLOAD_FILE")
    cbd_log "upload summary: ${reply//$'\n'/ | }"
    [[ $reply == *"$UPLOAD_TITLE"* ]] || cbd_die "the summary does not name the title: $reply"
    [[ $reply == *"$UPLOAD_DOC"* ]] || cbd_die "the summary does not name $UPLOAD_DOC: $reply"
    [[ $reply == *"الجمل المضافة: 2 "* ]] || cbd_die "the summary does not count 2 sentences: $reply"
    [[ $reply == *"/corpus + /data/uploads"* ]] || cbd_die "the summary does not name the folders: $reply"
    [[ $("$DOCKER" exec "$BOT" stat -c %u "/data/$UPLOAD_DOC") == 10001 ]] ||
        cbd_die "/data/$UPLOAD_DOC is not stored by the bot user"
    check_upload_answered "after the upload"

    cat >"$CBD_TMP/salt.html" <<'EOF'
<!doctype html><html lang="ar" dir="rtl"><head><meta charset="utf-8">
<title>سوق الكتاب في السلط | صحيفة الرأي</title>
<meta property="og:site_name" content="صحيفة الرأي">
<meta property="article:published_time" content="2024-11-02T09:00:00Z"></head>
<body><nav><ul><li><a href="/">الرئيسية</a></li><li><a href="/sport">رياضة</a></li></ul></nav>
<article><h1>سوق الكتاب في السلط</h1>
<p>افتتحت مديرية الثقافة سوق الكتاب السنوي في وسط مدينة السلط القديمة بحضور طلاب المدارس.</p>
<p>وشاركت في السوق ستون دار نشر أردنية وعربية عرضت كتب الأطفال والروايات والتاريخ.</p></article>
<footer>جميع الحقوق محفوظة © 2024</footer></body></html>
EOF
    reply=$(upload "$ADMIN_ID" salt.html "$CBD_TMP/salt.html")
    cbd_log "HTML upload summary: ${reply//$'\n'/ | }"
    [[ $reply == *"$HTML_DOC"* && $reply == *"صحيفة الرأي"* ]] ||
        cbd_die "the HTML upload summary lacks $HTML_DOC or its outlet: $reply"
    ! "$DOCKER" exec "$BOT" grep -q -e الرئيسية -e "الحقوق محفوظة" "/data/$HTML_DOC" ||
        cbd_die "the page's navigation or footer was stored in /data/$HTML_DOC"
    answer=$(ask "$ADMIN_ID" "$HTML_QUESTION")
    has_any "$answer" "$HTML_FACT" || cbd_die "the HTML upload does not answer: $answer"
}

# check_upload_answered WHEN - the upload's question is answered and cited.
check_upload_answered() {
    local answer
    answer=$(ask "$ADMIN_ID" "$UPLOAD_QUESTION")
    has_any "$answer" "$UPLOAD_FACT" || cbd_die "$1, '$UPLOAD_QUESTION' is not answered: $answer"
    has_any "$answer" "$UPLOAD_TITLE" || cbd_die "$1, the answer does not cite $UPLOAD_DOC: $answer"
    cbd_log "$1: ${answer:0:200}"
}

# `docker restart`: the uploads and the question log are in the /data volume, so
# once the bot polls again the uploads still answer, /sources lists them, and /stats
# still counts the questions asked before.
check_upload_survives_restart() {
    local listing before after t0
    before=$(logged_questions)
    t0=$EPOCHREALTIME
    "$DOCKER" restart -t 10 "$BOT" >/dev/null || cbd_die "docker restart failed"
    # The question waits in the fake's queue until the restarted bot polls.
    check_upload_answered "after docker restart"
    cbd_log "answered $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}') s after docker restart began"
    listing=$(ask "$ADMIN_ID" /sources)
    [[ $listing == *"$UPLOAD_DOC"* && $listing == *"$HTML_DOC"* ]] ||
        cbd_die "/sources does not list the uploads after docker restart: $listing"
    # The question log (SQLite in /data) keeps what was asked before the restart.
    after=$(logged_questions)
    ((before >= 3 && after >= before + 1)) ||
        cbd_die "question log lost across docker restart: $before questions logged before, $after after"
    cbd_log "question log: $before questions before docker restart, $after after"
}

# Questions in the log over the last 7 days, as /stats reports them.
logged_questions() {
    local out n
    out=$(ask "$ADMIN_ID" /stats)
    n=$(grep -oP 'الأسئلة: \K[0-9]+(?=،)' <<<"$out" | head -n 1)
    [[ $n =~ ^[0-9]+$ ]] || cbd_die "/stats shows no question log: $out"
    echo "$n"
}

# The container's memory use so far (start-up, questions, a /reload), for the
# mem_limit comment in compose.yaml; informational, from the cgroup.
log_memory() {
    local peak limit
    peak=$("$DOCKER" exec "$BOT" sh -c 'cat /sys/fs/cgroup/memory.peak 2>/dev/null ||
        cat /sys/fs/cgroup/memory/memory.max_usage_in_bytes 2>/dev/null' || true)
    limit=$("$DOCKER" inspect -f '{{.HostConfig.Memory}}' "$BOT")
    if [[ $peak =~ ^[0-9]+$ ]]; then
        cbd_log "container memory peak $((peak / 1048576)) MiB (limit $((limit / 1048576)) MiB)"
    else
        cbd_log "container memory peak not available from the cgroup"
    fi
}

check_healthy() {
    local _ status
    for _ in $(seq 90); do
        status=$("$DOCKER" inspect -f '{{.State.Health.Status}}' "$BOT")
        [[ $status == healthy ]] && return
        [[ $status == unhealthy ]] && break
        sleep 1
    done
    "$DOCKER" inspect -f '{{json .State.Health}}' "$BOT" >&2
    cbd_die "healthcheck is '$status', want healthy"
}

check_clean_stop() {
    local t0=$EPOCHREALTIME took code
    "$DOCKER" stop -t 10 "$BOT" >/dev/null
    took=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}')
    code=$("$DOCKER" inspect -f '{{.State.ExitCode}}' "$BOT")
    cbd_log "docker stop took ${took}s, exit code $code"
    awk -v t="$took" 'BEGIN{exit !(t < 10)}' || cbd_die "docker stop needed ${took}s (SIGKILL at 10 s)"
    [[ $code -eq 0 ]] || { "$DOCKER" logs --tail 30 "$BOT" >&2; cbd_die "bot exited with $code"; }
    ! "$DOCKER" logs "$BOT" 2>&1 | grep -q Traceback || cbd_die "a traceback is in the bot's log"
}

# ------------------------------------------------------------------ main
main() {
    local t0=$EPOCHREALTIME bot_status
    cbd_require_root
    cbd_install_traps
    cbd_lock
    cbd_make_tmp
    cbd_step apt cbd_need_packages
    cbd_step debootstrap cbd_make_rootfs
    cbd_step dockerd cbd_start_dockerd
    cbd_remove_leftovers
    cbd_step base-import cbd_import_base
    cbd_step build cbd_build_image
    cbd_step hardening-flags read_hardening
    cbd_step image-basics check_image_basics
    cbd_step no-token check_no_token_baked_in
    cbd_step no-env-overrides check_no_env_overrides
    cbd_step runtime-deps check_runtime_deps
    cbd_step permissions check_permissions
    cbd_step cli-help check_cli_help
    cbd_step cli-answers check_cli_answers
    cbd_step serve-help check_serve_help
    cbd_step fake-api start_fake_api
    cbd_step bot-start run_bot
    cbd_step hardened check_hardening
    cbd_step config-corpus check_config_corpus
    cbd_step cited-answer check_cited_answer
    cbd_step reload check_reload
    cbd_step upload check_upload
    cbd_step restart check_upload_survives_restart
    cbd_step memory log_memory
    cbd_step healthy check_healthy
    cbd_step clean-stop check_clean_stop
    cbd_log "PASS image $CBD_IMAGE, ${IMAGE_MB} MB; bot checks passed"
    cbd_print_times
    printf '  %-24s %7ss\n' total "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}')" >&2
}

main "$@"
