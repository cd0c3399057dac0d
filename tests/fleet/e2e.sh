#!/usr/bin/env bash
# The fleet end to end: redis-server, HAProxy and three `serve --webhook-url` replicas
# on loopback ports, with a driver playing Telegram (tests/fleet/driver.py prints what
# it checks). Needs the redis-server and haproxy binaries (.ci/run installs them as
# root) and the project's environment (./dev test makes it). About 1.5 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
for binary in redis-server haproxy; do
    if ! command -v "$binary" >/dev/null; then
        echo "fleet e2e: $binary is not installed (apt-get install -y redis-server haproxy)" >&2
        exit 2
    fi
done
[ -x .venv/bin/python ] || ./dev --help >/dev/null
exec .venv/bin/python tests/fleet/driver.py "$@"
