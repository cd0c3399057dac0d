"""Shared fixtures: the seed corpus and its index, and the real bot against the fake Bot API."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bot_runner import TOKEN, RunningBot, StartBot, write_config
from fake_bot_api import FakeBotAPI
from redis_server import BINARY, RedisServer

from retrieval.corpus import load_corpus
from retrieval.index import SentenceIndex, build_index

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture(scope="session")
def seed_index() -> SentenceIndex:
    return build_index(load_corpus(SEEDS).documents)


@pytest.fixture(scope="session")
def redis_binary() -> str:
    """The path of redis-server; tests that start their own skip without it, as the rest do."""
    binary = shutil.which(BINARY)
    if binary is None:
        pytest.skip(f"{BINARY} is not installed: apt-get install redis-server (as .ci/run does)")
    return binary


@pytest.fixture(scope="session")
def redis_server(
    redis_binary: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RedisServer]:
    """A real redis-server for the session (.ci/run installs it, so CI never skips)."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's Redis, emptied for this test."""
    redis_server.flush()
    return redis_server.url


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A writable copy of the seed corpus."""
    folder = tmp_path / "corpus"
    shutil.copytree(SEEDS, folder)
    return folder


@pytest.fixture
def api() -> Iterator[FakeBotAPI]:
    with FakeBotAPI(token=TOKEN) as fake:
        yield fake


@pytest.fixture
def start_bot(api: FakeBotAPI, corpus: Path, tmp_path: Path) -> Iterator[StartBot]:
    """Start the bot with config sections overridden; it stops when the test ends."""
    with contextlib.ExitStack() as stack:

        def start(heartbeat_interval: float = 15.0, **sections: Any) -> RunningBot:
            config = write_config(tmp_path, corpus, api, **sections)
            running = RunningBot.from_config(api, config, heartbeat_interval=heartbeat_interval)
            return stack.enter_context(running)

        yield start
