"""Feedback end to end: the real bot, the fake Bot API, and the question log on disk.

Asking logs the question; 👍/👎 under the answer record one changeable vote per
asker; a 👎 asks once which sentence answered; /gaps and /stats read the log; the
log and its buttons survive a restart; `feedback export` turns the votes into a
question file `eval` scores. Each check reads the SQLite file the bot wrote.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

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
    write_config,
)
from fake_bot_api import Call, FakeBotAPI

from bot import texts
from bot.settings import ConfigError, load_settings
from bot.storage import Storage

ROOT = Path(__file__).resolve().parent.parent
# The first sentence shown quotes Putin; Kim's words, the answer, come second.
QUESTION = "ماذا قال كيم عن الإمبريالية؟"
KIM_SENTENCE = (
    "وقال كيم لبوتين عبر مترجم: “سندعم دائما قرارات الرئيس بوتين والقيادة الروسية… "
    "وسنكون معا في الحرب ضد الإمبريالية”."
)
LIKED = "كيف وصل كيم جونج أون إلى روسيا؟"
NOTHING = "ما هي أسعار القهوة في البرازيل؟"
ANSWER_HEADER = "أقرب الجمل إلى سؤالك"
T = TypeVar("T")
_BIDI = dict.fromkeys(map(ord, "\u200f\u2066\u2067\u2068\u2069"))


def plain(message: dict) -> str:
    """What a reader sees, without the invisible direction marks."""
    return message["text"].translate(_BIDI)


def db_path(tmp_path: Path) -> Path:
    """Where the bot keeps its log by default: beside the index folder."""
    return tmp_path / "coverage-bot.sqlite3"


def rows(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


def press(bot: RunningBot, user_id: int, message: dict, label: str) -> Call:
    """Press the button `label` of `message` as `user_id`; the bot's answer to the press."""
    return press_data(bot, user_id, message, buttons(message)[label])


def press_data(bot: RunningBot, user_id: int, message: dict, data: str) -> Call:
    update = bot.api.callback_query(user_id, message["chat"]["id"], message["message_id"], data)
    query_id = update["callback_query"]["id"]
    mark = bot.send(update)
    return bot.api.wait_for(
        "answerCallbackQuery", lambda p: p["callback_query_id"] == query_id, since=mark
    )


def current(bot: RunningBot, message: dict) -> dict:
    """The message as it is now (after the bot edited its keyboard)."""
    return bot.api.message(message["chat"]["id"], message["message_id"])


def eventually(check: Callable[[], T], timeout: float = 5.0) -> T:
    """`check()` once it is truthy: a keyboard edit follows the press's answer."""
    deadline = time.monotonic() + timeout
    while not (value := check()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return value


@pytest.fixture
def bot(start_bot: StartBot) -> RunningBot:
    return start_bot()


def test_ask_vote_change_the_vote_and_pick_the_answering_sentence(bot: RunningBot, tmp_path: Path):
    answer = bot.ask(MEMBER, QUESTION).result
    labels = buttons(answer)
    assert list(labels)[-2:] == ["👍", "👎"], "below «السياق» and «المزيد»"
    assert texts.MORE_BUTTON in labels and "السياق 1" in labels
    (answer_id,) = rows(db_path(tmp_path), "SELECT id FROM questions")[0]
    assert labels["👍"] == f"fb:{answer_id}:+" and labels["👎"] == f"fb:{answer_id}:-5"

    up = press(bot, MEMBER, answer, "👍")
    assert up.params["text"] == "شكراً، سُجّل تقييمك 👍"
    assert not up.params.get("show_alert")
    marked = eventually(lambda: "👍 ✓" in buttons(current(bot, answer)))
    assert marked, buttons(current(bot, answer))
    assert rows(db_path(tmp_path), "SELECT value, chosen FROM votes") == [(1, None)]

    mark = bot.api.mark()
    down = press(bot, MEMBER, current(bot, answer), "👎")
    assert down.params["text"] == "غُيّر تقييمك إلى 👎"
    prompt = bot.reply(MEMBER, mark, "أيّ جملة كانت الجواب").result
    assert plain(prompt) == (
        "أيّ جملة كانت الجواب؟ اختر رقمها (من 1 إلى 5)، أو «لا شيء منها» إن لم تُجب أيّ منها."
    )
    assert prompt["reply_to_message"]["message_id"] == answer["message_id"]
    assert list(buttons(prompt)) == ["1", "2", "3", "4", "5", "لا شيء منها"]
    now = buttons(current(bot, answer))
    assert "👎 ✓" in now and "👍" in now and "👍 ✓" not in now
    assert texts.MORE_BUTTON in now, "the other buttons stay"
    assert rows(db_path(tmp_path), "SELECT value, chosen FROM votes") == [(-1, None)]

    pick = press(bot, MEMBER, prompt, "2")
    assert pick.params["text"] == "شكراً، سُجّل أن الجواب في الجملة 2"
    assert eventually(lambda: "2 ✓" in buttons(current(bot, prompt)))
    assert rows(db_path(tmp_path), "SELECT value, chosen FROM votes") == [(-1, 2)]
    (hits,) = rows(db_path(tmp_path), "SELECT hits FROM questions")[0]
    assert json.loads(hits)[1]["text"] == KIM_SENTENCE

    again = press(bot, MEMBER, current(bot, answer), "👎 ✓")
    assert again.params["text"] == "تقييمك 👎 مسجّل"
    time.sleep(0.3)  # a second prompt would have been sent by now
    prompts = [m for m in bot.messages_since(MEMBER, mark) if "أيّ جملة" in m["text"]]
    assert len(prompts) == 1, "asked once per answer"
    assert rows(db_path(tmp_path), "SELECT count(*) FROM votes") == [(1,)]


def test_more_keeps_the_vote_buttons_and_is_not_logged_again(bot: RunningBot, tmp_path: Path):
    answer = bot.ask(MEMBER, QUESTION).result
    mark = bot.api.mark()
    press(bot, MEMBER, answer, texts.MORE_BUTTON)
    bot.reply(MEMBER, mark, "نتائج أخرى")
    kept = eventually(lambda: texts.MORE_BUTTON not in buttons(current(bot, answer)))
    assert kept
    assert {"👍", "👎", "السياق 1"} <= set(buttons(current(bot, answer)))
    assert rows(db_path(tmp_path), "SELECT count(*) FROM questions") == [(1,)]


def test_forged_and_replayed_votes_are_refused_quietly(bot: RunningBot, tmp_path: Path):
    since = bot.send(bot.api.group_message(GROUP, MEMBER, f"/ask {QUESTION}"))
    answer = bot.reply(GROUP, since).result
    (answer_id,) = rows(db_path(tmp_path), "SELECT id FROM questions")[0]
    mark = bot.api.mark()
    # Another member of the group presses the asker's button.
    other = press(bot, STRANGER, answer, "👎")
    assert other.params["text"] == "يقيّم الإجابةَ من طرح السؤال فقط."
    # Data the bot never made: an unknown answer, a sentence not shown, nonsense.
    unknown = press_data(bot, MEMBER, answer, "fb:999999:+")
    not_shown = press_data(bot, MEMBER, answer, f"fb:{answer_id}:c9")
    nonsense = press_data(bot, MEMBER, answer, f"fb:{answer_id}:x")
    for refused in (unknown, not_shown, nonsense):
        assert refused.params["text"] == "لم يعد تقييم هذه الإجابة ممكناً."
        assert not refused.params.get("show_alert")
    # The entry expires (retention), then its button is pressed.
    with Storage(db_path(tmp_path)) as storage:
        assert storage.prune(now=time.time() + 91 * 86_400) == 1
    expired = press(bot, MEMBER, answer, "👍")
    assert expired.params["text"] == "لم يعد تقييم هذه الإجابة ممكناً."
    assert rows(db_path(tmp_path), "SELECT count(*) FROM votes") == [(0,)]
    sent = [
        c for c in bot.api.calls[mark:] if c.method in ("sendMessage", "editMessageReplyMarkup")
    ]
    assert sent == [], "refusals are notices on the press only"


def test_only_allowed_askers_are_logged_and_private_ids_are_not_kept(
    bot: RunningBot, tmp_path: Path
):
    since = bot.send(bot.api.private_message(STRANGER, "سؤال من شخص غريب عن القمة"))
    assert "مقصور على فريق التحرير" in bot.reply(STRANGER, since).result["text"]
    since = bot.send(bot.api.group_message(OTHER_GROUP, STRANGER, f"/ask {QUESTION} من الخارج"))
    bot.api.wait_for("leaveChat", lambda p: p["chat_id"] == OTHER_GROUP, since=since)
    bot.ask(MEMBER, LIKED)
    since = bot.send(bot.api.group_message(GROUP, MEMBER, f"/ask {QUESTION}"))
    bot.reply(GROUP, since)
    logged = rows(db_path(tmp_path), "SELECT chat_type, chat_id, user_id, question FROM questions")
    assert logged == [("private", None, None, LIKED), ("supergroup", GROUP, None, QUESTION)]


def test_with_log_user_ids_the_asker_and_the_private_chat_are_kept(
    start_bot: StartBot, tmp_path: Path
):
    bot = start_bot(storage={"log_user_ids": True})
    bot.ask(MEMBER, LIKED)
    logged = rows(db_path(tmp_path), "SELECT chat_type, chat_id, user_id FROM questions")
    assert logged == [("private", MEMBER, MEMBER)]


def test_gaps_and_stats_show_what_the_log_holds(bot: RunningBot, tmp_path: Path):
    for _ in range(2):
        assert texts.NO_HITS.split("\n")[0] in bot.ask(MEMBER, NOTHING).result["text"]
        assert "👍" not in buttons(bot.ask(MEMBER, NOTHING).result), "no sentence to rate"
    disliked = bot.ask(MEMBER, QUESTION).result
    press(bot, MEMBER, disliked, "👎")
    press(bot, MEMBER, bot.ask(MEMBER, LIKED, contains=ANSWER_HEADER).result, "👍")

    gaps = plain(bot.ask(ADMIN, "/gaps").result)
    lines = gaps.split("\n")
    assert lines[0] == (
        "فجوات التغطية (آخر 30 يوماً): أكثر الأسئلة تكراراً بلا نتائج أو مع 👎، "
        "مجمّعة بكلماتها بعد التحليل:"
    )
    assert lines[1] == f"1. {NOTHING} — 4 مرة (بلا نتائج: 4، 👎: 0)"
    assert lines[2].startswith("   الكلمات: ") and "برازيل" in lines[2]
    assert lines[3] == f"2. {QUESTION} — 1 مرة (بلا نتائج: 0، 👎: 1)"
    assert len(lines) == 5, "the 👍 question is no gap"

    stats = plain(bot.ask(ADMIN, "/stats").result)
    assert "سجل الأسئلة (آخر 7 أيام):" in stats
    assert time.strftime("%m-%d", time.gmtime()) + ": 6" in stats
    assert "الأسئلة: 6، بلا نتائج: 4 (67%)" in stats
    assert "التقييمات: 👍 1 · 👎 1" in stats
    assert "زمن الإجابة: الوسيط " in stats and "p95 " in stats
    member = bot.ask(MEMBER, "/gaps").result
    assert plain(member) == texts.ADMIN_ONLY


def test_the_log_and_its_buttons_survive_a_restart(api: FakeBotAPI, corpus: Path, tmp_path: Path):
    config = write_config(tmp_path, corpus, api)
    with RunningBot.from_config(api, config) as first:
        answer = first.ask(MEMBER, QUESTION).result
        press(first, MEMBER, answer, "👎")
    with RunningBot.from_config(api, config) as second:
        changed = press(second, MEMBER, current(second, answer), "👎 ✓")
        assert changed.params["text"] == "تقييمك 👎 مسجّل", "the vote was kept"
        changed = press(second, MEMBER, current(second, answer), "👍")
        assert changed.params["text"] == "غُيّر تقييمك إلى 👍"
        stats = plain(second.ask(ADMIN, "/stats").result)
    assert "الأسئلة: 1، بلا نتائج: 0 (0%)" in stats
    assert "التقييمات: 👍 1 · 👎 0" in stats
    assert rows(db_path(tmp_path), "SELECT question FROM questions") == [(QUESTION,)]


def test_fifty_users_voting_at_once_lose_no_vote(start_bot: StartBot, tmp_path: Path):
    # Private chats: in one group Telegram allows 20 messages a minute (bot/delivery.py).
    bot = start_bot(access={"allow_everyone": True})
    users = range(5000, 5050)
    answers = {user: bot.ask(user, QUESTION, contains=ANSWER_HEADER).result for user in users}
    updates = [
        bot.api.callback_query(
            user, user, answers[user]["message_id"], buttons(answers[user])["👍"]
        )
        for user in users
    ]
    mark = bot.api.mark()
    for update in updates:  # all queued before the bot takes any: handled together
        bot.api.push_update(update)
    ids = {u["callback_query"]["id"] for u in updates}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        answered = [c for c in bot.api.calls[mark:] if c.method == "answerCallbackQuery"]
        if {c.params["callback_query_id"] for c in answered} >= ids:
            break
        time.sleep(0.05)
    assert {c.params["text"] for c in answered} == {"شكراً، سُجّل تقييمك 👍"}
    assert len(answered) == 50
    assert rows(db_path(tmp_path), "SELECT count(*), sum(value) FROM votes") == [(50, 50)]


def test_export_then_eval_scores_the_real_questions(bot: RunningBot, tmp_path: Path):
    answer = bot.ask(MEMBER, QUESTION).result
    press(bot, MEMBER, answer, "👎")
    prompt = bot.api.wait_for("sendMessage", lambda p: "أيّ جملة" in p["text"], since=0).result
    press(bot, MEMBER, prompt, "2")
    press(bot, MEMBER, bot.ask(MEMBER, LIKED, contains=ANSWER_HEADER).result, "👍")
    config = tmp_path / "config.yaml"
    out = tmp_path / "real.jsonl"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", *args, "--config", str(config)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_BOT_")},
            timeout=120,
        )

    exported = cli("feedback", "export", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout == (
        f"{out}: 2 questions (2 answerable, 0 unanswerable) from 2 rated in {db_path(tmp_path)}\n"
    )
    first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert (first["question"], first["answers"]) == (QUESTION, [KIM_SENTENCE])
    scored = cli("eval", "--questions", str(out), "--json")
    assert scored.returncode == 0, scored.stderr
    metrics = json.loads(scored.stdout)
    assert metrics["questions"] == 2
    assert (metrics["recall@1"], metrics["recall@5"], metrics["mrr@10"]) == (0.5, 1.0, 0.75)


# --- faults the bot meets while serving ----------------------------------------------------


def storage_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("bot.storage") and r.levelno >= logging.WARNING
    ]


def test_a_log_replaced_by_garbage_while_serving_only_costs_the_votes(
    bot: RunningBot, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    path = db_path(tmp_path)
    assert "👍" in buttons(bot.ask(MEMBER, QUESTION).result)
    with caplog.at_level(logging.INFO, logger="bot.storage"):
        for file in tmp_path.glob("coverage-bot.sqlite3*"):  # with its -wal and -shm
            file.unlink()
        path.write_bytes(b"\x00 not a database, a disk gone bad " * 300)
        for _ in range(3):
            answer = bot.ask(MEMBER, QUESTION).result
            assert "الإمبريالية" in answer["text"], "still answered"
            assert "👍" not in buttons(answer) and "السياق 1" in buttons(answer)
        stats = plain(bot.ask(ADMIN, "/stats").result)
        gaps = plain(bot.ask(ADMIN, "/gaps").result)
    assert "سجل الأسئلة غير متاح: file is not a database" in stats
    assert "مدة التشغيل:" in stats, "the rest of /stats is there"
    assert gaps == "سجل الأسئلة غير متاح: file is not a database"
    assert storage_warnings(caplog) == [
        f"storage unavailable: {path}: file is not a database; questions are still "
        "answered, not logged; retrying every 30 s"
    ]


def test_a_log_locked_by_another_process_does_not_hold_up_answers(
    bot: RunningBot, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    assert "👍" in buttons(bot.ask(MEMBER, QUESTION).result)
    other = sqlite3.connect(db_path(tmp_path), isolation_level=None)
    try:
        with caplog.at_level(logging.INFO, logger="bot"):
            other.execute("BEGIN EXCLUSIVE")  # another writer that does not let go
            answer = bot.ask(MEMBER, QUESTION).result  # within bot.ask's 10 s
            assert "الإمبريالية" in answer["text"] and "👍" not in buttons(answer)
            assert "question log slower than 1 s" in caplog.text
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_a_garbage_log_at_start_up_does_not_stop_the_bot(
    start_bot: StartBot, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    db_path(tmp_path).write_bytes(b"garbage " * 1000)
    with caplog.at_level(logging.INFO, logger="bot.storage"):
        bot = start_bot()
        answer = bot.ask(MEMBER, QUESTION).result
        assert "الإمبريالية" in answer["text"] and "👍" not in buttons(answer)
        stats = plain(bot.ask(ADMIN, "/stats").result)
    assert "سجل الأسئلة غير متاح: file is not a database" in stats
    assert len(storage_warnings(caplog)) == 1


def test_storage_settings_and_their_environment_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("COVERAGE_BOT_DB", raising=False)
    config = tmp_path / "config.yaml"
    config.write_text("corpus:\n  path: docs\n  index_dir: cache/index\n", encoding="utf-8")
    default = load_settings(config).storage
    assert (default.path, default.keep_days, default.log_user_ids) == (
        tmp_path / "cache" / "coverage-bot.sqlite3",
        90,
        False,
    )
    config.write_text(
        "corpus:\n  path: docs\nstorage:\n  path: log.sqlite3\n  keep_days: 30\n"
        "  log_user_ids: true\n",
        encoding="utf-8",
    )
    chosen = load_settings(config)
    assert (chosen.storage.path, chosen.storage.keep_days, chosen.storage.log_user_ids) == (
        tmp_path / "log.sqlite3",
        30,
        True,
    )
    monkeypatch.setenv("COVERAGE_BOT_DB", "/data/other.sqlite3")
    overridden = load_settings(config)
    assert overridden.storage.path == Path("/data/other.sqlite3")
    assert overridden.overrides == ("storage.path from COVERAGE_BOT_DB",)
    config.write_text("corpus:\n  path: docs\nstorage:\n  keep_days: 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"key 'storage\.keep_days' must be a whole number"):
        load_settings(config)
