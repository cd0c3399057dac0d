"""`AsyncStorage`: the question log as the bot uses it, off the event loop and never fatal.

Every call runs on one worker thread that owns the SQLite connection, so a slow
disk or a lock held by another process delays only the log, never an answer.
A locked, read-only, full or corrupt database makes the log *unavailable*: one
warning names the file and the reason, writes are dropped, reads come back
empty, and once `retry_seconds` have passed the next write reopens the file, so
the log recovers by itself once the fault is gone (one line says so). Only a
schema newer than this release (`SchemaTooNew`) stops start-up, because writing
to it could lose data.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from bot.storage.database import DEFAULT_KEEP_DAYS, Storage
from bot.storage.records import Gap, QuestionEntry, UsageStats, VoteOutcome
from bot.storage.schema import SchemaTooNew

log = logging.getLogger(__name__)
T = TypeVar("T")
FAULTS = (sqlite3.Error, OSError, SchemaTooNew)


class AsyncStorage:
    def __init__(
        self,
        path: str | Path,
        *,
        keep_days: int = DEFAULT_KEEP_DAYS,
        log_user_ids: bool = False,
        retry_seconds: float = 30.0,
        busy_timeout: float = 5.0,
    ) -> None:
        self.path = Path(path)
        self.retry_seconds = retry_seconds
        self._open_storage = lambda: Storage(
            self.path, keep_days=keep_days, log_user_ids=log_user_ids, busy_timeout=busy_timeout
        )
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="storage")
        self._storage: Storage | None = None
        self._retry_at = 0.0
        self._outage = False  # warned, and not yet recovered
        self.problem: str | None = "not opened yet"  # why storage is unavailable, for /stats

    @property
    def available(self) -> bool:
        return self.problem is None

    async def start(self) -> None:
        """Open (and migrate) the file; raises SchemaTooNew, any other fault only warns."""
        await self._run(self._start)

    async def close(self) -> None:
        await self._run(self._close)
        self._executor.shutdown(wait=True)

    def _close(self) -> None:
        storage, self._storage = self._storage, None
        if storage is not None:
            _close_quietly(storage)

    # -- the calls the bot makes -------------------------------------------------------

    async def log_question(self, entry: QuestionEntry) -> int | None:
        """The answer id for the vote buttons, or None when storage is unavailable."""
        return await self._call(lambda s: s.log_question(entry), None, write=True)

    async def vote(
        self, answer_id: int, user_id: int, value: int, *, asker_only: bool = True
    ) -> VoteOutcome:
        return await self._call(
            lambda s: s.vote(answer_id, user_id, value, asker_only=asker_only),
            VoteOutcome.UNAVAILABLE,
            write=True,
        )

    async def choose(
        self, answer_id: int, user_id: int, rank: int, *, asker_only: bool = True
    ) -> VoteOutcome:
        return await self._call(
            lambda s: s.choose(answer_id, user_id, rank, asker_only=asker_only),
            VoteOutcome.UNAVAILABLE,
            write=True,
        )

    async def gaps(self, days: int = 30, limit: int = 10) -> list[Gap]:
        return await self._call(lambda s: s.gaps(days, limit), [], write=False)

    async def stats(self, days: int = 7) -> UsageStats | None:
        return await self._call(lambda s: s.stats(days), None, write=False)

    # -- fault handling ----------------------------------------------------------------

    async def _call(self, work: Callable[[Storage], T], fallback: T, *, write: bool) -> T:
        return await self._run(lambda: self._attempt(work, fallback, write))

    def _attempt(self, work: Callable[[Storage], T], fallback: T, write: bool) -> T:
        """On the worker thread, so state changes never race.

        While unavailable, reads return `fallback` untried and a write, once the
        retry is due, reopens the file: only a write that succeeds ends an
        outage, so a disk that is full but readable does not flap.
        """
        if self._storage is not None and not self._storage.same_file():
            # Removed or replaced under us: open whatever is there now, without waiting.
            _close_quietly(self._storage)
            self._storage = None
        if self._outage and (not write or time.monotonic() < self._retry_at):
            return fallback
        try:
            if self._storage is None:
                self._storage = self._open_storage()
            result = work(self._storage)
        except FAULTS as exc:
            self._fail(exc)
            return fallback
        if self._outage:
            log.info("storage available again: %s", self.path)
            self._outage = False
        self.problem = None
        return result

    def _start(self) -> None:
        try:
            self._storage = self._open_storage()
            self.problem = None
        except SchemaTooNew:
            raise
        except FAULTS as exc:
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        reason = str(exc) or type(exc).__name__
        if not self._outage:
            self._outage = True
            log.warning(
                "storage unavailable: %s: %s; questions are still answered, not logged; "
                "retrying every %g s",
                self.path,
                reason,
                self.retry_seconds,
            )
        self.problem = reason
        self._retry_at = time.monotonic() + self.retry_seconds
        storage, self._storage = self._storage, None
        if storage is not None:
            _close_quietly(storage)

    async def _run(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)


def _close_quietly(storage: Storage) -> None:
    with contextlib.suppress(sqlite3.Error):
        storage.close()
