"""The bot end to end: the real Application against a Bot API server on 127.0.0.1.

Each test starts the fake Bot API (real HTTP, real long polling), runs the bot on a
temporary copy of the seed corpus with a temporary index folder, pushes Telegram
updates as Telegram would, and reads what the bot sent back.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from pathlib import Path

import pytest
from bot_runner import (
    ADMIN,
    GROUP,
    MEMBER,
    OTHER_GROUP,
    STRANGER,
    TOKEN,
    RunningBot,
    StartBot,
    buttons,
    paragraph_directions,
    write_config,
)
from fake_bot_api import FakeBotAPI, utf16_len

from bot import handlers, texts
from bot.cli import main as cli_main

QUESTION = "ماذا قال كيم عن الإمبريالية؟"
NEW_DOCUMENT = (
    "افتتح المزارعون مهرجان الزيتون السنوي في مدينة جرش بمشاركة واسعة من القرى المجاورة.\n"
    "وعرضت التعاونيات الزراعية زيت الزيتون البكر وصابون الغار المصنوع يدوياً.\n"
)
NEW_QUESTION = "متى افتتح مهرجان الزيتون في جرش؟"
NO_HITS_START = texts.NO_HITS.split("\n")[0]


def shown(message: dict) -> str:
    """A message's text without the invisible right-to-left mark that opens each line."""
    return message["text"].lstrip("\u200f")


@pytest.fixture
def bot(start_bot: StartBot) -> RunningBot:
    return start_bot()


# --- answering ----------------------------------------------------------------------------


def test_a_private_question_gets_cited_sentences_without_a_typing_action(bot: RunningBot):
    """A question answered within TYPING_AFTER (these take milliseconds) spends no send on
    "typing…": Telegram allows a bot about 30 sends a second."""
    since = bot.api.mark()
    reply = bot.ask(MEMBER, QUESTION)
    text = reply.result["text"]
    assert "الإمبريالية" in text
    assert "المصدر:" in text
    assert "قمة فوستوشني: مصافحة الأربعين ثانية ووفد كيم وأسئلته عن الصواريخ" in text
    bold = [e for e in reply.result["entities"] if e["type"] == "bold"]
    assert len(bold) > 1, "the header and the matched words are bold"
    assert [c for c in bot.api.calls_of("sendChatAction") if c.index > since] == []
    labels = buttons(reply.result)
    assert texts.MORE_BUTTON in labels and "السياق 1" in labels


def test_a_question_not_answered_at_once_shows_typing_first(
    bot: RunningBot, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(handlers, "TYPING_AFTER", 0.0)  # every search is "slow"
    since = bot.api.mark()
    reply = bot.ask(MEMBER, QUESTION)
    assert "الإمبريالية" in reply.result["text"]
    typing = bot.api.calls_of("sendChatAction")[-1]
    assert typing.params["action"] == "typing" and typing.index < reply.index
    assert typing.index > since


def test_a_question_with_no_relevant_sentence_gets_a_short_hint(bot: RunningBot):
    reply = bot.ask(MEMBER, "ما هي أسعار القهوة في البرازيل؟")
    assert NO_HITS_START in reply.result["text"]
    assert "جرّب صياغة أخرى" in reply.result["text"]
    assert "المصدر" not in reply.result["text"]


def test_start_shows_help_with_examples_and_admin_commands_only_to_admins(bot: RunningBot):
    admin_help = bot.ask(ADMIN, "/start").result["text"]
    member_help = bot.ask(MEMBER, "/help").result["text"]
    for help_text in (admin_help, member_help):
        assert "ماذا قال كيم عن الإمبريالية؟" in help_text
        assert "أين عقدت القمة بين كيم وبوتين؟" in help_text
    assert "/reload" in admin_help and "/stats" in admin_help and "/gaps" in admin_help
    assert "/reload" not in member_help
    everyone = [c["command"] for c in bot.api.commands()]
    admin_menu = [c["command"] for c in bot.api.commands({"type": "chat", "chat_id": ADMIN})]
    assert everyone == ["start", "help", "ask", "sources", "timeline", "who"]
    assert admin_menu == [*everyone, "reload", "stats", "gaps", "add", "remove", "feeds"]


# --- access -------------------------------------------------------------------------------


def test_an_unknown_user_is_refused_once_logged_and_told_nothing(
    bot: RunningBot, caplog: pytest.LogCaptureFixture
):
    with caplog.at_level(logging.WARNING, logger="bot.access"):
        since = bot.send(bot.api.private_message(STRANGER, QUESTION))
        refusal = bot.reply(STRANGER, since)
        # A later allowed question is answered: the refusal was the only reply.
        bot.ask(MEMBER, QUESTION)
    text = refusal.result["text"]
    assert "مقصور على فريق التحرير" in text and str(STRANGER) in text
    assert "الإمبريالية" not in text
    assert len(bot.messages_since(STRANGER, since)) == 1
    assert f"refused user {STRANGER}" in caplog.text


def test_a_button_pressed_by_an_unknown_user_reveals_nothing(bot: RunningBot):
    since = bot.send(bot.api.group_message(GROUP, MEMBER, f"/ask {QUESTION}"))
    answer = bot.reply(GROUP, since).result
    mark = bot.send(
        bot.api.callback_query(
            STRANGER, OTHER_GROUP, answer["message_id"], buttons(answer)["السياق 1"]
        )
    )
    refused = bot.api.wait_for("answerCallbackQuery", since=mark)
    assert refused.params["text"] == texts.BUTTON_NOT_ALLOWED
    # Answering the press is the gate's last act for this update: nothing can follow it.
    assert not [c for c in bot.api.calls[mark:] if c.method == "sendMessage"]


def test_a_group_ask_command_is_answered_for_members_of_an_allowed_group(bot: RunningBot):
    since = bot.send(bot.api.group_message(GROUP, STRANGER, f"/ask {QUESTION}"))
    reply = bot.reply(GROUP, since)
    assert "الإمبريالية" in reply.result["text"]
    assert reply.params["reply_parameters"]["message_id"], (
        "in a group the answer quotes the question"
    )


def test_in_groups_the_bot_answers_mentions_and_replies_and_ignores_chatter(bot: RunningBot):
    since = bot.send(bot.api.group_message(GROUP, STRANGER, "صباح الخير يا زملاء، من يغطي القمة؟"))
    bot.send(
        bot.api.group_message(GROUP, STRANGER, "@coverage_test_bot أين عقدت القمة بين كيم وبوتين؟")
    )
    first = bot.reply(GROUP, since)
    assert "فوستو" in first.result["text"]
    mark = bot.send(bot.api.group_message(GROUP, STRANGER, QUESTION, reply_to_bot=True))
    second = bot.reply(GROUP, mark)
    assert "الإمبريالية" in second.result["text"]
    assert len(bot.messages_since(GROUP, since)) == 2, "the chatter got no reply"


def test_a_group_that_is_not_allowed_is_refused(bot: RunningBot):
    since = bot.send(bot.api.group_message(OTHER_GROUP, STRANGER, f"/ask {QUESTION}"))
    assert "مقصور على فريق التحرير" in bot.reply(OTHER_GROUP, since).result["text"]


def test_questions_beyond_the_per_minute_limit_are_refused(start_bot: StartBot):
    bot = start_bot(access={"questions_per_minute": 2})
    for _ in range(2):
        assert "الإمبريالية" in bot.ask(MEMBER, QUESTION).result["text"]
    assert shown(bot.ask(MEMBER, QUESTION).result) == texts.RATE_LIMITED
    assert "الإمبريالية" in bot.ask(ADMIN, QUESTION).result["text"], "admins are not limited"


# --- admin reload ---------------------------------------------------------------------------


def reload_reply(bot: RunningBot, user: int, contains: str) -> str:
    since = bot.send(bot.api.private_message(user, "/reload"))
    return bot.reply(user, since, contains, timeout=30).result["text"]


def test_reload_by_an_admin_makes_a_new_file_answerable(bot: RunningBot, corpus: Path):
    assert NO_HITS_START in bot.ask(MEMBER, NEW_QUESTION).result["text"]
    (corpus / "005_olive_festival.txt").write_text(NEW_DOCUMENT, encoding="utf-8")
    (corpus / "002_092c1b17ba5817fe.txt").unlink()
    summary = reload_reply(bot, ADMIN, "اكتملت إعادة التحميل")
    assert "الوثائق: من 5 إلى 5" in summary
    assert "أُضيفت (1):" in summary and "005_olive_festival.txt" in summary
    assert "حُذفت (1):" in summary and "002_092c1b17ba5817fe.txt" in summary
    assert "ملفات تُجوهلت" in summary, "sources.yaml names the removed file"
    assert "مهرجان الزيتون" in bot.ask(MEMBER, NEW_QUESTION).result["text"]


def test_reload_and_stats_by_a_non_admin_are_refused(bot: RunningBot, corpus: Path):
    (corpus / "005_olive_festival.txt").write_text(NEW_DOCUMENT, encoding="utf-8")
    assert reload_reply(bot, MEMBER, "").lstrip("\u200f") == texts.ADMIN_ONLY
    assert shown(bot.ask(MEMBER, "/stats").result) == texts.ADMIN_ONLY
    assert NO_HITS_START in bot.ask(MEMBER, NEW_QUESTION).result["text"]


@pytest.mark.parametrize("breakage", ["folder gone", "every file bad"])
def test_a_failed_reload_keeps_the_old_answers(bot: RunningBot, corpus: Path, breakage: str):
    if breakage == "folder gone":
        shutil.move(corpus, corpus.with_name("moved-away"))
        reason = "does not exist"
    else:
        for path in corpus.glob("*.txt"):
            path.write_bytes(b"\xff\xfe\xfa not utf-8 \x81")
        reason = "no usable document"
    failure = reload_reply(bot, ADMIN, "فشلت إعادة التحميل")
    assert reason in failure
    assert "ما زال الفهرس السابق في الخدمة (5 وثيقة، 98 جملة)" in failure
    assert "الإمبريالية" in bot.ask(MEMBER, QUESTION).result["text"]


def test_questions_during_a_slow_reload_are_answered_from_the_old_index(
    bot: RunningBot, corpus: Path
):
    # The reload is paused at its first indexed document: a slow disk or a huge corpus.
    gate = bot.hold_reloads()
    (corpus / "005_olive_festival.txt").write_text(NEW_DOCUMENT, encoding="utf-8")
    try:
        since = bot.send(bot.api.private_message(ADMIN, "/reload"))
        bot.reply(ADMIN, since, "بدأت إعادة تحميل")
        assert gate.reached.wait(timeout=10)
        assert "الإمبريالية" in bot.ask(MEMBER, QUESTION).result["text"]
        assert NO_HITS_START in bot.ask(MEMBER, NEW_QUESTION).result["text"]
        assert reload_reply(bot, ADMIN, "جارية").lstrip("\u200f") == texts.RELOAD_RUNNING
        assert bot.engine.reloading, "the answers came while the reload was still indexing"
    finally:
        gate.release()
    summary = bot.reply(ADMIN, since, "اكتملت إعادة التحميل", timeout=30).result["text"]
    assert "005_olive_festival.txt" in summary
    assert "مهرجان الزيتون" in bot.ask(MEMBER, NEW_QUESTION).result["text"]


def test_stats_report_size_uptime_and_answers_to_an_admin(bot: RunningBot):
    bot.ask(MEMBER, QUESTION)
    # The answer is counted once its handler finishes, just after the reply is sent.
    deadline = time.monotonic() + 5
    stats = bot.ask(ADMIN, "/stats").result["text"]
    while "أسئلة أُجيبت: 1" not in stats and time.monotonic() < deadline:
        time.sleep(0.05)
        stats = bot.ask(ADMIN, "/stats").result["text"]
    assert "5 وثيقة، 98 جملة" in stats
    assert "أسئلة أُجيبت: 1" in stats
    assert "مللي ثانية" in stats
    assert "مدة التشغيل:" in stats


# --- replies: escaping, direction, length ---------------------------------------------------


def test_markup_characters_in_the_corpus_arrive_intact(bot: RunningBot, corpus: Path):
    (corpus / "005_markup.txt").write_text(
        "أكد المحرر أن الوسم <b> ظهر حرفياً في عنوان تقرير AT&T عن القمة.\n", encoding="utf-8"
    )
    reload_reply(bot, ADMIN, "اكتملت إعادة التحميل")
    text = bot.ask(MEMBER, "الوسم في عنوان تقرير AT&T").result["text"]
    assert "الوسم <b> ظهر حرفياً في عنوان تقرير AT&T عن القمة." in text


def test_a_cited_sentence_starting_with_a_latin_word_reads_right_to_left(
    bot: RunningBot, corpus: Path
):
    sentence = "KCNA: وقع الزعيمان معاهدة الشراكة الاستراتيجية الشاملة في بيونغ يانغ."
    (corpus / "005_kcna.txt").write_text(sentence + "\n", encoding="utf-8")
    reload_reply(bot, ADMIN, "اكتملت إعادة التحميل")
    text = bot.ask(MEMBER, "معاهدة الشراكة الاستراتيجية").result["text"]
    assert sentence in text
    lines = [line for line in text.split("\n") if line.strip()]
    for understands_isolates in (True, False):
        assert set(paragraph_directions("\n".join(lines), understands_isolates)) == {"R"}


def test_a_long_reply_is_split_into_messages_under_telegrams_limit(start_bot: StartBot):
    bot = start_bot(retrieval={"top_k": 50})
    since = bot.send(bot.api.private_message(MEMBER, "بوتين"))
    last = bot.api.wait_for(
        "sendMessage", lambda p: bool(p.get("reply_markup")), since=since, timeout=15
    )
    messages = bot.messages_since(MEMBER, since)
    assert len(messages) >= 2
    assert messages[-1]["message_id"] == last.result["message_id"], "buttons under the last one"
    numbers = []
    for message in messages:
        assert utf16_len(message["text"]) <= 4096
        numbers += [
            int(line.split(".")[0].lstrip("\u200f"))
            for line in message["text"].split("\n")
            if line.lstrip("\u200f")[:1].isdigit()
        ]
    assert numbers == list(range(1, 51))
    assert all(m["text"].lstrip("\u200f").startswith("(تابع)") for m in messages[1:])


# --- buttons --------------------------------------------------------------------------------


def press(bot: RunningBot, user: int, message: dict, label: str) -> int:
    data = buttons(message)[label]
    return bot.send(
        bot.api.callback_query(user, message["chat"]["id"], message["message_id"], data)
    )


def test_the_more_button_sends_the_next_results(bot: RunningBot):
    first = bot.ask(MEMBER, "بوتين").result
    mark = press(bot, MEMBER, first, texts.MORE_BUTTON)
    more = bot.reply(MEMBER, mark, "نتائج أخرى").result
    assert "(من 6 إلى 10)" in more["text"]
    assert "\u200f6. " in more["text"] and "\u200f1. " not in more["text"]
    assert not bot.api.wait_for("answerCallbackQuery", since=mark).params.get("text")
    assert texts.MORE_BUTTON not in buttons(bot.api.message(MEMBER, first["message_id"])), (
        "the pressed 'more' is removed so it cannot send the same page twice"
    )
    assert "السياق 1" in buttons(bot.api.message(MEMBER, first["message_id"]))
    assert texts.MORE_BUTTON in buttons(more)


def test_the_context_button_shows_the_sentences_around_a_cited_one(bot: RunningBot):
    first = bot.ask(MEMBER, "كم ثانية استمرت المصافحة بين كيم وبوتين؟").result
    mark = press(bot, MEMBER, first, "السياق 1")
    context = bot.reply(MEMBER, mark, "سياق الجملة 1").result
    cited = first["text"].split("\n")[2].split(". ", 1)[1].strip("\u2067\u2069")
    assert cited in context["text"]
    bold = [
        context["text"][e["offset"] : e["offset"] + e["length"]]
        for e in context["entities"]
        if e["type"] == "bold"
    ]
    assert cited in bold
    assert len([line for line in context["text"].split("\n") if line.strip()]) >= 3


def test_buttons_of_an_answer_expire_after_a_reload_that_changed_the_corpus(
    bot: RunningBot, corpus: Path
):
    first = bot.ask(MEMBER, "بوتين").result
    (corpus / "005_olive_festival.txt").write_text(NEW_DOCUMENT, encoding="utf-8")
    reload_reply(bot, ADMIN, "اكتملت إعادة التحميل")
    for label in (texts.MORE_BUTTON, "السياق 2"):
        mark = press(bot, MEMBER, first, label)
        expired = bot.api.wait_for("answerCallbackQuery", since=mark)
        assert expired.params["text"] == texts.EXPIRED
        assert expired.params["show_alert"] is True


def test_made_up_button_data_is_answered_as_expired(bot: RunningBot):
    first = bot.ask(MEMBER, "بوتين").result
    for data in ("m:notakey1", "c:notakey1:1", "hello", "m:" + "x" * 60):
        mark = bot.send(bot.api.callback_query(MEMBER, MEMBER, first["message_id"], data))
        answer = bot.api.wait_for("answerCallbackQuery", since=mark)
        assert answer.params["text"] == texts.EXPIRED
    assert bot.alive


def test_sources_are_listed_with_sentence_counts_and_pages(bot: RunningBot, corpus: Path):
    for n in range(7):
        (corpus / f"1{n:02d}_extra.txt").write_text(
            f"خبر إضافي رقم {n} عن التعاون بين البلدين.\n", encoding="utf-8"
        )
    reload_reply(bot, ADMIN, "اكتملت إعادة التحميل")
    listing = bot.ask(MEMBER, "/sources").result
    assert "12 وثيقة" in listing["text"] and "صفحة 1 من 2" in listing["text"]
    assert "كيم يتعهد بالدعم الكامل لبوتين في قمة قاعدة فوستوشني" in listing["text"]
    mark = press(bot, MEMBER, listing, texts.NEXT_BUTTON)
    bot.api.wait_for("editMessageText", since=mark)
    page_two = bot.api.message(MEMBER, listing["message_id"])
    assert "صفحة 2 من 2" in page_two["text"] and "106_extra.txt" in page_two["text"]
    assert texts.PREVIOUS_BUTTON in buttons(page_two)


# --- robustness -----------------------------------------------------------------------------


def test_a_rejected_send_is_logged_apologised_for_and_survived(
    bot: RunningBot, caplog: pytest.LogCaptureFixture
):
    # A 400 describes the request, so it is not retried (transient failures are:
    # tests/test_bot_faults.py); the handler's error path runs instead.
    bot.api.fail("sendMessage", status=400, description="Bad Request: something odd")
    with caplog.at_level(logging.ERROR, logger="bot.handlers"):
        since = bot.send(bot.api.private_message(MEMBER, QUESTION))
        apology = bot.reply(MEMBER, since)
    assert shown(apology.result) == texts.APOLOGY
    assert "error while handling update" in caplog.text
    assert "الإمبريالية" in bot.ask(MEMBER, QUESTION).result["text"]


# Retries through 5xx, 429, malformed answers, closed connections and timeouts:
# tests/test_bot_faults.py.


def test_the_token_never_reaches_the_logs(start_bot: StartBot, caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("httpx").setLevel(logging.DEBUG)
        try:
            bot = start_bot()
            bot.api.fail("sendMessage", status=500)
            bot.ask(MEMBER, QUESTION)
            bot.ask(MEMBER, QUESTION, "الإمبريالية")
        finally:
            logging.getLogger("httpx").setLevel(logging.WARNING)
    assert "/getUpdates" in caplog.text, "request URLs were logged"
    assert TOKEN not in caplog.text


def test_health_follows_the_heartbeat_of_the_running_bot(
    api: FakeBotAPI, corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    beat = tmp_path / "run" / "heartbeat"
    config = write_config(tmp_path, corpus, api, telegram={"heartbeat_file": str(beat)})
    health = ["health", "--config", str(config)]
    assert cli_main([*health, "--max-age", "5"]) == 1
    assert "does not exist" in capsys.readouterr().err
    with RunningBot.from_config(api, config, heartbeat_interval=0.05):
        deadline = time.monotonic() + 5
        while not beat.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert cli_main([*health, "--max-age", "5"]) == 0
        assert "healthy" in capsys.readouterr().out
    time.sleep(0.3)
    assert cli_main([*health, "--max-age", "0.2"]) == 1
    assert "stale heartbeat" in capsys.readouterr().err


def test_the_bot_keeps_serving_while_many_questions_arrive_at_once(bot: RunningBot):
    users = [MEMBER, ADMIN]
    since = bot.api.mark()
    for i in range(12):
        bot.api.push_update(bot.api.private_message(users[i % 2], QUESTION))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        answered = [c for c in bot.api.calls[since:] if c.method == "sendMessage" and c.ok]
        if len(answered) >= 12:
            break
        time.sleep(0.05)
    assert len(answered) == 12
    assert all("الإمبريالية" in c.result["text"] for c in answered)
    assert threading.active_count() < 60
