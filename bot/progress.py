"""Progress of a long reload in the log, so an operator watching a big rebuild sees it move.

The engine ticks once per indexed document; this turns ticks into a log line at most
every `every` seconds, and says nothing for reloads that finish sooner.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

Tick = Callable[[int], None]


def logged_progress(every: float = 5.0) -> Callable[[int], Tick]:
    """A progress factory for `Engine.reload`: given the document count, returns the tick."""

    def start(total: int) -> Tick:
        started = last = time.monotonic()
        done = 0

        def tick(count: int = 1) -> None:
            nonlocal done, last
            done += count
            now = time.monotonic()
            if now - last >= every:
                last = now
                log.info("reload: %d of %d documents indexed in %.0f s", done, total, now - started)

        return tick

    return start
