"""`Storage`: the question log and its votes in one SQLite file (WAL mode), synchronous.

Every method may raise `sqlite3.Error` or `OSError` when the file is locked,
read-only, full or corrupt: the bot never calls this class directly but through
`AsyncStorage`, which turns those into "storage unavailable". The CLI and tests
use it as is.

Voters are stored as a keyed hash, `voter_key`: HMAC-SHA256 of "answer id:user
id" under a random key kept in the database. The UNIQUE(answer, voter) rule can
then hold one vote per user per answer, and the asker can be recognised,
without the file holding raw user ids; and because the answer id is hashed in,
one user's votes on different answers cannot be linked together. It is
pseudonymous, not anonymous: whoever holds the file and a user id can check
whether that user voted on a given answer.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.storage import reports, schema
from bot.storage.records import (
    DOWN,
    NONE_OF_THEM,
    UP,
    Gap,
    LoggedHit,
    QuestionEntry,
    RatedQuestion,
    UsageStats,
    VoteOutcome,
)

DEFAULT_KEEP_DAYS = 90
DAY = 86_400.0


class Storage:
    """One connection, shared by threads under a lock; writes are short transactions.

    `log_user_ids` False (the default) drops user ids, and the chat id of
    private chats (which is the user's id), before anything is written.
    Questions older than `keep_days` are deleted at open and then at most once a
    day, on the next write; `keep_days=None` never deletes (the export reads
    without side effects).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        keep_days: int | None = DEFAULT_KEEP_DAYS,
        log_user_ids: bool = False,
        busy_timeout: float = 5.0,
    ) -> None:
        self.path = Path(path)
        self.keep_days = keep_days
        self.log_user_ids = log_user_ids
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            self._db.execute("PRAGMA foreign_keys = ON")
            # Before any write: a garbage file fails here with "file is not a database".
            if self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0] != "wal":
                raise sqlite3.OperationalError("cannot switch the database to WAL mode")
            # In WAL mode NORMAL survives a crash of the bot; a power cut may lose the
            # last few entries, never corrupt the file. FULL costs an fsync per write.
            self._db.execute("PRAGMA synchronous = NORMAL")
            schema.migrate(self._db, self.path)
            self._salt = bytes.fromhex(
                self._db.execute("SELECT value FROM meta WHERE key = 'voter_salt'").fetchone()[0]
            )
            self._identity = _identity(self.path)
            self._pruned_at = 0.0
            if keep_days is not None:
                self.prune()
        except BaseException:
            self._db.close()
            raise

    def same_file(self) -> bool:
        """False once the file at `path` was removed or replaced: this connection writes
        to the old one, which nobody will read again."""
        try:
            return _identity(self.path) == self._identity
        except OSError:
            return False

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the write lock at once (no upgrade deadlock)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def voter_key(self, answer_id: int, user_id: int) -> str:
        message = f"{answer_id}:{user_id}".encode()
        return hmac.new(self._salt, message, hashlib.sha256).hexdigest()

    # -- the question log ---------------------------------------------------------------

    def log_question(self, entry: QuestionEntry) -> int:
        """Store an answered question; returns its answer id (what vote buttons carry)."""
        chat_id = entry.chat_id if self.log_user_ids or entry.chat_type != "private" else None
        hits = [
            {"doc": h.doc, "position": h.position, "score": round(h.score, 6), "text": h.text}
            for h in entry.hits
        ]
        with self._write() as db:
            answer_id = db.execute(
                "INSERT INTO questions (asked_at, chat_type, chat_id, user_id, asker, question,"
                " terms, hits, n_hits, latency_ms, generation)"
                " VALUES (?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?)",
                (
                    entry.asked_at,
                    entry.chat_type,
                    chat_id,
                    entry.user_id if self.log_user_ids else None,
                    entry.question,
                    json.dumps(list(entry.terms), ensure_ascii=False),
                    json.dumps(hits, ensure_ascii=False),
                    len(hits),
                    entry.latency_ms,
                    entry.generation,
                ),
            ).lastrowid
            asker = self.voter_key(answer_id, entry.user_id) if entry.user_id is not None else ""
            db.execute("UPDATE questions SET asker = ? WHERE id = ?", (asker, answer_id))
        if self.keep_days is not None and time.time() - self._pruned_at >= DAY:
            self.prune()
        return answer_id

    def prune(self, now: float | None = None) -> int:
        """Delete questions (and their votes) older than keep_days; returns how many."""
        if self.keep_days is None:
            return 0
        now = time.time() if now is None else now
        with self._write() as db:
            deleted = db.execute(
                "DELETE FROM questions WHERE asked_at < ?", (now - self.keep_days * DAY,)
            ).rowcount
        self._pruned_at = now
        return deleted

    # -- feedback ----------------------------------------------------------------------

    def vote(
        self, answer_id: int, user_id: int, value: int, *, asker_only: bool = True
    ) -> VoteOutcome:
        """👍 (+1) or 👎 (-1). A changed value forgets the sentence chosen under the old one."""
        if value not in (UP, DOWN):
            return VoteOutcome.INVALID
        return self._record(answer_id, user_id, value, None, asker_only)

    def choose(
        self, answer_id: int, user_id: int, rank: int, *, asker_only: bool = True
    ) -> VoteOutcome:
        """Which shown sentence answered (1-based, as numbered in the reply), or 0: none.

        Keeps the voter's 👍/👎; without one yet, a choice counts as 👎, the vote
        after which the bot asks.
        """
        return self._record(answer_id, user_id, None, rank, asker_only)

    def _record(
        self, answer_id: int, user_id: int, value: int | None, chosen: int | None, asker_only: bool
    ) -> VoteOutcome:
        voter = self.voter_key(answer_id, user_id)
        with self._write() as db:
            row = db.execute(
                "SELECT asker, n_hits FROM questions WHERE id = ?", (answer_id,)
            ).fetchone()
            if row is None:
                return VoteOutcome.UNKNOWN
            asker, n_hits = row
            if asker_only and not hmac.compare_digest(asker, voter):
                return VoteOutcome.NOT_YOURS
            if chosen is not None and not NONE_OF_THEM <= chosen <= n_hits:
                return VoteOutcome.INVALID
            old = db.execute(
                "SELECT value, chosen FROM votes WHERE answer_id = ? AND voter = ?",
                (answer_id, voter),
            ).fetchone()
            if value is None:  # a choice: keep the vote it follows
                value = old[0] if old else DOWN
                new = (value, chosen)
            else:  # a vote: the old choice stands only if the vote did not change
                new = (value, old[1] if old and old[0] == value else None)
            if old is not None and tuple(old) == new:
                return VoteOutcome.UNCHANGED
            db.execute(
                "INSERT INTO votes (answer_id, voter, value, chosen, voted_at)"
                " VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (answer_id, voter) DO UPDATE SET"
                " value = excluded.value, chosen = excluded.chosen, voted_at = excluded.voted_at",
                (answer_id, voter, *new, time.time()),
            )
        return VoteOutcome.COUNTED if old is None else VoteOutcome.CHANGED

    # -- reading -----------------------------------------------------------------------

    def gaps(self, days: int = 30, limit: int = 10, now: float | None = None) -> list[Gap]:
        """The most frequent questions of the last `days` days that got no hits or a 👎."""
        since = reports.window_start(days, time.time() if now is None else now)
        with self._lock:
            rows = self._db.execute(
                "SELECT asked_at, question, terms, n_hits FROM questions q WHERE asked_at >= ?"
                " AND (n_hits = 0 OR EXISTS"
                " (SELECT 1 FROM votes v WHERE v.answer_id = q.id AND v.value = -1))",
                (since,),
            ).fetchall()
        return reports.group_gaps(
            ((t, q, tuple(json.loads(terms)), n) for t, q, terms, n in rows), limit
        )

    def stats(self, days: int = 7, now: float | None = None) -> UsageStats:
        """Questions per day, no-hit share, 👍/👎 and answer-time percentiles, last `days` days."""
        now = time.time() if now is None else now
        since = reports.window_start(days, now)
        with self._lock:
            questions = self._db.execute(
                "SELECT asked_at, n_hits, latency_ms FROM questions WHERE asked_at >= ?", (since,)
            ).fetchall()
            votes = self._db.execute(
                "SELECT value FROM votes WHERE voted_at >= ?", (since,)
            ).fetchall()
        return reports.usage_stats(days, now, questions, (v for (v,) in votes))

    def rated_questions(self, since: float | None = None) -> list[RatedQuestion]:
        """Questions with at least one vote, oldest first (what `feedback export` reads)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT q.id, q.asked_at, q.question, q.hits, v.value, v.chosen"
                " FROM questions q JOIN votes v ON v.answer_id = q.id"
                " WHERE q.asked_at >= ? ORDER BY q.asked_at, q.id, v.rowid",
                (since if since is not None else float("-inf"),),
            ).fetchall()
        rated: list[RatedQuestion] = []
        for answer_id, asked_at, question, hits, value, chosen in rows:
            if not rated or rated[-1].id != answer_id:
                shown = tuple(LoggedHit(**h) for h in json.loads(hits))
                rated.append(RatedQuestion(answer_id, asked_at, question, shown, ()))
            last = rated[-1]
            rated[-1] = RatedQuestion(
                last.id, last.asked_at, last.question, last.hits, (*last.votes, (value, chosen))
            )
        return rated

    def count(self, table: str) -> int:
        """Rows in `questions` or `votes` (for tests and the CLI's summary)."""
        if table not in ("questions", "votes"):
            raise ValueError(f"no table {table!r}")
        with self._lock:
            return self._db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def _identity(path: Path) -> tuple[int, int]:
    status = os.stat(path)
    return status.st_dev, status.st_ino
