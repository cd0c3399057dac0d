"""Running counters for /stats: uptime, questions answered and how long answers take."""

from __future__ import annotations

import statistics
import time
from collections import deque


class Stats:
    """Answer latencies are kept for the most recent `window` questions only."""

    def __init__(self, window: int = 1000) -> None:
        self.started = time.monotonic()
        self.answered = 0
        self._latencies: deque[float] = deque(maxlen=window)

    def record_answer(self, seconds: float) -> None:
        self.answered += 1
        self._latencies.append(seconds)

    def median_latency(self) -> float | None:
        return statistics.median(self._latencies) if self._latencies else None

    def uptime(self) -> float:
        return time.monotonic() - self.started
