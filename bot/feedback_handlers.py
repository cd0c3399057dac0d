"""What the bot does with 👍/👎, "which sentence was the answer?" and /gaps.

A press is answered with a short notice only (never a message in the chat) unless
it is a first 👎, which asks once which sentence answered. Whatever the log
refuses (another user's answer, an unknown or expired id, a sentence not shown)
gets a short notice and changes nothing; the log decides, so forged or replayed
callback data has no other effect.
"""

from __future__ import annotations

import logging

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot import feedback, render, texts
from bot.access import admin_only
from bot.feedback import FeedbackButton
from bot.state import state_of
from bot.storage import DOWN, NONE_OF_THEM, VoteOutcome

log = logging.getLogger(__name__)

GAPS_DAYS = 30  # /gaps looks this far back
GAPS_SHOWN = 10

_REFUSED = {
    VoteOutcome.NOT_YOURS: texts.VOTE_NOT_YOURS,
    VoteOutcome.UNKNOWN: texts.VOTE_EXPIRED,
    VoteOutcome.INVALID: texts.VOTE_EXPIRED,
    VoteOutcome.UNAVAILABLE: texts.VOTE_UNAVAILABLE,
}


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Record a vote or a pick, answer the press, and mark the choice on the keyboard."""
    query = update.callback_query
    user_id = update.effective_user.id
    pressed = feedback.parse(query.data)
    state = state_of(context)
    if pressed is None or state.feedback is None:
        await query.answer(texts.VOTE_EXPIRED)
        return
    storage = state.feedback.storage
    if pressed.value is not None:
        outcome = await storage.vote(pressed.answer_id, user_id, pressed.value)
    else:
        outcome = await storage.choose(pressed.answer_id, user_id, pressed.rank or 0)
    if not outcome.recorded:
        log.info("feedback from user %s refused: %s", user_id, outcome.value)
        await query.answer(_REFUSED[outcome])
        return
    await query.answer(_notice(pressed, outcome))
    message = query.message
    if not isinstance(message, Message):
        return
    await _mark(query, feedback.marked(message.reply_markup, pressed))
    if (
        pressed.value == DOWN
        and outcome is not VoteOutcome.UNCHANGED
        and state.feedback.first_prompt(pressed.answer_id)
    ):
        shown = min(pressed.shown, feedback.PICK_BUTTONS)
        await message.reply_text(
            render.rtl_text(texts.WHICH_SENTENCE.format(count=shown)),
            reply_markup=feedback.pick_keyboard(pressed.answer_id, shown),
            do_quote=True,
        )


def _notice(pressed: FeedbackButton, outcome: VoteOutcome) -> str:
    if pressed.value is None:
        if pressed.rank == NONE_OF_THEM:
            return texts.PICK_NONE
        return texts.PICK_COUNTED.format(rank=pressed.rank)
    wording = {
        VoteOutcome.COUNTED: texts.VOTE_COUNTED,
        VoteOutcome.CHANGED: texts.VOTE_CHANGED,
        VoteOutcome.UNCHANGED: texts.VOTE_UNCHANGED,
    }[outcome]
    return wording.format(sign=feedback.sign(pressed.value))


async def _mark(query: CallbackQuery, markup: InlineKeyboardMarkup | None) -> None:
    """Show the recorded choice on the keyboard; a failed edit loses nothing stored."""
    if markup is None:
        return
    try:
        await query.edit_message_reply_markup(markup)
    except BadRequest as exc:  # e.g. "message is not modified" after a double tap
        log.debug("feedback keyboard not edited: %s", exc)


@admin_only
async def gaps(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the most frequent recent questions that got no hits or a 👎 (coverage gaps)."""
    state = state_of(context)
    problem = "not kept" if state.feedback is None else None
    found = []
    if state.feedback is not None:
        storage = state.feedback.storage
        found = await storage.gaps(days=GAPS_DAYS, limit=GAPS_SHOWN)
        problem = storage.problem
    for chunk in render.render_gaps(found, GAPS_DAYS, problem):
        await update.effective_message.reply_text(chunk)
