"""Progress of long work: a log line for the bot's reloads, a bar for a terminal.

The engine ticks once per indexed document; `logged_progress` turns ticks into a
log line at most every `every` seconds, and says nothing for reloads that finish
sooner. `terminal_bar` draws a tqdm bar only on a terminal: redirected to a file,
a bar's carriage-return frames would bury the output.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

log = logging.getLogger(__name__)

Tick = Callable[[int], None]
T = TypeVar("T")


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


def terminal_bar(items: Sequence[T], unit: str, desc: str, minimum: int = 1) -> Iterable[T]:
    """`items`, with a bar on stderr when stderr is a terminal and there are `minimum` or more."""
    if len(items) < minimum or not sys.stderr.isatty():
        return items
    from tqdm import tqdm  # imported here: most runs draw no bar

    return tqdm(items, unit=unit, desc=desc, leave=False)
