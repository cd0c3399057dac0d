"""Feedback buttons: their callback data, the keyboards that carry them, and who was prompted.

Votes live in the question log (bot/storage/), keyed by the answer id the log
gave the question, so a button keeps working across restarts and reloads and
refers to nothing held in memory. Callback data (Telegram allows 64 bytes):

* `fb:<id>:+` 👍 and `fb:<id>:-<n>` 👎 under an answer that showed n sentences
  (n sizes the "which sentence?" buttons; a forged n changes nothing stored:
  the log refuses a sentence the answer did not show);
* `fb:<id>:c<rank>` "sentence <rank> was the answer", `fb:<id>:c0` "none of them".

Anyone may press anything: the log decides (only the asker rates an answer,
an unknown or expired id is refused), so nothing here is trusted.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import texts
from bot.storage import DOWN, NONE_OF_THEM, UP, AsyncStorage

PREFIX = "fb:"
PICK_BUTTONS = 10  # numbered "which sentence?" buttons at most (as context buttons)
_DATA_RE = re.compile(r"fb:([1-9][0-9]{0,17}):(\+|-([1-9][0-9]?)|c(0|[1-9][0-9]?))")


@dataclass(frozen=True, slots=True)
class FeedbackButton:
    """Parsed feedback data: a vote (value ±1) or a pick (rank, 0 for none of them)."""

    answer_id: int
    value: int | None = None
    rank: int | None = None
    shown: int = 0  # with 👎: how many sentences the answer showed


def vote_data(answer_id: int, value: int, shown: int = 0) -> str:
    return f"{PREFIX}{answer_id}:+" if value == UP else f"{PREFIX}{answer_id}:-{shown}"


def pick_data(answer_id: int, rank: int) -> str:
    return f"{PREFIX}{answer_id}:c{rank}"


def parse(data: str | None) -> FeedbackButton | None:
    """The feedback button behind callback data we made; None for anything else."""
    match = _DATA_RE.fullmatch(data or "")
    if match is None:
        return None
    answer_id = int(match[1])
    if match[2] == "+":
        return FeedbackButton(answer_id, value=UP)
    if match[3] is not None:
        return FeedbackButton(answer_id, value=DOWN, shown=int(match[3]))
    return FeedbackButton(answer_id, rank=int(match[4]))


def vote_row(answer_id: int, shown: int) -> list[InlineKeyboardButton]:
    """👍 and 👎 for an answer that showed `shown` sentences."""
    return [
        InlineKeyboardButton(texts.UP_BUTTON, callback_data=vote_data(answer_id, UP)),
        InlineKeyboardButton(texts.DOWN_BUTTON, callback_data=vote_data(answer_id, DOWN, shown)),
    ]


def pick_keyboard(answer_id: int, shown: int) -> InlineKeyboardMarkup:
    """ "Which sentence was the answer?": one numbered button per shown sentence, then none."""
    numbers = [
        InlineKeyboardButton(str(rank), callback_data=pick_data(answer_id, rank))
        for rank in range(1, min(shown, PICK_BUTTONS) + 1)
    ]
    rows = [numbers[i : i + 5] for i in range(0, len(numbers), 5)]
    rows.append(
        [
            InlineKeyboardButton(
                texts.NONE_OF_THEM_BUTTON, callback_data=pick_data(answer_id, NONE_OF_THEM)
            )
        ]
    )
    return InlineKeyboardMarkup(rows)


def marked(
    markup: InlineKeyboardMarkup | None, pressed: FeedbackButton
) -> InlineKeyboardMarkup | None:
    """`markup` with the choice `pressed` made shown as chosen (✓) and its siblings unmarked.

    Built from the message's own keyboard, so the other buttons («المزيد», «السياق»)
    stay as they are. None when there is nothing to change.
    """
    if markup is None:
        return None
    changed = False
    rows = []
    for row in markup.inline_keyboard:
        new_row = []
        for button in row:
            label = _label(button, pressed)
            changed |= label != button.text
            new_row.append(
                InlineKeyboardButton(label, callback_data=button.callback_data)
                if label != button.text
                else button
            )
        rows.append(new_row)
    return InlineKeyboardMarkup(rows) if changed else None


def _label(button: InlineKeyboardButton, pressed: FeedbackButton) -> str:
    other = parse(button.callback_data if isinstance(button.callback_data, str) else None)
    if other is None or other.answer_id != pressed.answer_id:
        return button.text
    if (other.value is None) != (pressed.value is None):  # a vote and a pick: not siblings
        return button.text
    plain = button.text.removesuffix(texts.CHOSEN_MARK)
    chosen = (
        other.value == pressed.value if pressed.value is not None else other.rank == pressed.rank
    )
    return plain + texts.CHOSEN_MARK if chosen else plain


def without(markup: InlineKeyboardMarkup | None, data: str) -> InlineKeyboardMarkup | None:
    """`markup` without the button carrying `data` (and without rows left empty)."""
    if markup is None:
        return None
    rows = [[b for b in row if b.callback_data != data] for row in markup.inline_keyboard]
    rows = [row for row in rows if row]
    return InlineKeyboardMarkup(rows) if rows else None


@dataclass(slots=True)
class Feedback:
    """The question log as the handlers use it, and which answers were asked "which
    sentence?" (once each, so toggling 👍/👎 cannot make the bot send a stream of
    prompts; bounded, the oldest forgotten first)."""

    storage: AsyncStorage
    capacity: int = 10_000
    _prompted: OrderedDict[int, None] = field(default_factory=OrderedDict)

    def first_prompt(self, answer_id: int) -> bool:
        """True the first time an answer's "which sentence?" is about to be sent."""
        if answer_id in self._prompted:
            return False
        self._prompted[answer_id] = None
        while len(self._prompted) > self.capacity:
            self._prompted.popitem(last=False)
        return True


def sign(value: int) -> str:
    return texts.UP_BUTTON if value == UP else texts.DOWN_BUTTON
