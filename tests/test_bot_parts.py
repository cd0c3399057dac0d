"""The bot's small parts alone: allow-lists, rate limits, button data, heartbeat, redaction."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest

from bot import heartbeat
from bot.answers import (
    CONTEXT,
    MORE,
    SOURCES,
    WHO,
    Answer,
    AnswerCache,
    Cited,
    context_data,
    more_data,
    parse_button,
    sources_data,
    who_data,
)
from bot.logs import REDACTED, forget_secret, hide_secret, redact
from bot.policy import Access, RateLimiter

ADMIN, MEMBER, STRANGER, GROUP = 1, 2, 3, -100500
ACCESS = Access(
    admins=frozenset({ADMIN}), allowed_users=frozenset({MEMBER}), allowed_chats=frozenset({GROUP})
)


# --- who may ask ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "chat", "allowed"),
    [
        (ADMIN, ADMIN, True),  # admins may always ask
        (MEMBER, MEMBER, True),
        (STRANGER, STRANGER, False),
        (STRANGER, GROUP, True),  # any member of an allowed group, inside that group
        (STRANGER, -100999, False),
        # In a group the group decides: not a listed user's own choice of group.
        (MEMBER, -100999, False),
        (ADMIN, -100999, False),
        (MEMBER, GROUP, True),
    ],
)
def test_who_may_ask(user: int, chat: int, allowed: bool):
    assert ACCESS.may_ask(user, chat) is allowed


def test_allow_everyone_opens_the_bot_but_not_the_admin_commands():
    open_bot = Access(admins=frozenset({ADMIN}), allow_everyone=True)
    assert open_bot.may_ask(STRANGER, STRANGER)
    assert open_bot.may_ask(STRANGER, -100999), "open to anyone: every group too"
    assert not open_bot.is_admin(STRANGER)
    assert open_bot.is_admin(ADMIN)


def test_rate_limiter_allows_a_burst_then_refuses_until_the_window_passes():
    limiter = RateLimiter(limit=3, window=60)
    assert [limiter.allow(7, now=t) for t in (0, 1, 2, 3)] == [True, True, True, False]
    assert limiter.allow(8, now=3), "users are counted apart"
    assert not limiter.allow(7, now=59.9)
    assert limiter.allow(7, now=60.5), "the first question has left the window"


def test_rate_limiter_forgets_idle_users_instead_of_growing_forever():
    limiter = RateLimiter(limit=1, window=60)
    for user in range(10_001):
        limiter.allow(user, now=0)
    limiter.allow(99_999, now=61)
    assert len(limiter) == 1
    assert limiter.allow(5, now=62), "a forgotten user starts afresh"


# --- button data ----------------------------------------------------------------------------


def test_button_data_fits_telegrams_64_bytes_and_reads_back():
    cache = AnswerCache()
    key = cache.put(Answer("سؤال طويل " * 50, "gen", 5, 5, (Cited(1, "a.txt", 0),)))
    for data in (more_data(key), context_data(key, 50), who_data(key, 50), sources_data(999)):
        assert len(data.encode()) <= 64
    assert parse_button(more_data(key)).action == MORE
    context = parse_button(context_data(key, 4))
    assert (context.action, context.key, context.number) == (CONTEXT, key, 4)
    assert parse_button(sources_data(3)).action == SOURCES
    who = parse_button(who_data(key, 2))
    assert (who.action, who.key, who.number) == (WHO, key, 2)


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "m",
        "m:",
        "c:key",
        "c:key:0",
        "c:key:-1",
        "c:key:x",
        "s:0",
        "x:1",
        "m:a:b",
        "w:key",
        "w::1",
        "w:key:0",
        "w:key:1:2",
    ],
)
def test_made_up_button_data_is_not_understood(data: str | None):
    assert parse_button(data) is None


def test_answer_cache_forgets_the_oldest_answers():
    cache = AnswerCache(capacity=2)
    answer = Answer("س", "gen", 1, 5, ())
    first, second = cache.put(answer), cache.put(answer)
    assert cache.get(first) is answer
    third = cache.put(answer)
    assert cache.get(second) is None, "least recently used leaves first"
    assert cache.get(first) is answer and cache.get(third) is answer
    assert len(cache) == 2


def test_more_works_once_and_only_where_it_was_offered():
    cache = AnswerCache(capacity=2)
    answer = Answer("من التقى بوتين؟", "gen", 1, 5, ())
    offered, not_offered = cache.put(answer, has_more=True), cache.put(answer)
    assert cache.take_more(offered)
    assert not cache.take_more(offered), "the bot removed «المزيد» after its use"
    assert not cache.take_more(not_offered), "no «المزيد» was offered under this answer"
    evicted = cache.put(answer, has_more=True)
    cache.put(answer, has_more=True)
    cache.put(answer, has_more=True)
    assert not cache.take_more(evicted), "forgotten answers have no «المزيد» either"


# --- heartbeat ------------------------------------------------------------------------------


def test_health_check_reads_the_heartbeat_age(tmp_path: Path):
    beat = tmp_path / "run" / "heartbeat"
    assert heartbeat.check(None, 60) == (
        False,
        "no heartbeat file configured (telegram.heartbeat_file or COVERAGE_BOT_HEARTBEAT)",
    )
    healthy, reason = heartbeat.check(beat, 60)
    assert not healthy and "does not exist" in reason
    heartbeat.touch(beat)
    assert heartbeat.check(beat, 60)[0]
    old = time.time() - 300
    os.utime(beat, (old, old))
    healthy, reason = heartbeat.check(beat, 60)
    assert not healthy and "300 s ago" in reason and "limit 60 s" in reason


# --- the token never shows ------------------------------------------------------------------


def test_registered_secrets_are_redacted_from_messages_arguments_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
):
    secret = "5550001:AAE-very-secret-token"
    hide_secret(secret)
    try:
        log = logging.getLogger("httpx")
        with caplog.at_level(logging.DEBUG):
            log.warning("HTTP Request: POST https://api.telegram.org/bot%s/getMe", secret)
            try:
                raise RuntimeError(f"The token `{secret}` was rejected by the server.")
            except RuntimeError:
                log.exception("failed")
        assert secret not in caplog.text
        assert f"/bot{REDACTED}/getMe" in caplog.text
        assert f"The token `{REDACTED}` was rejected" in caplog.text
        assert redact(f"x{secret}y") == f"x{REDACTED}y"
    finally:
        forget_secret(secret)


def test_a_too_short_secret_is_refused_rather_than_mangling_every_log():
    with pytest.raises(ValueError, match="at least 8"):
        hide_secret("123")
