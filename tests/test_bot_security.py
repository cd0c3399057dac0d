"""Who gets what: every entry point refuses outsiders, and no user can crowd out the others.

One bot serves the module; the seed corpus's words (كيم, بوتين, …) must never reach
an outsider, whatever door they knock on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

import pytest
from bot_runner import (
    ADMIN,
    GROUP,
    MEMBER,
    OTHER_GROUP,
    STRANGER,
    TOKEN,
    RunningBot,
    buttons,
    copy_seeds,
    visible,
    write_config,
)
from fake_bot_api import FakeBotAPI

from bot import texts
from bot.settings import load_settings

QUESTION = "ماذا قال كيم عن الإمبريالية؟"
CORPUS_WORDS = ("كيم", "بوتين", "الإمبريالية", "فوستوشني", "المصدر")
PER_MINUTE = 5
FLOODER = 2001
COLLEAGUE = 2002


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    folder = tmp_path_factory.mktemp("security")
    with FakeBotAPI(token=TOKEN) as api:
        access = {
            "allowed_users": [MEMBER, FLOODER, COLLEAGUE],
            "questions_per_minute": PER_MINUTE,
        }
        config = write_config(folder, copy_seeds(folder / "corpus"), api, access=access)
        with RunningBot(api, load_settings(config)) as running:
            yield running


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def outsider_saw(bot: RunningBot, since: int, chats: tuple[int, ...]) -> list[str]:
    """Every text the bot showed in `chats` after `since`: messages, edits, alerts."""
    seen = []
    for call in bot.api.calls[since:]:
        if call.method in ("sendMessage", "editMessageText") and call.params["chat_id"] in chats:
            seen.append(visible(call.params))
        if call.method == "answerCallbackQuery" and call.params.get("text"):
            seen.append(call.params["text"])
    return seen


def test_an_outsider_learns_nothing_through_any_entry_point(bot: RunningBot):
    api = bot.api
    answer = bot.ask(MEMBER, QUESTION).result  # a real answer with real buttons
    since = api.mark()
    knocks = [
        api.private_message(STRANGER, QUESTION),
        *(api.private_message(STRANGER, c) for c in ("/start", "/help", "/sources", "/stats")),
        api.private_message(STRANGER, f"/ask {QUESTION}"),
        api.private_message(STRANGER, "/reload"),
        api.private_message(STRANGER, "/nonsense"),
        api.group_message(OTHER_GROUP, STRANGER, f"/ask {QUESTION}"),
        api.group_message(OTHER_GROUP, STRANGER, f"@coverage_test_bot {QUESTION}"),
        # A member's own buttons, pressed by the outsider (as if forwarded), and forged ones.
        *(
            api.callback_query(STRANGER, MEMBER, answer["message_id"], data)
            for data in buttons(answer).values()
        ),
        api.callback_query(STRANGER, STRANGER, 1, "s:1"),
        api.callback_query(STRANGER, STRANGER, 1, "c:" + "A" * 60),
    ]
    for knock in knocks:
        api.push_update(knock)
    presses = sum("callback_query" in knock for knock in knocks)
    bot.ask(ADMIN, "/help")
    # Every press is answered (alert or not), the gate's last act for it.
    wait_until(
        lambda: len([c for c in api.calls[since:] if c.method == "answerCallbackQuery"]) == presses,
        "every button press answered",
    )
    wait_until(lambda: OTHER_GROUP in api.left_chats, "the bot to leave the unknown group")
    seen = outsider_saw(bot, since, (STRANGER, OTHER_GROUP, MEMBER))
    assert seen, "the outsider was told they are not allowed"
    for text in seen:
        assert not any(word in text for word in CORPUS_WORDS), text
        assert "مقصور على فريق التحرير" in text or text == texts.BUTTON_NOT_ALLOWED
    assert not [c for c in api.calls[since:] if c.method.startswith("edit")]
    assert not bot.engine.reloading and bot.alive


def test_edits_channel_posts_and_inline_queries_never_reach_the_bot(bot: RunningBot):
    api = bot.api
    bot.ask(MEMBER, "بوتين")
    since = api.mark()
    api.push_update(api.edited_message(MEMBER, MEMBER, QUESTION))
    api.push_update(api.edited_message(GROUP, MEMBER, f"/ask {QUESTION}"))
    api.push_update(api.channel_post(-1009000, f"/ask {QUESTION}"))
    api.push_update(
        {
            "inline_query": {
                "id": "77",
                "from": {"id": STRANGER, "is_bot": False, "first_name": "x"},
                "query": QUESTION,
                "offset": "",
            }
        }
    )
    bot.ask(ADMIN, "/help")
    # Every update pushed has been delivered and confirmed, or dropped as not requested.
    wait_until(lambda: api.pending_updates == [], "the updates to leave the queue")
    # Only message, callback_query and my_chat_member updates are requested (bot/app.py
    # ALLOWED_UPDATES), so Telegram drops the rest; the access gate stops them too if they
    # ever arrive.
    said = [c for c in api.calls[since:] if c.method not in ("getUpdates", "sendChatAction")]
    assert [(c.method, c.params["chat_id"]) for c in said] == [("sendMessage", ADMIN)]
    assert api.pending_updates == []


def test_a_button_forged_for_another_chat_answers_expired(bot: RunningBot):
    since = bot.send(bot.api.group_message(GROUP, MEMBER, f"/ask {QUESTION}"))
    group_answer = bot.reply(GROUP, since).result
    data = buttons(group_answer)["السياق 1"]
    # The same button data sent from the member's private chat: it names a group answer.
    mark = bot.send(bot.api.callback_query(MEMBER, MEMBER, group_answer["message_id"], data))
    alert = bot.api.wait_for("answerCallbackQuery", since=mark)
    assert alert.params["text"] == texts.EXPIRED
    assert not [c for c in bot.api.calls[mark:] if c.method == "sendMessage"]


def test_stats_show_no_token(bot: RunningBot):
    stats = bot.ask(ADMIN, "/stats").result["text"]
    assert "إحصاءات التشغيل" in stats and TOKEN not in stats
    assert TOKEN.split(":")[1] not in stats


def test_one_user_flooding_questions_cannot_starve_a_colleague(
    bot: RunningBot, caplog: pytest.LogCaptureFixture
):
    api = bot.api
    since = api.mark()
    with caplog.at_level(logging.INFO):
        for _ in range(120):
            api.push_update(api.private_message(FLOODER, QUESTION))
        asked = time.monotonic()
        reply = bot.ask(COLLEAGUE, QUESTION)
        waited = time.monotonic() - asked

        def flooder_got() -> tuple[list[str], list[str]]:
            flooder = [visible(m) for m in bot.messages_since(FLOODER, since)]
            return (
                [t for t in flooder if "الإمبريالية" in t],
                [t for t in flooder if texts.RATE_LIMITED in t],
            )

        wait_until(lambda: api.pending_updates == [], "all 120 questions delivered")
        wait_until(lambda: len(flooder_got()[0]) >= PER_MINUTE, "the questions within the limit")
        wait_until(lambda: flooder_got()[1], "the notice")
    answered, told = flooder_got()
    assert "الإمبريالية" in reply.result["text"]
    assert waited < 3.0, f"the colleague waited {waited:.1f} s behind the flood"
    assert len(answered) == PER_MINUTE, "the limit holds"
    assert len(told) == 1, "one notice, not one reply per refused question"
