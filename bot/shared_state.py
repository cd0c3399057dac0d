"""State several replicas share through Redis: question limits, answers behind buttons,
handled updates and the reload lock.

Each piece has the interface of its in-process twin (bot/policy.py, bot/answers.py)
and falls back to it while Redis cannot be reached: questions keep being answered
(limits counted per replica, buttons of answers given elsewhere say "expired"). An
outage is logged once when it starts and once when it ends; while it lasts, Redis is
tried again at most once a second, so a question never waits on a dead server for
more than one short timeout. Keys share one prefix (`coverage-bot:` by default).
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import TypeVar
from urllib.parse import urlparse

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from bot.answers import Answer, AnswerCache, Cited
from bot.policy import RateLimiter

log = logging.getLogger(__name__)

T = TypeVar("T")

PREFIX = "coverage-bot:"
TIMEOUT = 1.0  # seconds for a connection or a command before Redis counts as down
RETRY_AFTER = 1.0  # seconds between attempts while Redis is down
SHARED_ANSWERS = 10_000  # answers kept fleet-wide (the most recently used)


class Unavailable(Exception):
    """Redis cannot be reached now; the caller uses its local state."""


def redis_address(url: str) -> str:
    """host:port of a Redis URL, for logs: never the password it may hold."""
    parsed = urlparse(url)
    return f"{parsed.hostname or 'localhost'}:{parsed.port or 6379}"


class SharedRedis:
    """One Redis client with outage bookkeeping: `run` an operation or get `Unavailable`."""

    def __init__(self, url: str, prefix: str = PREFIX, timeout: float = TIMEOUT) -> None:
        self.url = url
        self.prefix = prefix
        self.address = redis_address(url)
        self.client = aioredis.Redis.from_url(
            url,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=10,
        )
        self._down_since: float | None = None
        self._retry_at = 0.0

    def key(self, *parts: object) -> str:
        return self.prefix + ":".join(str(p) for p in parts)

    @property
    def up(self) -> bool:
        return self._down_since is None

    async def run(self, operation: Callable[[aioredis.Redis], Awaitable[T]]) -> T:
        """`operation(client)`, or `Unavailable` (at once while an outage is known)."""
        now = time.monotonic()
        if self._down_since is not None and now < self._retry_at:
            raise Unavailable(f"Redis at {self.address} is unreachable")
        try:
            result = await operation(self.client)
        except (RedisError, OSError) as exc:
            self._retry_at = time.monotonic() + RETRY_AFTER
            if self._down_since is None:
                self._down_since = now
                log.warning(
                    "Redis at %s unreachable (%s): using this replica's own state until it is back",
                    self.address,
                    type(exc).__name__,
                )
            raise Unavailable(str(exc)) from exc
        if self._down_since is not None:
            log.warning(
                "Redis at %s is back after %.0f s: shared state again",
                self.address,
                now - self._down_since,
            )
            self._down_since = None
        return result

    async def close(self) -> None:
        await self.client.aclose()


# Sliding window on a sorted set of event times (Redis's own clock, so replicas' clocks
# need not agree): drop events that left the window, refuse at the limit, else count.
_ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
return 1
"""


class SharedRateLimiter:
    """RateLimiter's sliding window counted in Redis, so N replicas allow `limit`, not N×."""

    def __init__(self, shared: SharedRedis, name: str, limit: int, window: float = 60.0) -> None:
        self.shared = shared
        self.name = name
        self.limit = limit
        self.window = window
        self.local = RateLimiter(limit, window)  # while Redis is down
        self._script = shared.client.register_script(_ADMIT)

    async def admit(self, key: int) -> bool:
        """Count one event for `key`; False (and not counted) when over the limit."""
        member = secrets.token_hex(6)
        try:
            allowed = await self.shared.run(
                lambda _: self._script(
                    keys=[self.shared.key("limit", self.name, key)],
                    args=[self.window, self.limit, member],
                )
            )
        except Unavailable:
            return self.local.allow(key)
        return bool(allowed)


# Store an answer; keep the `capacity` most recently used (a sorted set scored by a
# counter), dropping the others with their «المزيد» marks.
_PUT = """
local tick = redis.call('INCR', KEYS[4])
redis.call('SET', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[3], tick, ARGV[3])
if ARGV[2] == '1' then redis.call('SET', KEYS[2], '1') end
local extra = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[4])
if extra > 0 then
  for _, old in ipairs(redis.call('ZRANGE', KEYS[3], 0, extra - 1)) do
    redis.call('DEL', ARGV[5] .. 'answer:' .. old, ARGV[5] .. 'more:' .. old)
  end
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, extra - 1)
end
return 1
"""
_GET = """
local value = redis.call('GET', KEYS[1])
if value then redis.call('ZADD', KEYS[2], 'XX', redis.call('INCR', KEYS[3]), ARGV[1]) end
return value
"""


def answer_json(answer: Answer) -> str:
    return json.dumps(asdict(answer), ensure_ascii=False)


def answer_from_json(text: str | bytes) -> Answer | None:
    """The stored answer, or None for anything that is not one (e.g. an older format)."""
    try:
        data = json.loads(text)
        cited = tuple(Cited(**c) for c in data.pop("cited"))
        return Answer(**data, cited=cited)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


class SharedAnswers:
    """AnswerCache in Redis: a button works whichever replica receives the press.

    Answers made while Redis was down live in this replica's own cache (their buttons
    work here only); the generation check of the handlers is unchanged, so a button of
    an answer from an index no longer served says "expired" as before.
    """

    def __init__(self, shared: SharedRedis, capacity: int = SHARED_ANSWERS) -> None:
        self.shared = shared
        self.capacity = capacity
        self.local = AnswerCache()
        self._put = shared.client.register_script(_PUT)
        self._get = shared.client.register_script(_GET)

    async def remember(self, answer: Answer, has_more: bool = False) -> str:
        key = secrets.token_urlsafe(6)
        shared = self.shared
        try:
            await shared.run(
                lambda _: self._put(
                    keys=[
                        shared.key("answer", key),
                        shared.key("more", key),
                        shared.key("answers"),
                        shared.key("answers", "tick"),
                    ],
                    args=[
                        answer_json(answer),
                        "1" if has_more else "0",
                        key,
                        self.capacity,
                        shared.prefix,
                    ],
                )
            )
        except Unavailable:
            return self.local.put(answer, has_more)
        return key

    async def recall(self, key: str) -> Answer | None:
        local = self.local.get(key)
        if local is not None:
            return local
        shared = self.shared
        try:
            value = await shared.run(
                lambda _: self._get(
                    keys=[
                        shared.key("answer", key),
                        shared.key("answers"),
                        shared.key("answers", "tick"),
                    ],
                    args=[key],
                )
            )
        except Unavailable:
            return None
        return answer_from_json(value) if value is not None else None

    async def claim_more(self, key: str) -> bool:
        """True for exactly one press of answer `key`'s «المزيد», fleet-wide."""
        if self.local.get(key) is not None:
            return self.local.take_more(key)
        try:
            deleted = await self.shared.run(
                lambda client: client.delete(self.shared.key("more", key))
            )
        except Unavailable:
            return False
        return deleted == 1


# An update's mark: "run:<replica>" while a replica handles it (short expiry, renewed
# while the work goes on), "done" after (kept as long as Telegram may re-post).
RUNNING_TTL = 10  # seconds: how soon an update whose replica died can be taken over
DONE_TTL = 24 * 3600  # Telegram keeps an undelivered update for 24 hours
LOCAL_SEEN = 20_000  # update ids remembered by this replica, for outages

NEW = "new"  # this replica handles it
DONE = "done"  # handled already: acknowledge, do nothing
BUSY = "busy"  # another replica handles it now: ask Telegram to post it again later

_CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 'new' end
local held = redis.call('GET', KEYS[1])
if held == 'done' then return 'done' end
if held == ARGV[1] then return 'mine' end
return 'busy'
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class UpdateLedger:
    """Which updates the fleet has handled, so each `update_id` is handled once."""

    def __init__(self, shared: SharedRedis, replica: str) -> None:
        self.shared = shared
        self.mark = f"run:{replica}"
        self._seen: OrderedDict[int, str] = OrderedDict()  # this replica's own view
        self._claim = shared.client.register_script(_CLAIM)
        self._renew = shared.client.register_script(_RENEW)
        self._release = shared.client.register_script(_RELEASE)

    def _key(self, update_id: int) -> str:
        return self.shared.key("update", update_id)

    async def claim(self, update_id: int) -> str:
        """NEW (handle it), DONE or BUSY; NEW during an outage unless this replica saw it."""
        if update_id in self._seen:
            return DONE if self._seen[update_id] == DONE else BUSY
        try:
            result = await self.shared.run(
                lambda _: self._claim(keys=[self._key(update_id)], args=[self.mark, RUNNING_TTL])
            )
        except Unavailable:
            result = NEW
        state = result.decode() if isinstance(result, bytes) else str(result)
        if state in (NEW, "mine"):
            self._remember(update_id, BUSY)
            return NEW
        return state

    async def renew(self, update_id: int) -> None:
        """Still working on it: push the running mark's expiry back."""
        with contextlib.suppress(Unavailable):
            await self.shared.run(
                lambda _: self._renew(keys=[self._key(update_id)], args=[self.mark, RUNNING_TTL])
            )

    async def done(self, update_id: int) -> None:
        self._remember(update_id, DONE)
        with contextlib.suppress(Unavailable):
            await self.shared.run(
                lambda client: client.set(self._key(update_id), DONE, ex=DONE_TTL)
            )

    async def release(self, update_id: int) -> None:
        """Not handled after all (shutting down): let another replica take it."""
        self._seen.pop(update_id, None)
        with contextlib.suppress(Unavailable):
            await self.shared.run(
                lambda _: self._release(keys=[self._key(update_id)], args=[self.mark])
            )

    def _remember(self, update_id: int, state: str) -> None:
        self._seen[update_id] = state
        self._seen.move_to_end(update_id)
        while len(self._seen) > LOCAL_SEEN:
            self._seen.popitem(last=False)


_UNLOCK = _RELEASE
LOCK_TTL = 60  # seconds: a builder that died frees the lock this long after its last renewal


class SharedLock:
    """A named lock with an owner token and an expiry, renewed by its holder."""

    def __init__(self, shared: SharedRedis, name: str, ttl: int = LOCK_TTL) -> None:
        self.shared = shared
        self.key = shared.key("lock", name)
        self.ttl = ttl
        self.token = ""
        self._renew = shared.client.register_script(_RENEW)
        self._unlock = shared.client.register_script(_UNLOCK)

    async def acquire(self) -> bool:
        """True when taken; `Unavailable` when Redis cannot say."""
        token = secrets.token_hex(8)
        taken = await self.shared.run(
            lambda client: client.set(self.key, token, nx=True, ex=self.ttl)
        )
        if taken:
            self.token = token
        return bool(taken)

    async def held_elsewhere(self) -> bool:
        try:
            holder = await self.shared.run(lambda client: client.get(self.key))
        except Unavailable:
            return False
        return holder is not None and holder.decode() != self.token

    async def renew(self) -> None:
        with contextlib.suppress(Unavailable):
            await self.shared.run(
                lambda _: self._renew(keys=[self.key], args=[self.token, self.ttl])
            )

    async def release(self) -> None:
        token, self.token = self.token, ""
        with contextlib.suppress(Unavailable):
            await self.shared.run(lambda _: self._unlock(keys=[self.key], args=[token]))
