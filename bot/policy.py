"""Who may ask where, and how often: plain data and arithmetic, no Telegram objects.

The gate (access.py) and the shared state (state.py) both use these, so they live
apart from either.

Groups are decided by the chat, private chats by the user. In a group the bot
answers only when the group is in `allowed_chats` (then whoever asks there), or
when `allow_everyone` opens the bot; an allowed user or an admin who adds the bot
to another group gets no answers there, and the bot leaves it. Telegram gives
groups, supergroups and channels negative ids and users positive ones.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Protocol

from bot.settings import AccessSettings

_MAX_TRACKED_USERS = 10_000


def is_group_chat(chat_id: int | None) -> bool:
    return chat_id is not None and chat_id < 0


@dataclass(frozen=True, slots=True)
class Access:
    """The allow-lists from the config; admins may always ask in private."""

    admins: frozenset[int] = frozenset()
    allowed_users: frozenset[int] = frozenset()
    allowed_chats: frozenset[int] = frozenset()
    allow_everyone: bool = False

    @classmethod
    def from_settings(cls, settings: AccessSettings) -> Access:
        return cls(
            settings.admins,
            settings.allowed_users,
            settings.allowed_chats,
            settings.allow_everyone,
        )

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.admins

    def is_known(self, user_id: int) -> bool:
        """An admin or a listed user: someone the bot may write to about its groups."""
        return user_id in self.admins or user_id in self.allowed_users

    def group_allowed(self, chat_id: int) -> bool:
        """Whether the bot may serve (and stay in) this group."""
        return self.allow_everyone or chat_id in self.allowed_chats

    def may_ask(self, user_id: int, chat_id: int | None) -> bool:
        """In a group: the group decides (module docstring). Elsewhere: everyone when
        open, admins and listed users."""
        if is_group_chat(chat_id):
            return self.group_allowed(chat_id)
        return self.allow_everyone or self.is_known(user_id)


class Limiter(Protocol):
    """What the handlers need of a limit: this process's RateLimiter, or the fleet's."""

    async def admit(self, user_id: int) -> bool: ...


class RateLimiter:
    """At most `limit` events per key (a user, or a chat) within `window` seconds
    (a sliding window)."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._events: dict[int, deque[float]] = defaultdict(deque)

    def allow(self, user_id: int, now: float | None = None) -> bool:
        """Count one event for `user_id`; False (and not counted) when over the limit."""
        now = time.monotonic() if now is None else now
        if len(self._events) > _MAX_TRACKED_USERS:
            self._forget_idle(now)
        events = self._events[user_id]
        while events and events[0] <= now - self.window:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(now)
        return True

    async def admit(self, user_id: int) -> bool:
        """`allow` behind the interface the Redis-backed limiter shares (bot/shared_state.py)."""
        return self.allow(user_id)

    def __len__(self) -> int:
        """Users currently tracked."""
        return len(self._events)

    def _forget_idle(self, now: float) -> None:
        """Drop users with nothing in the window, so many one-off users cannot grow memory."""
        for user_id in [u for u, e in self._events.items() if not e or e[-1] <= now - self.window]:
            del self._events[user_id]
