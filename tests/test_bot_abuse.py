"""Attacks from issue 15 replayed against the real bot and the fake Bot API.

Each test does what an attacker (or an unlucky corpus) did and checks what reached
Telegram. Where the point is that something does *not* happen, the test first waits
for a positive signal that the bot has dealt with the update (a later reply, every
button press answered, the gate's log line) instead of sleeping.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from bot_runner import (
    ADMIN,
    GROUP,
    MEMBER,
    OTHER_GROUP,
    STRANGER,
    RunningBot,
    StartBot,
    buttons,
    visible,
)
from fake_bot_api import Call, utf16_len

from bot import texts

QUESTION = "ماذا قال كيم عن الإمبريالية؟"
BOILERPLATE = "حقوق النشر محفوظة لوكالة الأنباء العربية ولا يجوز إعادة النشر دون إذن مكتوب."


def wait_until(condition, what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def sent_to(bot: RunningBot, chat_id: int, since: int) -> list[str]:
    return [visible(c.params) for c in bot.api.calls[since:] if _sent(c, chat_id)]


def _sent(call: Call, chat_id: int) -> bool:
    return call.method == "sendMessage" and call.ok and call.params["chat_id"] == chat_id


def press(bot: RunningBot, user: int, message: dict, label: str) -> int:
    data = buttons(message)[label]
    return bot.send(
        bot.api.callback_query(user, message["chat"]["id"], message["message_id"], data)
    )


def answered_presses(bot: RunningBot, since: int) -> list[Call]:
    return [c for c in bot.api.calls[since:] if c.method == "answerCallbackQuery" and c.ok]


# --- defect 4: replies longer than 4096 characters ----------------------------------------


def test_a_sentence_held_by_120_documents_still_gets_its_answer(corpus: Path, start_bot: StartBot):
    for n in range(120):
        (corpus / f"wire_{n:03}.txt").write_text(
            f"---\ntitle: نشرة وكالة الأنباء العربية الصباحية عن أخبار المنطقة رقم {n}\n"
            f"outlet: وكالة الأنباء العربية\n---\n"
            f"{BOILERPLATE}\nتناولت النشرة رقم {n} أحوال الطقس في المدن الساحلية.\n",
            encoding="utf-8",
        )
    bot = start_bot()
    reply = bot.ask(MEMBER, "حقوق النشر محفوظة لوكالة الأنباء").result
    assert BOILERPLATE in reply["text"]
    assert "و117 مصادر أخرى" in reply["text"]
    assert utf16_len(reply["text"]) <= 4096
    assert texts.APOLOGY not in reply["text"]


# --- defect 5: buttons and the question limit ------------------------------------------------


def test_buttons_count_against_the_question_limit(start_bot: StartBot):
    bot = start_bot(access={"questions_per_minute": 2})
    answer = bot.ask(MEMBER, "بوتين").result  # question 1 of 2
    since = bot.api.mark()
    for _ in range(30):
        press(bot, MEMBER, answer, "السياق 1")
        press(bot, MEMBER, answer, texts.MORE_BUTTON)
    wait_until(lambda: len(answered_presses(bot, since)) == 60, "every press answered")
    notices = [c.params.get("text") for c in answered_presses(bot, since)]
    assert notices.count(texts.BUTTON_RATE_LIMITED) >= 58
    wait_until(lambda: sent_to(bot, MEMBER, since), "the one press within the limit")
    assert len(sent_to(bot, MEMBER, since)) == 1, "one press fitted in the limit of 2"
    assert "الإمبريالية" in bot.ask(ADMIN, QUESTION).result["text"], "admins are not limited"
    assert len(sent_to(bot, MEMBER, since)) == 1


def test_a_used_more_button_is_refused_as_expired(start_bot: StartBot):
    bot = start_bot()
    first = bot.ask(MEMBER, "بوتين").result
    mark = press(bot, MEMBER, first, texts.MORE_BUTTON)
    assert "(من 6 إلى 10)" in bot.reply(MEMBER, mark, "نتائج أخرى").result["text"]
    edited = bot.api.wait_for("editMessageReplyMarkup", since=mark)
    assert texts.MORE_BUTTON not in buttons(edited.result), "the bot removed «المزيد»"
    # The removed button's data, pressed again (an old client, or replayed by hand).
    again = press(bot, MEMBER, first, texts.MORE_BUTTON)
    refused = bot.api.wait_for("answerCallbackQuery", since=again)
    assert refused.params["text"] == texts.EXPIRED
    assert sent_to(bot, MEMBER, again) == []


# --- defect 6: bidi and control characters in names -----------------------------------------


def test_bidi_controls_in_titles_and_file_names_never_reach_the_chat(
    corpus: Path, start_bot: StartBot
):
    (corpus / "evil\u202etxt.txt").write_text(
        '---\ntitle: "بيان\u2069\u202e القمة الختامي"\n---\n'
        "أعلن المتحدث أن القمة الختامية انتهت بتوقيع ثلاث اتفاقيات للتعاون الزراعي.\n",
        encoding="utf-8",
    )
    bot = start_bot()
    answer = bot.ask(MEMBER, "اتفاقيات التعاون الزراعي").result["text"]
    listing = bot.ask(ADMIN, "/sources").result["text"]
    for text in (answer, listing):
        assert "\u202e" not in text
        for line in text.split("\n"):
            depth = 0
            for char in line:
                depth += char in "\u2066\u2067\u2068"
                depth -= char == "\u2069"
                assert depth >= 0, f"the corpus closed the bot's isolate: {line!r}"
    assert "بيان القمة الختامي" in answer


# --- defect 8: groups ------------------------------------------------------------------------


def test_a_group_that_is_not_allowed_is_left_and_the_adder_told_why(start_bot: StartBot):
    bot = start_bot()
    since = bot.send(bot.api.bot_added(OTHER_GROUP, MEMBER, chat_title="دردشة العائلة"))
    notice = bot.reply(MEMBER, since, "غادرتُها").result["text"]
    assert str(OTHER_GROUP) in notice and "دردشة العائلة" in notice
    assert "access.allowed_chats" in notice
    assert bot.api.left_chats == [OTHER_GROUP]
    # A stranger who adds it: it leaves too, and writes to no one.
    mark = bot.send(bot.api.bot_added(-1001700, STRANGER))
    wait_until(lambda: bot.api.left_chats == [OTHER_GROUP, -1001700], "the bot to leave")
    bot.ask(ADMIN, "/help")
    assert sent_to(bot, STRANGER, mark) == []
    # Added to an allowed group: it stays and answers there.
    mark = bot.send(bot.api.bot_added(GROUP, ADMIN, status="administrator"))
    bot.send(bot.api.group_message(GROUP, STRANGER, f"/ask {QUESTION}"))
    assert "الإمبريالية" in bot.reply(GROUP, mark).result["text"]
    assert bot.api.left_chats == [OTHER_GROUP, -1001700]


def test_an_allowed_user_gets_no_answer_in_a_group_that_is_not_allowed(start_bot: StartBot):
    bot = start_bot()
    for user in (MEMBER, ADMIN):
        since = bot.send(bot.api.group_message(OTHER_GROUP, user, f"/ask {QUESTION}"))
        refusal = bot.reply(OTHER_GROUP, since).result["text"]
        assert "ليست من مجموعاته" in refusal and str(OTHER_GROUP) in refusal
        assert "الإمبريالية" not in refusal
        wait_until(lambda: OTHER_GROUP in bot.api.left_chats, "the bot to leave")
    assert "الإمبريالية" in bot.ask(MEMBER, QUESTION).result["text"], "still fine in private"


# --- tests that would not catch a defect ----------------------------------------------------


def test_allow_everyone_in_the_config_opens_the_bot_to_strangers(start_bot: StartBot):
    bot = start_bot(access={"allow_everyone": True})
    assert "الإمبريالية" in bot.ask(STRANGER, QUESTION).result["text"]
    since = bot.send(bot.api.group_message(OTHER_GROUP, STRANGER, f"/ask {QUESTION}"))
    assert "الإمبريالية" in bot.reply(OTHER_GROUP, since).result["text"]


def test_a_mention_of_another_bot_or_its_command_gets_no_reply(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
):
    bot = start_bot()
    with caplog.at_level(logging.DEBUG, logger="bot.access"):
        since = bot.api.mark()
        ignored = [
            bot.api.push_update(bot.api.group_message(GROUP, MEMBER, f"@other_bot {QUESTION}")),
            bot.api.push_update(bot.api.group_message(GROUP, MEMBER, f"/ask@other_bot {QUESTION}")),
        ]
        addressed = bot.api.group_message(GROUP, MEMBER, f"/ask@coverage_test_bot {QUESTION}")
        bot.api.push_update(addressed)
        reply = bot.reply(GROUP, since)
        for update_id in ignored:
            wait_until(
                lambda u=update_id: f"update {u} in chat {GROUP} is not addressed" in caplog.text,
                f"the gate to drop update {update_id}",
            )
    assert reply.params["reply_parameters"]["message_id"] == addressed["message"]["message_id"]
    assert len(sent_to(bot, GROUP, since)) == 1, "only the question for this bot was answered"


def test_a_stranger_gets_three_refusals_a_minute_however_often_they_knock(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
):
    bot = start_bot()
    with caplog.at_level(logging.DEBUG, logger="bot.access"):
        since = bot.api.mark()
        for _ in range(8):
            bot.api.push_update(bot.api.private_message(STRANGER, QUESTION))
        wait_until(
            lambda: caplog.text.count(f"refused user {STRANGER}") == 8, "eight refusals decided"
        )
        wait_until(lambda: len(sent_to(bot, STRANGER, since)) >= 3, "the refusals sent")
        bot.ask(ADMIN, "/help")
    refusals = sent_to(bot, STRANGER, since)
    assert len(refusals) == 3
    assert all("مقصور على فريق التحرير" in text for text in refusals)


def test_file_names_with_markup_arrive_as_written_in_the_reload_report(
    corpus: Path, start_bot: StartBot
):
    bot = start_bot()
    (corpus / "<b>bold<i> & co.txt").write_bytes(b"\xff\xfe not utf-8 \x81")
    (corpus / "AT&T <code>.txt").write_text("وقع الزعيمان اتفاقية الشراكة.", encoding="utf-8")
    since = bot.send(bot.api.private_message(ADMIN, "/reload"))
    report = bot.reply(ADMIN, since, "اكتملت إعادة التحميل", timeout=30)
    text = visible(report.params)
    assert "AT&T <code>.txt" in text
    assert "<b>bold<i> & co.txt" in text
    assert [e["type"] for e in report.result["entities"]].count("bold") == 1
