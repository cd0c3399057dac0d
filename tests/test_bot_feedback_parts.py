"""The pure parts of feedback: callback data, keyboard marking, and the /gaps and /stats text."""

from __future__ import annotations

from datetime import date

import pytest
from fake_bot_api import parse_html
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import feedback, render
from bot.feedback import FeedbackButton
from bot.storage import DOWN, UP, Gap, UsageStats


@pytest.mark.parametrize(
    ("data", "parsed"),
    [
        ("fb:42:+", FeedbackButton(42, value=UP)),
        ("fb:42:-5", FeedbackButton(42, value=DOWN, shown=5)),
        ("fb:42:c3", FeedbackButton(42, rank=3)),
        ("fb:42:c0", FeedbackButton(42, rank=0)),
    ],
)
def test_the_data_the_bot_makes_parses_back(data: str, parsed: FeedbackButton) -> None:
    assert feedback.parse(data) == parsed


@pytest.mark.parametrize(
    "data",
    ["fb:0:+", "fb:-1:+", "fb:42:-0", "fb:42:-", "fb:42:c", "fb:42:c01", "fb:42:+x", "fb:x:+",
     "fb:42", "fb:1234567890123456789:+", "fb:42:c100", "m:42", "", None],
)  # fmt: skip
def test_anything_else_is_not_a_feedback_button(data: str | None) -> None:
    assert feedback.parse(data) is None


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


def labels(markup: InlineKeyboardMarkup | None) -> list[list[str]]:
    assert markup is not None
    return [[b.text for b in row] for row in markup.inline_keyboard]


def test_a_vote_is_marked_and_the_other_sign_unmarked_leaving_other_buttons_alone() -> None:
    answer = keyboard(
        [("السياق 1", "c:key:1")], [("المزيد", "m:key")], [("👍 ✓", "fb:7:+"), ("👎", "fb:7:-5")]
    )
    changed = feedback.marked(answer, FeedbackButton(7, value=DOWN, shown=5))
    assert labels(changed) == [["السياق 1"], ["المزيد"], ["👍", "👎 ✓"]]
    assert feedback.marked(changed, FeedbackButton(7, value=DOWN, shown=5)) is None, "as is"
    other_answer = feedback.marked(answer, FeedbackButton(8, value=DOWN, shown=5))
    assert other_answer is None


def test_a_pick_marks_one_number_and_leaves_the_vote_row() -> None:
    prompt = feedback.pick_keyboard(7, 3)
    assert labels(prompt) == [["1", "2", "3"], ["لا شيء منها"]]
    picked = feedback.marked(prompt, FeedbackButton(7, rank=2))
    assert labels(picked) == [["1", "2 ✓", "3"], ["لا شيء منها"]]
    assert labels(feedback.marked(picked, FeedbackButton(7, rank=0))) == [
        ["1", "2", "3"],
        ["لا شيء منها ✓"],
    ]
    votes = keyboard([("👍", "fb:7:+"), ("👎", "fb:7:-3")])
    assert feedback.marked(votes, FeedbackButton(7, rank=2)) is None


def test_the_sentence_picker_offers_ten_numbers_at_most() -> None:
    assert labels(feedback.pick_keyboard(7, 50)) == [
        ["1", "2", "3", "4", "5"],
        ["6", "7", "8", "9", "10"],
        ["لا شيء منها"],
    ]


def test_removing_more_keeps_the_rest() -> None:
    answer = keyboard([("السياق 1", "c:key:1")], [("المزيد", "m:key")], [("👍", "fb:7:+")])
    assert labels(feedback.without(answer, "m:key")) == [["السياق 1"], ["👍"]]


def test_asked_which_sentence_once_per_answer() -> None:
    state = feedback.Feedback(storage=None, capacity=2)  # type: ignore[arg-type]
    assert [state.first_prompt(n) for n in (1, 1, 2, 3, 1)] == [True, False, True, True, True]


def test_gaps_are_escaped_and_fit_in_messages_however_long_the_questions() -> None:
    hostile = Gap(("<b>", "قمه"), 3, "<script>ما هذا؟</script> " * 400, 2, 0.0)
    chunks = render.render_gaps([hostile] * 10, 30)
    assert all(render.message_length(chunk) <= 4096 for chunk in chunks)
    text, _ = parse_html(chunks[0])
    assert "<script>ما هذا؟</script>" in text
    assert "— 3 مرة (بلا نتائج: 2، 👎: 1)" in text
    assert "الكلمات: \u2067<b> قمه\u2069" in text


def test_stats_show_the_week_or_why_the_log_is_unavailable() -> None:
    usage = UsageStats(
        days=2,
        per_day=((date(2026, 11, 30), 3), (date(2026, 12, 1), 1)),
        questions=4,
        no_hits=1,
        up=2,
        down=1,
        p50_ms=12.4,
        p95_ms=80.6,
    )
    lines = [parse_html(line)[0].lstrip("\u200f") for line in render.render_usage(usage)]
    assert lines == [
        "",
        "سجل الأسئلة (آخر 2 أيام):",
        "الأسئلة يومياً: \u206811-30: 3، 12-01: 1\u2069",
        "الأسئلة: 4، بلا نتائج: 1 (25%)",
        "التقييمات: 👍 2 · 👎 1",
        "زمن الإجابة: الوسيط 12 مللي ثانية، p95 81 مللي ثانية",
    ]
    down = render.render_gaps([], 30, storage_problem="disk I/O error <x>")
    assert [parse_html(chunk)[0] for chunk in down] == [
        "\u200fسجل الأسئلة غير متاح: \u2068disk I/O error <x>\u2069"
    ]
