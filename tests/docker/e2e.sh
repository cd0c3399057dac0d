#!/usr/bin/env bash
# tests/docker/e2e.sh - build the image from the repository's Dockerfile and
# check it for real, in a private dockerd (see lib.sh; needs root).
#
#   sudo tests/docker/e2e.sh
#
# Image checks: builds on a python3 base, runs as uid 10001, works offline,
# /data is writable and /app is not, no torch/transformers/compiler inside,
# no token baked in; prints the image size.
# Bot checks (against a fake Telegram Bot API on 127.0.0.1, --network host):
# a question gets a cited answer, /reload picks up a document added to a
# mounted corpus, the healthcheck turns healthy, `docker stop` exits cleanly
# in under 10 s, and the index is cached in the /data volume.
#
# Until the image contains the `coverage-bot` CLI the bot checks are skipped
# (and the skip is reported); E2E_REQUIRE_BOT=1 turns that skip into a failure.
#
# Environment: CBD_CACHE (cache dir, default /var/cache/coverage-bot-docker),
# CBD_REBUILD_BASE=1 (redo debootstrap), E2E_REQUIRE_BOT=1 (bot checks are mandatory).
set -Eeuo pipefail
# shellcheck source=tests/docker/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

E2E_REQUIRE_BOT=${E2E_REQUIRE_BOT:-0}

# ------------------------------------------------------------------ contract
# What the bot checks assume about the app and tests/fake_bot_api.py; adjust
# here, in one place, if the app settles on other names.
FAKE_API_SCRIPT=$CBD_REPO/tests/fake_bot_api.py
BOT_TOKEN=123456:e2e-test-token
ADMIN_ID=4242  # a Telegram user id allowed to /reload
CHAT_ID=4242   # private chat with that user
# Extra `docker run` arguments that make ADMIN_ID an admin.
# TODO(bot wiring): use the app's real admin setting once it exists.
BOT_ADMIN_ARGS=(-e "COVERAGE_BOT_ADMIN_IDS=$ADMIN_ID")
# A citation names the source document's id: its file name without .txt.
cites_doc() { [[ $1 == *"$2"* ]]; }

# ------------------------------------------------------------------ image checks
in_image() { cbd_docker_run --rm --network none "$@"; }

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

# The runtime dependencies import with no network; the lean camel-tools
# install pulled none of the ML stack; no compiler came along.
check_runtime_deps() {
    in_image -i "$CBD_IMAGE" python - <<'EOF' || cbd_die "runtime dependency check failed"
import importlib.metadata as md
import importlib.util

from camel_tools.utils.dediac import dediac_ar
from camel_tools.utils.normalize import normalize_alef_ar
import numpy, rank_bm25, telegram, yaml  # noqa: F401

assert normalize_alef_ar(dediac_ar("إِعْلَان")) == "اعلان", "camel-tools normalisation is broken"
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

# A fresh named volume on /data is writable by the bot; the code is not.
check_permissions() {
    local vol
    vol=$(cbd_volume cbd-perm)
    in_image -v "$vol:/data" --entrypoint sh "$CBD_IMAGE" -c \
        'touch "$COVERAGE_BOT_INDEX_DIR/probe" "$COVERAGE_BOT_HEARTBEAT"' ||
        cbd_die "/data is not writable by the bot user"
    if in_image --entrypoint sh "$CBD_IMAGE" -c 'touch /app/probe || touch /app/.venv/probe' \
        2>/dev/null; then
        cbd_die "/app is writable by the bot user"
    fi
    in_image --entrypoint sh "$CBD_IMAGE" -c \
        'test -d "$COVERAGE_BOT_CORPUS" && ls "$COVERAGE_BOT_CORPUS"/*.txt >/dev/null' ||
        cbd_die "bundled corpus missing at \$COVERAGE_BOT_CORPUS"
}

# True when the image has the CLI (bot.cli); false while only the skeleton exists.
image_has_cli() {
    in_image "$CBD_IMAGE" python -c 'import bot.cli' >/dev/null 2>&1
}

check_cli_help() {
    in_image "$CBD_IMAGE" coverage-bot --help >"$CBD_TMP/help.txt" ||
        cbd_die "'coverage-bot --help' failed in the image"
    local sub
    for sub in ask index serve health; do
        grep -qw "$sub" "$CBD_TMP/help.txt" || cbd_die "'coverage-bot --help' does not list '$sub'"
    done
}

# ------------------------------------------------------------------ fake Bot API
API_PORT=""
API_URL=""

# The interpreter of the project's dev environment (the fake API is a test tool).
host_python() {
    if [[ ! -x $CBD_REPO/.venv/bin/python ]]; then
        local uv
        uv=$(command -v uv || echo "$CBD_REPO/.tools/bin/uv")
        [[ -x $uv ]] || { command -v python3; return; }
        "$uv" sync --quiet --frozen --project "$CBD_REPO" >&2
    fi
    echo "$CBD_REPO/.venv/bin/python"
}

start_fake_api() {
    [[ -f $FAKE_API_SCRIPT ]] || cbd_die "$FAKE_API_SCRIPT is missing"
    local py _
    py=$(host_python)
    API_PORT=$(cbd_free_port)
    API_URL=http://127.0.0.1:$API_PORT
    "$py" "$FAKE_API_SCRIPT" --port "$API_PORT" --token "$BOT_TOKEN" \
        >"$CBD_TMP/fake-api.log" 2>&1 9>&- &
    CBD_FAKE_API_PID=$!
    for _ in $(seq 50); do
        curl -fsS -m 2 "$API_URL/_fake/calls?method=sendMessage" >/dev/null 2>&1 && {
            cbd_log "fake Bot API pid $CBD_FAKE_API_PID on $API_URL"
            return
        }
        kill -0 "$CBD_FAKE_API_PID" 2>/dev/null || break
        sleep 0.2
    done
    cat "$CBD_TMP/fake-api.log" >&2
    cbd_die "fake Bot API did not answer on $API_URL"
}

# send_text USER_ID TEXT - enqueue a private-chat message as a Telegram Update.
# The update_id counter lives in a file: callers run in $(...) subshells.
send_text() {
    local update_id
    update_id=$(($(cat "$CBD_TMP/update_id" 2>/dev/null || echo 0) + 1))
    echo "$update_id" >"$CBD_TMP/update_id"
    python3 - "$update_id" "$1" "$2" <<'EOF' |
import json, sys, time
update_id, user_id, text = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
user = {"id": user_id, "is_bot": False, "first_name": "محرر", "language_code": "ar"}
message = {"message_id": update_id, "date": int(time.time()), "text": text,
           "chat": {"id": user_id, "type": "private", "first_name": "محرر"}, "from": user}
if text.startswith("/"):
    command = text.split()[0]
    message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
print(json.dumps({"update_id": update_id, "message": message}, ensure_ascii=False))
EOF
        curl -fsS -m 5 -X POST -H 'Content-Type: application/json' --data-binary @- \
            "$API_URL/_fake/updates" >/dev/null || cbd_die "could not enqueue update: $2"
}

# sent_texts CHAT_ID - the texts of all sendMessage calls to that chat, one
# JSON string per line (recorded calls may keep parameters under "params").
sent_texts() {
    curl -fsS -m 5 "$API_URL/_fake/calls?method=sendMessage" | python3 -c '
import json, sys
for call in json.load(sys.stdin):
    params = call.get("params", call) if isinstance(call, dict) else {}
    if str(params.get("chat_id")) == sys.argv[1]:
        print(json.dumps(params.get("text", ""), ensure_ascii=False))
' "$1"
}

# ask USER_ID TEXT - send TEXT and print the bot's next reply (waits up to 60 s).
ask() {
    local before _ texts
    before=$(sent_texts "$1" | wc -l)
    send_text "$1" "$2"
    for _ in $(seq 120); do
        texts=$(sent_texts "$1")
        if (($(printf '%s' "$texts" | grep -c '^') > before)); then
            printf '%s\n' "$texts" | sed -n "$((before + 1))p" | python3 -c \
                'import json, sys; print(json.loads(sys.stdin.read()))'
            return
        fi
        sleep 0.5
    done
    "$DOCKER" logs --tail 30 "$BOT" >&2 || true
    cbd_die "no reply within 60 s to: $2"
}

# ------------------------------------------------------------------ bot checks
BOT=""
BOT_VOLUME=""
CORPUS=""
NEW_DOC_ID=900_e2e_reload

run_bot() {
    CORPUS=$CBD_TMP/corpus
    mkdir -p "$CORPUS"
    cp "$CBD_REPO"/seeds/*.txt "$CORPUS/"
    chmod -R a+rX "$CORPUS" "$CBD_TMP"
    BOT_VOLUME=$(cbd_volume cbd-data)
    BOT=cbd-bot-$CBD_RUN_ID
    # Health every 2 s instead of 30 s so the check does not wait minutes.
    cbd_docker_run -d --name "$BOT" --network host --init \
        -e "TELEGRAM_BOT_TOKEN=$BOT_TOKEN" -e "TELEGRAM_API_URL=$API_URL" \
        -e COVERAGE_BOT_CORPUS=/corpus -v "$CORPUS:/corpus:ro" \
        -v "$BOT_VOLUME:/data" "${BOT_ADMIN_ARGS[@]}" \
        --health-interval 2s --health-timeout 10s --health-retries 3 --health-start-period 60s \
        "$CBD_IMAGE" >/dev/null
    local _ calls
    for _ in $(seq 120); do
        calls=$(curl -fsS -m 5 "$API_URL/_fake/calls?method=getUpdates" 2>/dev/null || true)
        [[ -n $calls && $calls != "[]" ]] && {
            cbd_log "bot container $BOT is polling"
            return
        }
        [[ $("$DOCKER" inspect -f '{{.State.Running}}' "$BOT") == true ]] || break
        sleep 0.5
    done
    "$DOCKER" logs --tail 50 "$BOT" >&2 || true
    cbd_die "bot container did not start polling the fake Bot API"
}

# The seeds say the 2023 summit was held at the Vostochny space base
# ("قاعدة فوستوشني الفضائية", "قاعدة فضائية شرق روسيا").
check_cited_answer() {
    local answer doc found=""
    answer=$(ask "$CHAT_ID" "في أي قاعدة فضائية التقى كيم جونغ أون وبوتين؟")
    cbd_log "answer: ${answer:0:160}…"
    for doc in "$CBD_REPO"/seeds/*.txt; do
        doc=$(basename "$doc" .txt)
        if cites_doc "$answer" "$doc"; then found+=" $doc"; fi
    done
    [[ -n $found ]] || cbd_die "the answer cites no seed document: $answer"
    [[ $answer == *فوستوشني* || $answer == *فضائي* ]] ||
        cbd_die "the answer does not mention the space base: $answer"
    cbd_log "cited:$found"
}

check_reload() {
    local question="كم كتابا تضم مكتبة الأطفال الجديدة في تطوان؟" answer
    answer=$(ask "$CHAT_ID" "$question")
    ! cites_doc "$answer" "$NEW_DOC_ID" || cbd_die "cites $NEW_DOC_ID before it exists: $answer"
    cat >"$CORPUS/$NEW_DOC_ID.txt" <<'EOF'
افتتحت بلدية تطوان صباح اليوم مكتبة جديدة للأطفال تضم ثلاثة آلاف كتاب مصور.
وقال رئيس البلدية إن المكتبة ستفتح أبوابها مجانا طوال أيام الأسبوع.
EOF
    chmod a+r "$CORPUS/$NEW_DOC_ID.txt"
    answer=$(ask "$ADMIN_ID" "/reload")
    cbd_log "/reload: ${answer:0:160}"
    answer=$(ask "$CHAT_ID" "$question")
    cites_doc "$answer" "$NEW_DOC_ID" || cbd_die "after /reload the answer does not cite $NEW_DOC_ID: $answer"
    [[ $answer == *"ثلاثة آلاف"* ]] || cbd_die "after /reload the answer misses the new fact: $answer"
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

check_index_cached() {
    in_image -v "$BOT_VOLUME:/data" --entrypoint sh "$CBD_IMAGE" -c \
        'test -n "$(ls -A "$COVERAGE_BOT_INDEX_DIR")"' ||
        cbd_die "no index was cached in the /data volume"
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
    cbd_step image-basics check_image_basics
    cbd_step no-token check_no_token_baked_in
    cbd_step runtime-deps check_runtime_deps
    cbd_step permissions check_permissions
    if image_has_cli; then
        cbd_step cli-help check_cli_help
        cbd_step fake-api start_fake_api
        cbd_step bot-start run_bot
        cbd_step cited-answer check_cited_answer
        cbd_step reload check_reload
        cbd_step healthy check_healthy
        cbd_step clean-stop check_clean_stop
        cbd_step index-cached check_index_cached
        bot_status="bot checks passed"
    else
        [[ $E2E_REQUIRE_BOT != 1 ]] || cbd_die "the image has no coverage-bot CLI (bot.cli)"
        bot_status="bot checks SKIPPED: the image has no coverage-bot CLI yet"
        cbd_log "$bot_status"
    fi
    cbd_log "PASS image $CBD_IMAGE, ${IMAGE_MB} MB; $bot_status"
    cbd_print_times
    printf '  %-24s %7ss\n' total "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}')" >&2
}

main "$@"
