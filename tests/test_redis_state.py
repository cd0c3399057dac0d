"""The Redis-backed state against a real redis-server: two "replicas" are two clients.

Each test builds its clients inside `asyncio.run`, as a replica does inside its loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest
from redis_server import RedisServer, free_port

from bot import shared_state
from bot.answers import Answer, Cited
from bot.shared_state import (
    BUSY,
    DONE,
    NEW,
    SharedAnswers,
    SharedLock,
    SharedRateLimiter,
    SharedRedis,
    Unavailable,
    UpdateLedger,
    redis_address,
)

QUESTION = "ماذا قال كيم عن الإمبريالية؟"
ANSWER = Answer(
    question=QUESTION,
    generation="5c1e0a2b9d8f7e6a5b4c3d2e",
    chat_id=1002,
    next_offset=5,
    cited=(
        Cited(1, "002_092c1b17ba5817fe.txt", 4),
        Cited(2, "uploads/مهرجان-الزيتون-في-جرش.md", 0),
    ),
)


def test_the_question_limit_is_counted_across_replicas(redis_url: str) -> None:
    async def scenario() -> tuple[list[bool], bool]:
        a = SharedRateLimiter(SharedRedis(redis_url), "questions", limit=3)
        b = SharedRateLimiter(SharedRedis(redis_url), "questions", limit=3)
        seen = [await a.admit(7), await b.admit(7), await a.admit(7), await b.admit(7)]
        seen.append(await a.admit(7))
        other = await b.admit(8)
        await a.shared.close()
        await b.shared.close()
        return seen, other

    seen, other = asyncio.run(scenario())
    assert seen == [True, True, True, False, False], "3 a minute for the fleet, not per replica"
    assert other, "users are counted apart"


def test_the_window_slides_as_in_process(redis_url: str) -> None:
    async def scenario() -> list[bool]:
        limiter = SharedRateLimiter(SharedRedis(redis_url), "questions", limit=2, window=0.5)
        seen = [await limiter.admit(7), await limiter.admit(7), await limiter.admit(7)]
        await asyncio.sleep(0.6)  # both events leave the window; a refused one never counted
        seen += [await limiter.admit(7), await limiter.admit(7), await limiter.admit(7)]
        await limiter.shared.close()
        return seen

    assert asyncio.run(scenario()) == [True, True, False, True, True, False]


def test_an_answer_given_by_one_replica_is_found_by_another(redis_url: str) -> None:
    async def scenario() -> tuple[str, Answer | None, Answer | None]:
        a = SharedAnswers(SharedRedis(redis_url))
        b = SharedAnswers(SharedRedis(redis_url))
        key = await a.remember(ANSWER, has_more=True)
        found = await b.recall(key)
        missing = await b.recall("made-up1")
        await a.shared.close()
        await b.shared.close()
        return key, found, missing

    key, found, missing = asyncio.run(scenario())
    assert len(key) == 8 and len(f"m:{key}".encode()) <= 64
    assert found == ANSWER, "question, generation, chat and cited sentences survive the trip"
    assert missing is None


def test_more_works_once_across_the_fleet(redis_url: str) -> None:
    async def scenario() -> tuple[list[bool], list[bool]]:
        a = SharedAnswers(SharedRedis(redis_url))
        b = SharedAnswers(SharedRedis(redis_url))
        with_more = await a.remember(ANSWER, has_more=True)
        without = await a.remember(ANSWER, has_more=False)
        # Two presses at once on two replicas, then a third later: one wins.
        presses = list(await asyncio.gather(b.claim_more(with_more), a.claim_more(with_more)))
        presses.append(await b.claim_more(with_more))
        never = [await b.claim_more(without), await b.claim_more("made-up1")]
        await a.shared.close()
        await b.shared.close()
        return presses, never

    presses, never = asyncio.run(scenario())
    assert sorted(presses) == [False, False, True]
    assert never == [False, False], "«المزيد» never offered is refused"


def test_the_least_recently_used_answers_leave_first(redis_url: str) -> None:
    async def scenario() -> list[bool]:
        answers = SharedAnswers(SharedRedis(redis_url), capacity=2)
        first = await answers.remember(ANSWER, has_more=True)
        second = await answers.remember(ANSWER)
        await answers.recall(first)  # used: now the second is the oldest
        third = await answers.remember(ANSWER)
        kept = [await answers.recall(k) is not None for k in (first, second, third)]
        kept.append(await answers.claim_more(first))
        await answers.shared.close()
        return kept

    assert asyncio.run(scenario()) == [True, False, True, True]


def test_an_update_is_handled_by_one_replica(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shared_state, "RUNNING_TTL", 1)

    async def scenario() -> list[str]:
        a = UpdateLedger(SharedRedis(redis_url), "replica-a")
        b = UpdateLedger(SharedRedis(redis_url), "replica-b")
        seen = [await a.claim(501), await b.claim(501)]  # new for a; b must wait
        await a.done(501)
        seen.append(await b.claim(501))  # a re-post after it was handled
        seen.append(await a.claim(501))  # the same replica remembers too
        # A replica dies while handling 502: its mark expires and another takes over.
        seen.append(await a.claim(502))
        seen.append(await b.claim(502))
        await asyncio.sleep(1.3)
        seen.append(await b.claim(502))
        # A replica that gives an update back (shutting down) lets another take it at once.
        seen.append(await a.claim(503))
        await a.release(503)
        seen.append(await b.claim(503))
        await a.shared.close()
        await b.shared.close()
        return seen

    assert asyncio.run(scenario()) == [NEW, BUSY, DONE, DONE, NEW, BUSY, NEW, NEW, NEW]


def test_the_reload_lock_is_held_once_and_expires(redis_url: str) -> None:
    async def scenario() -> list[bool]:
        a = SharedLock(SharedRedis(redis_url), "reload", ttl=1)
        b = SharedLock(SharedRedis(redis_url), "reload", ttl=1)
        seen = [await a.acquire(), await b.acquire(), await b.held_elsewhere()]
        await b.release()  # not its lock: releasing it does nothing
        seen.append(await b.acquire())
        await a.release()
        seen.append(await b.acquire())
        await asyncio.sleep(1.3)  # b "died" holding it
        seen.append(await a.acquire())
        await a.shared.close()
        await b.shared.close()
        return seen

    assert asyncio.run(scenario()) == [True, False, True, False, True, True]


@pytest.mark.usefixtures("redis_binary")  # it starts Redis part-way
def test_without_redis_a_replica_keeps_its_own_state_and_recovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(shared_state, "RETRY_AFTER", 0.0)
    port = free_port()
    url = f"redis://:s3cret-pass@127.0.0.1:{port}/0"
    server = RedisServer(tmp_path / "redis", port)

    async def scenario() -> dict[str, object]:
        shared = SharedRedis(url, timeout=0.5)
        limiter = SharedRateLimiter(shared, "questions", limit=2)
        answers = SharedAnswers(shared)
        ledger = UpdateLedger(shared, "replica-a")
        seen: dict[str, object] = {}
        started = time.monotonic()
        seen["limits"] = [await limiter.admit(7) for _ in range(3)]
        key = await answers.remember(ANSWER, has_more=True)
        seen["answer"] = await answers.recall(key)
        seen["more"] = [await answers.claim_more(key), await answers.claim_more(key)]
        seen["updates"] = [await ledger.claim(9), await ledger.claim(10)]
        seen["seconds"] = time.monotonic() - started
        seen["up_before"] = shared.up
        await asyncio.to_thread(server.start)
        seen["after"] = [await limiter.admit(8) for _ in range(3)]
        seen["up_after"] = shared.up
        await shared.close()
        return seen

    caplog.set_level(logging.WARNING, logger="bot.shared_state")
    try:
        seen = asyncio.run(scenario())
    finally:
        server.stop()
    assert seen["limits"] == [True, True, False], "the limit still holds, per replica"
    assert seen["answer"] == ANSWER and seen["more"] == [True, False]
    assert seen["updates"] == [NEW, NEW]
    assert seen["up_before"] is False and seen["up_after"] is True
    assert seen["after"] == [True, True, False]
    outage = [r.getMessage() for r in caplog.records if "unreachable" in r.getMessage()]
    back = [r.getMessage() for r in caplog.records if "shared state again" in r.getMessage()]
    assert len(outage) == 1, "one warning per outage, not one per question"
    assert len(back) == 1
    assert f"127.0.0.1:{port}" in outage[0]
    assert "s3cret-pass" not in caplog.text


def test_unavailable_is_raised_at_once_while_an_outage_is_known() -> None:
    async def scenario() -> float:
        shared = SharedRedis(f"redis://127.0.0.1:{free_port()}/0", timeout=0.5)
        with pytest.raises(Unavailable):
            await shared.run(lambda client: client.ping())
        started = time.monotonic()
        for _ in range(50):
            with pytest.raises(Unavailable):
                await shared.run(lambda client: client.ping())
        await shared.close()
        return time.monotonic() - started

    assert asyncio.run(scenario()) < 1.0, "questions do not wait on a known-dead Redis"


def test_the_address_in_logs_never_holds_the_password() -> None:
    assert redis_address("redis://:hunter2@redis.internal:6380/1") == "redis.internal:6380"
    assert redis_address("redis://user:hunter2@10.0.0.7/0") == "10.0.0.7:6379"
