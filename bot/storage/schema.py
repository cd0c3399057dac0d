"""The question log's schema and the migrations that build it, one numbered step each.

The schema version lives in SQLite's `PRAGMA user_version`. Opening a file runs
every step past its version, each in its own transaction, so a file from any
older release upgrades in place at start-up; a file written by a newer release
is refused (`SchemaTooNew`) rather than guessed at.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path


class SchemaTooNew(Exception):
    """The database was written by a newer release; running on it could lose data."""

    def __init__(self, path: Path, found: int, known: int) -> None:
        super().__init__(
            f"{path}: database schema version {found} is newer than this release "
            f"understands (version {known}); upgrade coverage-bot or point storage.path "
            "at another file"
        )
        self.path, self.found, self.known = path, found, known


def _v1_question_log(db: sqlite3.Connection) -> None:
    """Questions as answered. Times are Unix seconds (UTC)."""
    _run(
        db,
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE questions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: an old button cannot vote
            asked_at REAL NOT NULL,
            chat_type TEXT NOT NULL,                -- private, group, supergroup, channel
            chat_id INTEGER,                        -- NULL for private chats unless log_user_ids
            user_id INTEGER,                        -- NULL unless log_user_ids
            asker TEXT NOT NULL,                    -- voter key of the asker for this answer
            question TEXT NOT NULL,
            terms TEXT NOT NULL,                    -- JSON list: the analyzed question
            hits TEXT NOT NULL,                     -- JSON list of {doc, position, score, text}
            n_hits INTEGER NOT NULL,
            latency_ms REAL NOT NULL,
            generation TEXT NOT NULL                -- index generation that answered
        );
        CREATE INDEX questions_asked_at ON questions (asked_at);
        """,
    )
    # The key of the voter hash (see Storage.voter_key): random per database.
    db.execute("INSERT INTO meta VALUES ('voter_salt', ?)", (os.urandom(32).hex(),))


def _v2_votes(db: sqlite3.Connection) -> None:
    """One vote per voter per answer; a changed vote replaces the old one."""
    _run(
        db,
        """
        CREATE TABLE votes (
            answer_id INTEGER NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
            voter TEXT NOT NULL,
            value INTEGER NOT NULL CHECK (value IN (-1, 1)),
            chosen INTEGER CHECK (chosen >= 0),  -- NULL not asked, 0 none of them, N sentence N
            voted_at REAL NOT NULL,
            UNIQUE (answer_id, voter)
        );
        CREATE INDEX votes_voted_at ON votes (voted_at);
        """,
    )


def _run(db: sqlite3.Connection, script: str) -> None:
    """Each statement of `script` inside the caller's transaction.

    Not `executescript`, which commits any open transaction first.
    """
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_v1_question_log, _v2_votes)
VERSION = len(MIGRATIONS)


def schema_version(db: sqlite3.Connection) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def migrate(db: sqlite3.Connection, path: Path, upto: int = VERSION) -> int:
    """Bring the database at `path` to version `upto`; returns the version it had.

    `db` must be in autocommit mode (isolation_level=None): each step and its
    version bump commit together, so a crash mid-upgrade leaves a whole version.
    """
    found = schema_version(db)
    if found > VERSION:
        raise SchemaTooNew(path, found, VERSION)
    for version in range(found + 1, upto + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while this one waited for the lock.
            if schema_version(db) < version:
                MIGRATIONS[version - 1](db)
                db.execute(f"PRAGMA user_version = {version}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return found
