"""Replicas sharing Redis: the fleet's reload and version check (bot/fleet.py), and two
real bots in webhook mode sharing one Redis, posted to as Telegram posts."""

from __future__ import annotations

import asyncio
import json
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from bot_runner import ADMIN, MEMBER, RunningBot, buttons, free_port, write_config
from fake_bot_api import FakeBotAPI
from redis_server import RedisServer

from bot import texts
from bot.fleet import Fleet, FleetMismatch, Version
from bot.settings import load_settings
from bot.shared_state import RETRY_AFTER, SharedRedis
from bot.webhook import Webhook
from retrieval.engine import Engine, ReloadInProgress

QUESTION = "ماذا قال كيم عن الإمبريالية؟"
NEW_DOC = (
    "---\ntitle: مهرجان الزيتون في جرش\noutlet: صحيفة الغد\n---\n"
    "افتتح مهرجان الزيتون السنوي في مدينة جرش أمس بمشاركة مئات المزارعين.\n"
)
NEW_QUESTION = "مهرجان الزيتون في جرش"
SECRET = "fleet_Secret-1"


def _engine(corpus: Path, index: Path) -> Engine:
    engine = Engine(corpus, index)
    engine.open()
    return engine


def test_a_reload_on_one_replica_is_followed_by_the_others(
    redis_url: str, corpus: Path, tmp_path: Path
) -> None:
    a, b = _engine(corpus, tmp_path / "index"), _engine(corpus, tmp_path / "index")
    before = a.snapshot.generation

    async def scenario() -> None:
        fleet_a = Fleet(a, SharedRedis(redis_url), replica="a")
        fleet_b = Fleet(b, SharedRedis(redis_url), replica="b")
        await fleet_a.start()
        await fleet_b.start()
        assert (await fleet_b.published()).replica == "a", "the first replica publishes"
        (corpus / "olives.md").write_text(NEW_DOC, encoding="utf-8")
        report = await fleet_a.reload()
        assert report.added == ["olives.md"]
        assert b.snapshot.generation == before, "b answers from the old index until it looks"
        await fleet_b.check_once()
        assert b.snapshot.generation == a.snapshot.generation != before
        await fleet_a.shared.close()
        await fleet_b.shared.close()

    asyncio.run(scenario())
    hits = b.search(NEW_QUESTION).hits
    assert hits and hits[0].sentence.doc == "olives.md"


def test_a_reload_waits_for_the_fleet_lock(redis_url: str, corpus: Path, tmp_path: Path) -> None:
    a, b = _engine(corpus, tmp_path / "index"), _engine(corpus, tmp_path / "index")

    async def scenario() -> None:
        fleet_a = Fleet(a, SharedRedis(redis_url), replica="a")
        fleet_b = Fleet(b, SharedRedis(redis_url), replica="b")
        assert await fleet_a.lock.acquire()  # a is building
        assert await fleet_b.running()
        with pytest.raises(ReloadInProgress, match="another replica"):
            await fleet_b.reload()
        await fleet_a.lock.release()
        assert not await fleet_b.running()
        await fleet_b.reload()
        await fleet_a.shared.close()
        await fleet_b.shared.close()

    asyncio.run(scenario())


def test_a_replica_of_another_pipeline_refuses_to_serve(
    redis_url: str, corpus: Path, tmp_path: Path
) -> None:
    a, b = _engine(corpus, tmp_path / "index"), _engine(corpus, tmp_path / "index")

    async def scenario() -> str:
        fleet_a = Fleet(a, SharedRedis(redis_url), replica="a")
        await fleet_a.start()
        old = Fleet(b, SharedRedis(redis_url), replica="b", pipeline="format 3, analysis 1")
        with pytest.raises(FleetMismatch) as refused:
            await old.start()
        await fleet_a.shared.close()
        await old.shared.close()
        return str(refused.value)

    message = asyncio.run(scenario())
    assert "format 3, analysis 1" in message and Fleet.__name__ not in message
    assert "published by a" in message and "coverage-bot:version" in message


def test_a_replica_that_cannot_load_the_fleets_index_says_why(
    redis_url: str, corpus: Path, tmp_path: Path
) -> None:
    a = _engine(corpus, tmp_path / "index")
    other = tmp_path / "other-corpus"
    shutil.copytree(corpus, other)
    (other / "olives.md").write_text(NEW_DOC, encoding="utf-8")
    b = _engine(other, tmp_path / "index")

    async def scenario() -> str:
        fleet_a = Fleet(a, SharedRedis(redis_url), replica="a")
        await fleet_a.start()
        fleet_b = Fleet(b, SharedRedis(redis_url), replica="b")
        with pytest.raises(FleetMismatch) as refused:
            await fleet_b.start()
        await fleet_a.shared.close()
        await fleet_b.shared.close()
        return str(refused.value)

    message = asyncio.run(scenario())
    assert f"cannot load the fleet's index {a.snapshot.generation}" in message
    assert b.snapshot.generation in message and str(other) in message


@pytest.mark.usefixtures("redis_binary")  # it starts Redis part-way
def test_a_replica_started_without_redis_serves_and_joins_the_fleet_later(
    tmp_path: Path, corpus: Path, caplog: pytest.LogCaptureFixture
) -> None:
    a = _engine(corpus, tmp_path / "index")
    server = RedisServer(tmp_path / "redis", free_port())

    async def scenario() -> Version | None:
        fleet = Fleet(a, SharedRedis(server.url, timeout=0.5), replica="a")
        await fleet.start()  # Redis down: no exception, this replica serves its own index
        await asyncio.to_thread(server.start)
        await asyncio.sleep(RETRY_AFTER)
        await fleet.check_once()  # back: it publishes what it serves
        published = await fleet.published()
        await fleet.shared.close()
        return published

    try:
        published = asyncio.run(scenario())
    finally:
        server.stop()
    assert published is not None and published.generation == a.snapshot.generation
    assert "cannot read the fleet's index version yet" in caplog.text


# --- two bots, one Redis ----------------------------------------------------------------


@pytest.fixture
def two_bots(
    api: FakeBotAPI, corpus: Path, tmp_path: Path, redis_url: str
) -> Iterator[tuple[int, int]]:
    config = write_config(
        tmp_path,
        corpus,
        api,
        state={"redis_url": redis_url},
        access={"questions_per_minute": 3},
    )
    ports = free_port(), free_port()
    hooks = [Webhook("https://bot.example.org/hook", "127.0.0.1", p, SECRET) for p in ports]
    with (
        RunningBot(api, load_settings(config), webhook=hooks[0]),
        RunningBot(api, load_settings(config), webhook=hooks[1]),
    ):
        yield ports


def _post(port: int, update: dict) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/hook",
        data=json.dumps(update).encode(),
        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET},
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _sent_to(api: FakeBotAPI, chat_id: int, since: int) -> list[dict]:
    return [c.params for c in api.calls_of("sendMessage")[since:] if c.params["chat_id"] == chat_id]


def test_a_reposted_update_is_answered_once_by_the_fleet(
    api: FakeBotAPI, two_bots: tuple[int, int]
) -> None:
    a, b = two_bots
    update = {"update_id": 7001, **api.private_message(MEMBER, QUESTION)}
    since = len(api.calls_of("sendMessage"))
    # 200 comes once the update is handled, so its replies are already sent.
    assert _post(a, update) == 200
    assert len(_sent_to(api, MEMBER, since)) == 1
    assert _post(b, update) == 200, "a re-post is acknowledged"
    assert _post(a, update) == 200
    assert len(_sent_to(api, MEMBER, since)) == 1, "and not answered again"


def test_buttons_work_on_any_replica_and_more_only_once(
    api: FakeBotAPI, two_bots: tuple[int, int]
) -> None:
    a, b = two_bots  # the admin: presses are not limited, only their effect is seen
    since = len(api.calls_of("sendMessage"))
    assert _post(a, {"update_id": 7101, **api.private_message(ADMIN, QUESTION)}) == 200
    [answer] = [c for c in api.calls_of("sendMessage")[since:] if c.params["chat_id"] == ADMIN]
    data = buttons(answer.params)
    message_id = answer.result["message_id"]
    context_press = api.callback_query(ADMIN, ADMIN, message_id, data["السياق 1"])
    assert _post(b, {"update_id": 7102, **context_press}) == 200
    context_reply = _sent_to(api, ADMIN, since)[-1]["text"]
    assert "الإمبريالية" in context_reply, "b shows the context of a's answer"
    more = data[texts.MORE_BUTTON]
    assert _post(b, {"update_id": 7103, **api.callback_query(ADMIN, ADMIN, message_id, more)})
    assert len(_sent_to(api, ADMIN, since)) == 3, "the next page, sent by b"
    assert _post(a, {"update_id": 7104, **api.callback_query(ADMIN, ADMIN, message_id, more)})
    assert len(_sent_to(api, ADMIN, since)) == 3
    alerts = [c.params.get("text") for c in api.calls_of("answerCallbackQuery")]
    assert alerts[-1] == texts.EXPIRED, "a kept copy of «المزيد» on a says expired"


def test_the_question_limit_holds_across_replicas(
    api: FakeBotAPI, two_bots: tuple[int, int]
) -> None:
    a, b = two_bots
    since = len(api.calls_of("sendMessage"))
    for n, port in enumerate((a, b, a, b)):
        update = {"update_id": 7200 + n, **api.private_message(MEMBER, QUESTION)}
        assert _post(port, update) == 200
    texts_sent = [p["text"] for p in _sent_to(api, MEMBER, since)]
    assert len(texts_sent) == 4
    assert texts.RATE_LIMITED in texts_sent[3], "the fourth question of the minute is refused"
    assert all(texts.RATE_LIMITED not in t for t in texts_sent[:3])
