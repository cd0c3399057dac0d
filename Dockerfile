# coverage-bot: a Telegram bot answering Arabic questions with cited sentences.
#
#   docker build -t coverage-bot .
#   docker run -d --name coverage-bot --init -e TELEGRAM_BOT_TOKEN=... \
#       --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges \
#       -v coverage-bot-data:/data coverage-bot
#
# The base image is a build argument so the image can also be built where no
# registry is reachable (tests/docker/e2e.sh builds on a local Debian bookworm
# rootfs, whose python3 is 3.11).  Every step below works on both bases: only
# `python3 -m venv` and the venv's own pip are used, never a system pip.
#
# Settings live in one file, /app/config/config.yaml (COVERAGE_BOT_CONFIG), which
# is config/docker.yaml: the image's defaults (corpus /app/seeds, index
# /data/index, heartbeat /data/heartbeat).  Mount your own copy over it to change
# them; the image sets no COVERAGE_BOT_CORPUS, _INDEX_DIR or _HEARTBEAT, so
# nothing in the environment silently overrides that file.
# Run-time environment:
#   TELEGRAM_BOT_TOKEN        required at run time; never baked into the image
#   TELEGRAM_API_URL          optional Bot API root (tests point it at a fake)
# /data is a volume owned by uid 10001: mount a named volume there to keep the
# index between restarts.  Nothing else is written: the root filesystem can be
# read-only (bytecode is compiled at build time; temporary files go to /tmp).

ARG BASE_IMAGE=python:3.12-slim

# ---------------------------------------------------------------- build stage
FROM ${BASE_IMAGE} AS build

# uv from PyPI, in a throwaway venv (no other image is pulled, and the system
# interpreter of a Debian base refuses pip installs).  Pinned to the version
# that wrote uv.lock.
ARG UV_VERSION=0.13.9
RUN python3 -m venv /opt/uv \
    && /opt/uv/bin/pip install --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}"

# Use the base image's interpreter (the runtime stage has the same one at the
# same path), compile bytecode once here since /app is read-only at run time,
# and copy files out of uv's cache so the cache can be deleted.
ENV UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=python3 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_CACHE_DIR=/tmp/uv-cache \
    UV_PROJECT_ENVIRONMENT=/app/.venv

WORKDIR /app

# Dependencies first: this layer is rebuilt only when the lock changes.
COPY pyproject.toml uv.lock ./
RUN /opt/uv/bin/uv sync --frozen --no-dev --no-install-project \
    && rm -rf "$UV_CACHE_DIR"

# Then the project itself, installed as a regular (non-editable) package so
# the runtime stage needs nothing but the venv.
COPY README.md ./
COPY bot/ ./bot/
COPY retrieval/ ./retrieval/
RUN /opt/uv/bin/uv sync --frozen --no-dev --no-editable \
    && rm -rf "$UV_CACHE_DIR"

# -------------------------------------------------------------- runtime stage
FROM ${BASE_IMAGE} AS runtime

# A fixed uid/gid so volume ownership is predictable across rebuilds.
ARG APP_UID=10001
RUN groupadd --gid "${APP_UID}" coverage-bot \
    && useradd --no-log-init --uid "${APP_UID}" --gid "${APP_UID}" \
        --home-dir /data --no-create-home --shell /usr/sbin/nologin coverage-bot \
    && mkdir -p /data/index \
    && chown -R "${APP_UID}:${APP_UID}" /data

WORKDIR /app
# Code and data stay root-owned: the bot can read them but not change them.
COPY --from=build /app/.venv /app/.venv
# Its settings file is config/docker.yaml, the image's defaults (users mount theirs over it).
COPY config/docker.yaml /app/config/config.yaml
COPY seeds/ /app/seeds/

# UTF-8 everywhere (the corpus and the replies are Arabic), whatever the base's locale.
ENV PATH=/app/.venv/bin:$PATH \
    LANG=C.UTF-8 \
    PYTHONUTF8=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    COVERAGE_BOT_CONFIG=/app/config/config.yaml

# The compiled search kernels (retrieval/kernels.py, numba, for corpora of 50,000
# sentences or more) shipped warm: compiled here into numba's on-disk cache, so
# neither start-up nor the first question compiles (~5 s). numba caches only where
# it can write, and /app is read-only at run time, so the cache lives in /data,
# filled before VOLUME so a new volume starts with it (an existing volume without
# it is filled on first use). NUMBA_CPU_NAME=generic: the cached code is valid on
# any x86-64 host, not only on a CPU like the build machine's.
ENV NUMBA_CACHE_DIR=/data/numba-cache \
    NUMBA_CPU_NAME=generic
RUN python -c "from retrieval.index import compiled_kernels; compiled_kernels()" \
    && chown -R "${APP_UID}:${APP_UID}" /data/numba-cache

VOLUME ["/data"]
USER ${APP_UID}:${APP_UID}

# python-telegram-bot stops polling and shuts down cleanly on SIGTERM.
STOPSIGNAL SIGTERM
# Healthy while the update loop keeps refreshing the heartbeat file; the start
# period leaves room for building the index on first start.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["coverage-bot", "health"]

CMD ["coverage-bot", "serve"]
