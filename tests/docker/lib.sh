# shellcheck shell=bash
# tests/docker/lib.sh - build and run the project's Dockerfile on a machine
# without a container registry.  Sourced by tests/docker/e2e.sh.
#
# The registry's python image is replaced by a Debian rootfs made with
# debootstrap and imported locally; a private dockerd (own data root, exec
# root and socket; no bridge, no iptables) builds and runs everything with
# --network host.  Slow artefacts are cached in $CBD_CACHE between runs:
#   base/<suite>-rootfs.tar   the debootstrapped rootfs
#   docker/root               dockerd's data root (base image, layers, build cache)
# Every container and volume a run creates carries the label
# coverage-bot-e2e=$CBD_RUN_ID; cbd_cleanup removes them and stops the
# processes this run started (dockerd, fake Bot API), by PID.
#
# Needs root (apt, debootstrap, dockerd).

CBD_CACHE=${CBD_CACHE:-/var/cache/coverage-bot-docker}
CBD_SUITE=${CBD_SUITE:-bookworm}
CBD_BASE_IMAGE=${CBD_BASE_IMAGE:-localhost/pybase:$CBD_SUITE}
CBD_IMAGE=${CBD_IMAGE:-localhost/coverage-bot:e2e}
CBD_RUN_ID=${CBD_RUN_ID:-e2e-$$}
CBD_REBUILD_BASE=${CBD_REBUILD_BASE:-0}
# docker.io's own client (20.10): BuildKit is built into its dockerd.  The
# 28.x client some machines have in /usr/local/bin lacks the buildx plugin.
DOCKER=${DOCKER:-/usr/bin/docker}
CBD_DOCKER_DIR=$CBD_CACHE/docker
CBD_EXEC_ROOT=${CBD_EXEC_ROOT:-/run/coverage-bot-docker}
export DOCKER_HOST=unix://$CBD_DOCKER_DIR/docker.sock

CBD_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CBD_TMP=""          # per-run scratch directory (removed by cbd_cleanup)
CBD_DOCKERD_PID=""  # set only when this run started (or adopted) the daemon
CBD_FAKE_API_PID="" # set only when this run started the fake Bot API
declare -A CBD_TIMES=()
CBD_STEPS=()

# ------------------------------------------------------------------ logging
cbd_log() { printf '[docker-e2e %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
cbd_die() {
    cbd_log "FAIL: $*"
    exit 1
}

# cbd_step NAME CMD... - run one step and record how long it took.
cbd_step() {
    local name=$1 t0=$EPOCHREALTIME
    shift
    cbd_log "== $name"
    "$@"
    CBD_TIMES[$name]=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}')
    CBD_STEPS+=("$name")
    cbd_log "== $name done in ${CBD_TIMES[$name]}s"
}

cbd_print_times() {
    local name
    for name in "${CBD_STEPS[@]}"; do
        printf '  %-24s %7ss\n' "$name" "${CBD_TIMES[$name]}" >&2
    done
}

# ------------------------------------------------------------------ host setup
cbd_require_root() {
    [[ $EUID -eq 0 ]] || cbd_die "must run as root (apt, debootstrap, dockerd)"
}

# cbd_lock - one run at a time per cache (they share dockerd's data root).
cbd_lock() {
    mkdir -p "$CBD_CACHE"
    exec 9>"$CBD_CACHE/lock"
    flock -n 9 && return
    cbd_log "another run holds $CBD_CACHE/lock; waiting (up to 15 min)"
    flock -w 900 9 || cbd_die "could not lock $CBD_CACHE/lock"
}

# cbd_need_packages - debootstrap, docker.io, curl; apt-get update only if apt
# has no package lists yet.
cbd_need_packages() {
    local pkgs=()
    command -v debootstrap >/dev/null || pkgs+=(debootstrap)
    [[ -x /usr/sbin/dockerd && -x $DOCKER ]] || pkgs+=(docker.io)
    command -v curl >/dev/null || pkgs+=(curl)
    ((${#pkgs[@]})) || {
        cbd_log "debootstrap, docker.io and curl already installed"
        return
    }
    export DEBIAN_FRONTEND=noninteractive
    if apt-cache policy "${pkgs[@]}" 2>/dev/null | grep -q 'Candidate: (none)' ||
        [[ -z $(apt-cache policy "${pkgs[0]}" 2>/dev/null) ]]; then
        cbd_log "apt-get update"
        apt-get update -q >/dev/null || cbd_die "apt-get update"
    fi
    cbd_log "apt-get install ${pkgs[*]}"
    apt-get install -y -q --no-install-recommends "${pkgs[@]}" >"$CBD_CACHE/apt.log" 2>&1 ||
        { tail -20 "$CBD_CACHE/apt.log" >&2; cbd_die "apt-get install ${pkgs[*]}"; }
}

# The Debian mirrors this machine's apt already uses.
_cbd_mirror() {
    awk '/^URIs:/{print $2}' /etc/apt/sources.list.d/debian.sources 2>/dev/null |
        grep -v -- '-security' | head -1
}
_cbd_security_mirror() {
    awk '/^URIs:/{print $2}' /etc/apt/sources.list.d/debian.sources 2>/dev/null |
        grep -- '-security' | head -1
}

# cbd_make_rootfs - a minimal Debian with python3 and venv (its pip comes
# from ensurepip), as a tarball.
cbd_make_rootfs() {
    local tar=$CBD_CACHE/base/$CBD_SUITE-rootfs.tar
    if [[ -s $tar && $CBD_REBUILD_BASE != 1 ]]; then
        cbd_log "reusing $tar"
        return
    fi
    local mirror sec root=$CBD_CACHE/base/rootfs-$CBD_SUITE.tmp
    mirror=${CBD_MIRROR:-$(_cbd_mirror)}
    mirror=${mirror:-http://deb.debian.org/debian}
    sec=${CBD_SECURITY_MIRROR:-$(_cbd_security_mirror)}
    sec=${sec:-http://deb.debian.org/debian-security}
    rm -rf "$root"
    mkdir -p "$root"
    debootstrap --variant=minbase \
        --include=python3,python3-venv,ca-certificates \
        "$CBD_SUITE" "$root" "$mirror" >"$CBD_CACHE/base/debootstrap.log" 2>&1 ||
        { tail -20 "$CBD_CACHE/base/debootstrap.log" >&2; cbd_die "debootstrap $CBD_SUITE"; }
    cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror $CBD_SUITE main
deb $mirror $CBD_SUITE-updates main
deb $sec $CBD_SUITE-security main
EOF
    # This host's extra CAs (a TLS-intercepting egress proxy), so pip and uv
    # inside the build can verify PyPI.  No-op where there are none.
    if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
        cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
        chroot "$root" update-ca-certificates >/dev/null 2>&1
    fi
    # Like python:*-slim: no PEP 668 marker on the system interpreter.
    rm -f "$root"/usr/lib/python3*/EXTERNALLY-MANAGED
    # Host specifics debootstrap copied; the engine provides them at run time.
    rm -f "$root/etc/hostname"
    : >"$root/etc/resolv.conf"
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin \
        "$root"/var/lib/apt/lists/*
    tar --numeric-owner -C "$root" -cf "$tar.tmp" .
    mv "$tar.tmp" "$tar"
    rm -rf "$root"
    CBD_REBUILD_BASE=1 # the tarball changed: re-import it
}

# ------------------------------------------------------------------ dockerd
_cbd_docker_answers() { "$DOCKER" info >/dev/null 2>&1; }

# cbd_start_dockerd - a private daemon; a daemon left by an earlier run that
# was killed (we hold the lock, so no live run uses it) is adopted and
# stopped at the end like one we started.
cbd_start_dockerd() {
    local pidfile=$CBD_DOCKER_DIR/dockerd.pid pid
    mkdir -p "$CBD_DOCKER_DIR/root" "$CBD_EXEC_ROOT"
    if [[ -s $pidfile ]]; then
        pid=$(<"$pidfile")
        if kill -0 "$pid" 2>/dev/null &&
            tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$CBD_DOCKER_DIR/root"; then
            cbd_log "adopting dockerd pid $pid left by an interrupted run"
            CBD_DOCKERD_PID=$pid
            _cbd_docker_answers && return
            cbd_die "adopted dockerd pid $pid does not answer on $DOCKER_HOST"
        fi
        rm -f "$pidfile"
    fi
    rm -f "$CBD_DOCKER_DIR/docker.sock"
    umount "$CBD_EXEC_ROOT/netns/default" 2>/dev/null || true
    # No bridge or iptables: the host's firewall is left alone; builds and
    # containers use --network host (or none).
    /usr/sbin/dockerd --data-root "$CBD_DOCKER_DIR/root" --exec-root "$CBD_EXEC_ROOT" \
        --pidfile "$pidfile" -H "$DOCKER_HOST" \
        --iptables=false --ip-masq=false --bridge=none \
        ${CBD_STORAGE_DRIVER:+--storage-driver "$CBD_STORAGE_DRIVER"} \
        >"$CBD_DOCKER_DIR/dockerd.log" 2>&1 9>&- &
    CBD_DOCKERD_PID=$!
    local _
    for _ in $(seq 120); do
        if _cbd_docker_answers; then
            cbd_log "dockerd pid $CBD_DOCKERD_PID up ($("$DOCKER" version -f '{{.Server.Version}}'))"
            return
        fi
        kill -0 "$CBD_DOCKERD_PID" 2>/dev/null || break
        sleep 0.5
    done
    tail -20 "$CBD_DOCKER_DIR/dockerd.log" >&2
    cbd_die "dockerd did not start (log: $CBD_DOCKER_DIR/dockerd.log)"
}

_cbd_stop_dockerd() {
    [[ -n $CBD_DOCKERD_PID ]] || return 0
    local _
    kill -TERM "$CBD_DOCKERD_PID" 2>/dev/null
    for _ in $(seq 60); do
        kill -0 "$CBD_DOCKERD_PID" 2>/dev/null || break
        sleep 0.5
    done
    if kill -0 "$CBD_DOCKERD_PID" 2>/dev/null; then
        cbd_log "dockerd pid $CBD_DOCKERD_PID ignored SIGTERM for 30 s; killing it"
        kill -KILL "$CBD_DOCKERD_PID" 2>/dev/null
    fi
    # dockerd leaves its default-netns bind mount behind.
    umount "$CBD_EXEC_ROOT/netns/default" 2>/dev/null
    cbd_log "dockerd pid $CBD_DOCKERD_PID stopped"
    CBD_DOCKERD_PID=""
}

# cbd_import_base - the rootfs as image $CBD_BASE_IMAGE, with the environment
# python:*-slim would give (plus the CA bundle for pip and uv).
cbd_import_base() {
    if [[ $CBD_REBUILD_BASE != 1 ]] && "$DOCKER" image inspect "$CBD_BASE_IMAGE" >/dev/null 2>&1; then
        cbd_log "reusing image $CBD_BASE_IMAGE"
        return
    fi
    "$DOCKER" import \
        -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        -c 'ENV LANG=C.UTF-8' \
        -c 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
        -c 'ENV REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt' \
        -c 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
        -c 'CMD ["python3"]' \
        "$CBD_CACHE/base/$CBD_SUITE-rootfs.tar" "$CBD_BASE_IMAGE" >/dev/null ||
        cbd_die "docker import $CBD_BASE_IMAGE"
    cbd_log "imported $CBD_BASE_IMAGE"
}

# cbd_build_image - the repository's Dockerfile on the local base image.
cbd_build_image() {
    local log=$CBD_CACHE/build.log
    DOCKER_BUILDKIT=1 "$DOCKER" build --progress plain --network host \
        --build-arg "BASE_IMAGE=$CBD_BASE_IMAGE" \
        -t "$CBD_IMAGE" "$CBD_REPO" >"$log" 2>&1 ||
        { tail -40 "$log" >&2; cbd_die "docker build (log: $log)"; }
    local cached
    cached=$(grep -c ' CACHED$' "$log" || true)
    cbd_log "built $CBD_IMAGE ($cached steps from cache; log: $log)"
    # Old builds of the tag would pile up in the cache otherwise.
    "$DOCKER" image prune -f >/dev/null
}

# ------------------------------------------------------------------ containers
# cbd_docker_run ARGS... - `docker run` with this run's label, so that
# cbd_cleanup finds the container even when a later step fails.
cbd_docker_run() {
    "$DOCKER" run --label "coverage-bot-e2e=$CBD_RUN_ID" "$@"
}

# cbd_volume NAME - create a labelled named volume; prints its name.
cbd_volume() {
    "$DOCKER" volume create --label "coverage-bot-e2e=$CBD_RUN_ID" "$1-$CBD_RUN_ID"
}

# cbd_make_tmp - create this run's scratch directory $CBD_TMP (call it in the
# main shell, not in $(...), so cbd_cleanup sees and removes it).
cbd_make_tmp() {
    [[ -n $CBD_TMP ]] || CBD_TMP=$(mktemp -d "${TMPDIR:-/tmp}/coverage-bot-e2e.XXXXXX")
}

# cbd_free_port - a TCP port nobody listens on right now.
cbd_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# cbd_remove_leftovers - containers and volumes of earlier runs that were
# killed before their cleanup ran (we hold the lock: no live run owns them).
cbd_remove_leftovers() {
    local ids
    ids=$("$DOCKER" ps -aq --filter label=coverage-bot-e2e)
    # shellcheck disable=SC2086
    [[ -z $ids ]] || { "$DOCKER" rm -f $ids >/dev/null && cbd_log "removed leftover containers"; }
    ids=$("$DOCKER" volume ls -q --filter label=coverage-bot-e2e)
    # shellcheck disable=SC2086
    [[ -z $ids ]] || { "$DOCKER" volume rm -f $ids >/dev/null && cbd_log "removed leftover volumes"; }
}

# ------------------------------------------------------------------ cleanup
cbd_cleanup() {
    local rc=$? ids
    set +e
    trap - EXIT INT TERM
    if _cbd_docker_answers; then
        ids=$("$DOCKER" ps -aq --filter "label=coverage-bot-e2e=$CBD_RUN_ID")
        if [[ -n $ids ]]; then
            # shellcheck disable=SC2086
            "$DOCKER" rm -f $ids >/dev/null && cbd_log "removed containers: ${ids//$'\n'/ }"
        fi
        ids=$("$DOCKER" volume ls -q --filter "label=coverage-bot-e2e=$CBD_RUN_ID")
        # shellcheck disable=SC2086
        [[ -z $ids ]] || "$DOCKER" volume rm -f $ids >/dev/null
    fi
    if [[ -n $CBD_FAKE_API_PID ]]; then
        kill -TERM "$CBD_FAKE_API_PID" 2>/dev/null
        wait "$CBD_FAKE_API_PID" 2>/dev/null
        cbd_log "fake Bot API pid $CBD_FAKE_API_PID stopped"
    fi
    _cbd_stop_dockerd
    [[ -z $CBD_TMP ]] || rm -rf "$CBD_TMP"
    exit "$rc"
}

cbd_install_traps() {
    trap cbd_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}
