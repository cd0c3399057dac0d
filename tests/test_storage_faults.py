"""A broken question log never stops the bot: one warning, "unavailable", then recovery.

Each fault is real: another connection holding the write lock, a garbage file,
a file mode that forbids writing, a file-size limit (RLIMIT_FSIZE) for a full
disk. The last two run in a child process; as root that child first drops
CAP_DAC_OVERRIDE, without which root too must obey file modes.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import logging
import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from bot.storage import UP, AsyncStorage, QuestionEntry, Storage, VoteOutcome

ROOT = Path(__file__).resolve().parent.parent
QUESTION = QuestionEntry(
    question="أين عقدت القمة بين كيم وبوتين؟",
    terms=("عقدت", "قم", "كيم", "بوت"),
    hits=(),
    latency_ms=9.5,
    generation="seeds",
    chat_type="private",
    user_id=77,
)
T = TypeVar("T")


def run(work: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(work())


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "bot.storage.facade" and r.levelno >= logging.WARNING
    ]


def test_a_locked_database_is_skipped_until_the_lock_goes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "log.sqlite3"
    other = sqlite3.connect(path, isolation_level=None)

    async def scenario() -> list[object]:
        storage = AsyncStorage(path, retry_seconds=0, busy_timeout=0.05)
        await storage.start()
        seen: list[object] = [await storage.log_question(QUESTION)]
        other.execute("BEGIN EXCLUSIVE")  # another process writing, and not letting go
        seen += [await storage.log_question(QUESTION), await storage.vote(1, 77, UP)]
        seen += [storage.available, storage.problem, await storage.gaps()]
        other.execute("ROLLBACK")
        seen += [await storage.vote(1, 77, UP), storage.available]
        await storage.close()
        return seen

    with caplog.at_level(logging.INFO, logger="bot.storage"):
        seen = run(scenario)
    other.close()
    assert seen == [
        1,
        None,
        VoteOutcome.UNAVAILABLE,
        False,
        "database is locked",
        [],
        VoteOutcome.COUNTED,
        True,
    ]
    assert warnings(caplog) == [
        f"storage unavailable: {path}: database is locked; questions are still answered, "
        "not logged; retrying every 0 s"
    ]
    assert f"storage available again: {path}" in caplog.messages


def test_a_garbage_file_makes_storage_unavailable_until_it_is_moved_away(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "log.sqlite3"
    path.write_bytes(b"this is not a database " * 200)

    async def scenario() -> list[object]:
        storage = AsyncStorage(path, retry_seconds=0)
        await storage.start()  # the bot starts and answers anyway
        seen: list[object] = [storage.available, storage.problem]
        seen += [await storage.log_question(QUESTION), await storage.stats()]
        seen += [await storage.choose(1, 77, 0), await storage.gaps()]
        path.rename(tmp_path / "log.sqlite3.broken")  # what an operator does
        seen += [await storage.log_question(QUESTION), storage.available]
        await storage.close()
        return seen

    with caplog.at_level(logging.INFO, logger="bot.storage"):
        seen = run(scenario)
    assert seen == [
        False,
        "file is not a database",
        None,
        None,
        VoteOutcome.UNAVAILABLE,
        [],
        1,
        True,
    ]
    assert len(warnings(caplog)) == 1
    assert warnings(caplog)[0].startswith(f"storage unavailable: {path}: file is not a database")


def test_a_log_deleted_while_running_starts_afresh_on_disk(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Not written on into the deleted file, where nobody would ever read it."""
    path = tmp_path / "log.sqlite3"

    async def scenario() -> list[object]:
        storage = AsyncStorage(path, retry_seconds=3600)
        await storage.start()
        seen: list[object] = [await storage.log_question(QUESTION)]
        for file in tmp_path.glob("log.sqlite3*"):
            file.unlink()
        seen += [await storage.log_question(QUESTION), storage.available, path.exists()]
        await storage.close()
        return seen

    with caplog.at_level(logging.INFO, logger="bot.storage"):
        seen = run(scenario)
    assert seen == [1, 1, True, True]
    with Storage(path) as storage:
        assert storage.count("questions") == 1
    assert warnings(caplog) == []


def test_storage_retries_only_after_the_retry_interval(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "log.sqlite3"
    path.write_bytes(b"garbage " * 1000)

    async def scenario() -> list[object]:
        storage = AsyncStorage(path, retry_seconds=3600)
        await storage.start()
        path.unlink()
        # Fixed, but the next attempt is an hour away: nothing touches the disk before.
        seen: list[object] = [await storage.log_question(QUESTION), path.exists()]
        await storage.close()
        return seen

    assert run(scenario) == [None, False]


# -- faults a child process sees ----------------------------------------------------------

PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE = 1


def _as_plain_user() -> None:
    """In the child before exec: as root, give up overriding file modes."""
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


SCENARIO_HEAD = """
import asyncio, json, logging, os, resource, signal, sys
from pathlib import Path
from bot.storage import AsyncStorage, QuestionEntry
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
path = Path(sys.argv[1])
def entry(text):
    return QuestionEntry(text, ("قم",), (), 9.5, "seeds", "group", chat_id=-5, user_id=77)
"""


def run_scenario(body: str, path: Path) -> tuple[list, list[str]]:
    """Run `body` (an async `scenario()` returning a list) in a child; its result and log."""
    script = SCENARIO_HEAD + textwrap.dedent(body) + "\nprint(json.dumps(asyncio.run(scenario())))"
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_as_plain_user,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr.splitlines()


def test_a_read_only_database_is_skipped_until_it_is_writable(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    Storage(path).close()
    path.chmod(0o444)
    seen, log = run_scenario(
        """
        async def scenario():
            try:
                open(path, "r+b").close()
                writable = True
            except PermissionError:
                writable = False
            storage = AsyncStorage(path, retry_seconds=0)
            await storage.start()
            seen = [writable, storage.available, await storage.log_question(entry("سؤال"))]
            seen.append(await storage.log_question(entry("سؤال آخر")))
            for file in path.parent.glob("log.sqlite3*"):  # SQLite made -wal, -shm alike
                file.chmod(0o644)
            seen += [await storage.log_question(entry("بعد الإصلاح")), storage.available]
            await storage.close()
            return seen
        """,
        path,
    )
    assert seen == [False, False, None, None, 1, True]
    unavailable = [line for line in log if "storage unavailable" in line]
    assert unavailable == [
        f"WARNING bot.storage.facade: storage unavailable: {path}: attempt to write a readonly "
        "database; questions are still answered, not logged; retrying every 0 s"
    ]
    assert f"INFO bot.storage.facade: storage available again: {path}" in log


def test_a_full_disk_drops_writes_until_there_is_room(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    seen, log = run_scenario(
        """
        async def scenario():
            storage = AsyncStorage(path, retry_seconds=0)
            await storage.start()
            seen = [await storage.log_question(entry("سؤال قصير"))]
            # The disk fills up: no file of this process may grow past 64 KB.
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            limit = resource.getrlimit(resource.RLIMIT_FSIZE)
            resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, limit[1]))
            long = "ما الذي حدث في القمة " * 2000
            seen += [await storage.log_question(entry(long)) for _ in range(3)]
            seen.append(storage.available)
            resource.setrlimit(resource.RLIMIT_FSIZE, limit)  # room again
            seen += [await storage.log_question(entry(long)), storage.available]
            stats = await storage.stats()
            seen.append(stats.questions)
            await storage.close()
            return seen
        """,
        path,
    )
    assert seen == [1, None, None, None, False, 2, True, 2], "nothing half-written counts"
    unavailable = [line for line in log if "storage unavailable" in line]
    assert len(unavailable) == 1
    assert unavailable[0].startswith(f"WARNING bot.storage.facade: storage unavailable: {path}: ")
    assert "disk I/O error" in unavailable[0] or "disk is full" in unavailable[0]
    assert f"INFO bot.storage.facade: storage available again: {path}" in log


def test_a_write_waiting_for_a_lock_leaves_the_event_loop_free(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    other = sqlite3.connect(path, isolation_level=None)

    async def scenario() -> tuple[int | None, int]:
        storage = AsyncStorage(path, busy_timeout=0.5)
        await storage.start()
        other.execute("BEGIN EXCLUSIVE")
        write = asyncio.ensure_future(storage.log_question(QUESTION))
        turns = 0
        while not write.done():  # other handlers keep running meanwhile
            turns += 1
            await asyncio.sleep(0.001)
        other.execute("ROLLBACK")
        await storage.close()
        return write.result(), turns

    answer, turns = run(scenario)
    other.close()
    assert answer is None
    assert turns > 10, "the event loop was blocked while SQLite waited for the lock"
