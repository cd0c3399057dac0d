"""Liveness for the container's HEALTHCHECK: the running bot touches a file, `health` reads its age.

The file is refreshed by a task on the bot's own event loop, and only while the
application and its update loop (polling or webhook) are running: a stuck loop or
a dead updater or webhook server stops the heartbeat, and `coverage-bot health` then fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bot.webhook import SERVER_KEY

if TYPE_CHECKING:  # `coverage-bot health` runs often and need not import telegram
    from telegram.ext import Application

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 15.0  # seconds between touches


def touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    os.utime(path)  # touch() leaves the time alone on some filesystems if the file exists


def age(path: Path, now: float | None = None) -> float | None:
    """Seconds since the heartbeat file was last touched; None when there is none."""
    try:
        modified = path.stat().st_mtime
    except FileNotFoundError:
        return None
    return max(0.0, (time.time() if now is None else now) - modified)


def check(path: Path | None, max_age: float, now: float | None = None) -> tuple[bool, str]:
    """(healthy, one-line reason) for `coverage-bot health`."""
    if path is None:
        return (
            False,
            "no heartbeat file configured (telegram.heartbeat_file or COVERAGE_BOT_HEARTBEAT)",
        )
    seconds = age(path, now)
    if seconds is None:
        return False, f"no heartbeat: {path} does not exist (is the bot running?)"
    if seconds > max_age:
        return (
            False,
            f"stale heartbeat: {path} last touched {seconds:.0f} s ago (limit {max_age:.0f} s)",
        )
    return True, f"healthy: heartbeat {seconds:.0f} s ago"


async def beat(application: Application, path: Path, interval: float = DEFAULT_INTERVAL) -> None:
    """Touch `path` every `interval` seconds while the bot is receiving updates."""
    warned = False
    while True:
        if application.running and _receiving(application):
            try:
                touch(path)
                warned = False
            except OSError as exc:
                if not warned:
                    log.warning("cannot write the heartbeat file %s: %s", path, exc)
                    warned = True
        await asyncio.sleep(interval)


def _receiving(application: Application) -> bool:
    """True while updates can arrive: the poller runs, or the webhook server listens."""
    updater = application.updater
    server = application.bot_data.get(SERVER_KEY)
    return (updater is not None and updater.running) or (server is not None and server.serving)


async def stop(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
