"""A flaky Bot API: the bot retries, loses no question, duplicates only when it must, never spins.

One bot serves the whole module (short client timeouts so "slower than the client
waits" takes seconds, not minutes). Each case arms a fault on getUpdates and one on
sendMessage, asks one question, and counts the answers that reached the chat.

Delivery is at least once (bot/delivery.py): a failure *before* the Bot API acted is
retried into exactly one answer; a failure *after* it acted (stored, then the answer
was lost) cannot be told apart, so the retry makes a second copy.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from bot_runner import ADMIN, MEMBER, TOKEN, RunningBot, copy_seeds, write_config
from fake_bot_api import FakeBotAPI

from bot.app import Timeouts
from bot.settings import load_settings

QUESTION = "ماذا قال كيم عن الإمبريالية؟"
ANSWERED = "الإمبريالية"
# getUpdates gives up after poll + poll_read = 1.5 s, other calls after 1 s.
SHORT = Timeouts(connect=2, read=1.0, write=2, pool=2, poll=1, poll_read=0.5)
SLOWER_THAN_POLL = 2.0
SLOWER_THAN_SEND = 1.5


@pytest.fixture(scope="module")
def api() -> Iterator[FakeBotAPI]:
    with FakeBotAPI(token=TOKEN) as fake:
        yield fake


@pytest.fixture(scope="module")
def bot(api: FakeBotAPI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    folder = tmp_path_factory.mktemp("faults")
    config = write_config(folder, copy_seeds(folder / "corpus"), api)
    with RunningBot(api, load_settings(config), timeouts=SHORT) as running:
        yield running


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Everything logged at DEBUG, request URLs included; the token must not be in it."""
    with caplog.at_level(logging.DEBUG):
        yield caplog
    assert TOKEN not in caplog.text


def answers(api: FakeBotAPI, chat_id: int, since: int) -> list[str]:
    """Texts of the answers that reached `chat_id` after mark `since`."""
    return [
        c.result["text"]
        for c in api.calls[since:]
        if c.method == "sendMessage" and c.result and c.result["chat"]["id"] == chat_id
    ]


def ask_through_faults(bot: RunningBot, get_updates: dict[str, Any], send: dict[str, Any]) -> int:
    """Arm one fault on each method, then ask so that the very next poll carries the question.

    The poll in flight when a fault is armed is not affected, so the question is pushed
    just after that poll ends: the next one, which takes the fault, is the one to carry it.
    """
    api = bot.api
    api.clear_faults()
    since = api.mark()
    api.fail("getUpdates", **get_updates)
    api.fail("sendMessage", **send)
    api.wait_for("getUpdates", since=since, timeout=10)
    api.push_update(api.private_message(MEMBER, QUESTION))
    return since


def settle(api: FakeBotAPI, chat_id: int, since: int, seconds: float) -> list[str]:
    """Wait for a first answer, then `seconds` more for late copies, and return all."""
    api.wait_for("sendMessage", lambda p: p["chat_id"] == chat_id, since=since, timeout=20)
    time.sleep(seconds)
    return answers(api, chat_id, since)


FAILS_BEFORE_ACTING = {
    "500": {"status": 500},
    "502": {"status": 502},
    "429 retry_after": {"status": 429, "retry_after": 1},
    "malformed JSON": {"status": 500, "malformed": True},
    "closed connection": {"status": 500, "close_connection": True},
}


@pytest.mark.parametrize("fault", FAILS_BEFORE_ACTING, ids=list(FAILS_BEFORE_ACTING))
def test_a_failure_before_the_api_acts_costs_a_retry_not_the_answer(
    bot: RunningBot, logs: pytest.LogCaptureFixture, fault: str
):
    since = ask_through_faults(bot, FAILS_BEFORE_ACTING[fault], FAILS_BEFORE_ACTING[fault])
    got = settle(bot.api, MEMBER, since, seconds=0.2)
    assert len(got) == 1 and ANSWERED in got[0], got
    faulted = {c.method for c in bot.api.calls[since:] if c.faulted}
    assert faulted == {"getUpdates", "sendMessage"}, "both faults were met on the way"


def test_answers_slower_than_the_client_waits_are_repeated_and_nothing_is_lost(
    bot: RunningBot, logs: pytest.LogCaptureFixture
):
    # getUpdates: the client gives up on the held poll and polls again with the same
    # offset, so the question comes with the next one. sendMessage: the slow call fails
    # late; the retry is the one copy. (A poll answered into a dead connection is the
    # "connection closed after sending" case below.)
    since = ask_through_faults(
        bot,
        {"status": 200, "delay": SLOWER_THAN_POLL},
        {"status": 500, "delay": SLOWER_THAN_SEND},
    )
    got = settle(bot.api, MEMBER, since, seconds=SLOWER_THAN_SEND)
    assert len(got) == 1 and ANSWERED in got[0], got
    assert "Polling Updates): Timed out" in logs.text
    assert "sendMessage failed (Timed out" in logs.text


FAILS_AFTER_ACTING = {
    "connection closed after sending": {"status": 200, "close_connection": True},
    "garbled answer after sending": {"status": 200, "malformed": True},
    "sent, answered too late": {"status": 200, "delay": SLOWER_THAN_SEND},
}


@pytest.mark.parametrize("fault", FAILS_AFTER_ACTING, ids=list(FAILS_AFTER_ACTING))
def test_a_send_lost_after_the_api_acted_is_repeated_at_least_once(
    bot: RunningBot, logs: pytest.LogCaptureFixture, fault: str
):
    # The same faults on getUpdates lose nothing (the offset confirms only what arrived).
    since = ask_through_faults(bot, FAILS_AFTER_ACTING[fault], FAILS_AFTER_ACTING[fault])
    got = settle(bot.api, MEMBER, since, seconds=SLOWER_THAN_SEND if "late" in fault else 0.6)
    assert len(got) == 2 and got[0] == got[1] and ANSWERED in got[0], (
        "at least once: the copy the bot never heard of, then the retried one"
    )


def cpu_share(window: float) -> float:
    """Process CPU time over `window` seconds of wall time, as a share of one core."""
    cpu, wall = time.process_time(), time.monotonic()
    time.sleep(window)
    return (time.process_time() - cpu) / (time.monotonic() - wall)


def test_an_outage_is_waited_out_without_spinning_and_every_question_is_answered_once(
    bot: RunningBot, logs: pytest.LogCaptureFixture
):
    api = bot.api
    api.clear_faults()
    since = api.mark()
    # getUpdates down: questions wait at Telegram's side; the bot backs off (1 s, 1.5 s, …).
    api.fail("getUpdates", status=502, times=10_000)
    api.wait_for("getUpdates", since=since, include_failed=True, timeout=10)
    api.push_update(api.private_message(MEMBER, QUESTION))
    api.push_update(api.private_message(ADMIN, QUESTION))
    polling_outage = cpu_share(2.0)
    polls = len([c for c in api.calls_of("getUpdates") if c.index >= since])
    api.clear_faults()
    # Both questions answered before the next outage, or a late one would count there too.
    for chat_id in (ADMIN, MEMBER):
        api.wait_for("sendMessage", lambda p, c=chat_id: p["chat_id"] == c, since=since, timeout=15)
    # sendMessage down: the question is read and searched, its answer retried (0.5 s, 1 s, …).
    mark = api.mark()
    api.fail("sendMessage", status=502, times=10_000)
    api.push_update(api.private_message(MEMBER, QUESTION))
    api.wait_for("sendMessage", since=mark, include_failed=True, timeout=10)
    sending_outage = cpu_share(2.0)
    sends = len([c for c in api.calls_of("sendMessage") if c.index >= mark])
    api.clear_faults()
    api.wait_for("sendMessage", lambda p: p["chat_id"] == MEMBER, since=mark, timeout=15)
    time.sleep(0.2)
    assert polling_outage < 0.3 and sending_outage < 0.3, (polling_outage, sending_outage)
    assert polls <= 5 and sends <= 5, "retries back off instead of hammering the API"
    assert len(answers(api, ADMIN, since)) == 1
    assert len(answers(api, MEMBER, since)) == 2, "one per question, none lost or doubled"
    assert bot.alive
