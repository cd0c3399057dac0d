"""Who may ask and who may administer: one gate before every handler, one guard per admin command.

`gate` runs in handler group -1, ahead of everything: an update from someone who may
not ask is refused once, briefly, logged with the user id, and stopped there with
`ApplicationHandlerStop`, so no handler (and no button) reveals anything from the
corpus. Messages in groups that are not addressed to the bot are dropped silently.
Groups follow bot/policy.py: the bot serves only the groups in `allowed_chats`, and
leaves any other group as soon as it is added to it (or spoken to there).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

from telegram import ChatMember, ChatMemberUpdated, Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot import texts
from bot.addressing import is_addressed
from bot.policy import Access, RateLimiter, is_group_chat
from bot.render import escape, own_isolate, rtl_text
from bot.state import BotState, state_of
from retrieval.display import printable

__all__ = ["Access", "RateLimiter", "admin_only", "gate"]

log = logging.getLogger(__name__)

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]
_PRESENT = {ChatMember.OWNER, ChatMember.ADMINISTRATOR, ChatMember.MEMBER}


async def gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop every update from someone who may not ask, after one short refusal."""
    state = state_of(context)
    if update.my_chat_member is not None:
        await _membership_changed(update.my_chat_member, context, state)
        raise ApplicationHandlerStop
    user = update.effective_user
    chat = update.effective_chat
    query = update.callback_query
    message = update.message
    if user is None or (query is None and message is None):
        raise ApplicationHandlerStop  # channel posts, edits: not for us
    if message is not None and not is_addressed(message, context.bot.username, context.bot.id):
        log.debug("update %s in chat %s is not addressed to the bot", update.update_id, chat.id)
        raise ApplicationHandlerStop
    chat_id = chat.id if chat else None
    if state.access.may_ask(user.id, chat_id):
        return
    if is_group_chat(chat_id):
        await _refuse_group(update, context, state, chat_id)
        raise ApplicationHandlerStop
    tell = state.refusals.allow(user.id)  # a flood of attempts gets no flood of refusals
    log.log(
        logging.WARNING if tell else logging.DEBUG,
        "refused user %s in chat %s (not in the allow-lists)",
        user.id,
        chat_id,
    )
    if query is not None:
        await query.answer(texts.BUTTON_NOT_ALLOWED if tell else None, show_alert=tell)
    elif message is not None and tell:
        await message.reply_text(rtl_text(texts.NOT_ALLOWED.format(user_id=user.id)))
    raise ApplicationHandlerStop


async def _refuse_group(
    update: Update, context: ContextTypes.DEFAULT_TYPE, state: BotState, chat_id: int
) -> None:
    """A group outside the allow-list: say so (at most three times a minute), then leave."""
    tell = state.refusals.allow(chat_id)
    log.log(
        logging.WARNING if tell else logging.DEBUG,
        "refused user %s in group %s (not in access.allowed_chats); leaving",
        update.effective_user.id,
        chat_id,
    )
    query = update.callback_query
    if query is not None:
        await query.answer(texts.BUTTON_NOT_ALLOWED if tell else None, show_alert=tell)
    elif update.message is not None and tell:
        await update.message.reply_text(rtl_text(texts.GROUP_NOT_ALLOWED.format(chat_id=chat_id)))
    await _leave(context, chat_id)


async def _membership_changed(
    change: ChatMemberUpdated, context: ContextTypes.DEFAULT_TYPE, state: BotState
) -> None:
    """The bot was added to a chat: stay in an allowed group, leave any other one and tell
    the person who added it (when the bot may write to them) why."""
    chat = change.chat
    if not is_group_chat(chat.id) or not _joined(change):
        return
    adder = change.from_user
    if state.access.group_allowed(chat.id):
        log.info("added to group %s by user %s", chat.id, adder.id if adder else None)
        return
    log.warning(
        "added to group %s by user %s; it is not in access.allowed_chats: leaving",
        chat.id,
        adder.id if adder else None,
    )
    await _leave(context, chat.id)
    if adder is None or not state.access.is_known(adder.id):
        return
    title = own_isolate(escape(printable(chat.title or "")[:100]))
    notice = texts.LEFT_GROUP.format(title=title, chat_id=chat.id)
    try:
        await context.bot.send_message(adder.id, rtl_text(notice))
    except TelegramError as exc:  # e.g. they never opened a private chat with the bot
        log.warning("could not tell user %s why the bot left: %s", adder.id, exc)


def _joined(change: ChatMemberUpdated) -> bool:
    return _present(change.new_chat_member) and not _present(change.old_chat_member)


def _present(member: ChatMember) -> bool:
    return member.status in _PRESENT or (
        member.status == ChatMember.RESTRICTED and bool(getattr(member, "is_member", False))
    )


async def _leave(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> None:
    try:
        await context.bot.leave_chat(chat_id)
    except TelegramError as exc:
        log.warning("could not leave chat %s: %s", chat_id, exc)


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
