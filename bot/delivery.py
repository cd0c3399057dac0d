"""Getting replies to Telegram through a flaky Bot API: flood limits, then patient retries.

python-telegram-bot's `AIORateLimiter` keeps the bot under Telegram's flood limits
(about 30 messages a second overall, 20 a minute per group) and waits out a 429's
`retry_after`. It does not retry anything else, so one 502 from the Bot API, a dropped
connection or a slow answer would cost the user the answer. `PatientRateLimiter`
adds retries with growing pauses for failures that say nothing about the request
itself (5xx, network errors, timeouts, an unreadable answer), within a deadline.

Delivery is **at least once**. When the Bot API fails *before* acting (500, 502, a
refused or dropped connection before the answer) a retry sends the one and only
copy. When it fails *after* acting (the message was stored, then the answer timed out
or arrived garbled) the bot cannot know, Telegram has no idempotency key for
sendMessage, and a retry sends a second copy. A duplicate answer during a Bot API
incident is judged better than a silently lost one in a newsroom: the alternative
(at most once: never retry an ambiguous failure) drops answers on every timeout.
Rejections that describe the request (400 Bad Request, 403 Forbidden) are never
retried: sending the same thing again would fail the same way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, NetworkError, TelegramError
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)

# Pauses between attempts, then the last one repeated until the deadline.
BACKOFF = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0)
GIVE_UP_AFTER = 90.0  # seconds from the first attempt; then the handler's error path runs
# Best-effort calls: a retried "typing…" would only hold up the answer it announces.
NOT_RETRIED = frozenset({"sendChatAction"})


def is_transient(exc: TelegramError) -> bool:
    """Whether a failure may pass by itself: network trouble, 5xx, or an unreadable answer
    (PTB raises the bare TelegramError for a body that is not JSON)."""
    if isinstance(exc, BadRequest):
        return False
    return isinstance(exc, NetworkError) or type(exc) is TelegramError


class PatientRateLimiter(AIORateLimiter):
    """AIORateLimiter that also retries transient failures (see the module docstring)."""

    def __init__(
        self,
        *,
        backoff: tuple[float, ...] = BACKOFF,
        give_up_after: float = GIVE_UP_AFTER,
        **limits: Any,
    ) -> None:
        super().__init__(**limits)
        self.backoff = backoff
        self.give_up_after = give_up_after

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        deadline = time.monotonic() + self.give_up_after
        attempt = 0
        while True:
            try:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
            except TelegramError as exc:
                pause = self.backoff[min(attempt, len(self.backoff) - 1)]
                if (
                    endpoint in NOT_RETRIED
                    or not is_transient(exc)
                    or time.monotonic() + pause > deadline
                ):
                    raise
                attempt += 1
                log.warning(
                    "%s failed (%s); attempt %d in %.1f s", endpoint, exc, attempt + 1, pause
                )
                await asyncio.sleep(pause)
