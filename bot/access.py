"""Who may ask and who may administer: one gate before every handler, one guard per admin command.

`gate` runs in handler group -1, ahead of everything: an update from someone who may
not ask is refused once, briefly, logged with the user id, and stopped there with
`ApplicationHandlerStop`, so no handler (and no button) reveals anything from the
corpus. Messages in groups that are not addressed to the bot are dropped silently.
"""

from __future__ import annotations

import functools
import logging
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot import texts
from bot.addressing import is_addressed
from bot.render import rtl_text
from bot.settings import AccessSettings
from bot.state import state_of

log = logging.getLogger(__name__)

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]
_MAX_TRACKED_USERS = 10_000


@dataclass(frozen=True, slots=True)
class Access:
    """The allow-lists from the config; admins are always allowed to ask."""

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

    def may_ask(self, user_id: int, chat_id: int | None) -> bool:
        """Allowed: everyone when open, admins, listed users, and members of listed chats."""
        return (
            self.allow_everyone
            or user_id in self.admins
            or user_id in self.allowed_users
            or (chat_id is not None and chat_id in self.allowed_chats)
        )


class RateLimiter:
    """At most `limit` events per user within `window` seconds (a sliding window)."""

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

    def __len__(self) -> int:
        """Users currently tracked."""
        return len(self._events)

    def _forget_idle(self, now: float) -> None:
        """Drop users with nothing in the window, so many one-off users cannot grow memory."""
        for user_id in [u for u, e in self._events.items() if not e or e[-1] <= now - self.window]:
            del self._events[user_id]


async def gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop every update from someone who may not ask, after one short refusal."""
    state = state_of(context)
    user = update.effective_user
    chat = update.effective_chat
    query = update.callback_query
    message = update.message
    if user is None or (query is None and message is None):
        raise ApplicationHandlerStop  # channel posts, edits, membership changes: not for us
    if message is not None and not is_addressed(message, context.bot.username, context.bot.id):
        raise ApplicationHandlerStop
    if state.access.may_ask(user.id, chat.id if chat else None):
        return
    tell = state.refusals.allow(user.id)  # a flood of attempts gets no flood of refusals
    log.log(
        logging.WARNING if tell else logging.DEBUG,
        "refused user %s in chat %s (not in the allow-lists)",
        user.id,
        chat.id if chat else None,
    )
    if query is not None:
        await query.answer(texts.BUTTON_NOT_ALLOWED if tell else None, show_alert=tell)
    elif message is not None and tell:
        await message.reply_text(rtl_text(texts.NOT_ALLOWED.format(user_id=user.id)))
    raise ApplicationHandlerStop


def admin_only(handler: Handler) -> Handler:
    """Let only admins run `handler`; anyone else is told so, and it is logged."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user = update.effective_user
        if user is not None and state_of(context).access.is_admin(user.id):
            await handler(update, context)
            return
        log.warning("refused admin command from user %s", user.id if user else None)
        if update.effective_message is not None:
            await update.effective_message.reply_text(rtl_text(texts.ADMIN_ONLY))

    return guarded
