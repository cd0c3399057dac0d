"""The question log and its feedback: SQLite storage, its admin views and its export.

The bot uses `AsyncStorage` (never blocks the event loop, never raises on a
broken database); the CLI and tests use `Storage` directly.
"""

from bot.storage.database import DEFAULT_KEEP_DAYS, Storage
from bot.storage.facade import AsyncStorage
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
from bot.storage.schema import SchemaTooNew

__all__ = [
    "DEFAULT_KEEP_DAYS",
    "DOWN",
    "NONE_OF_THEM",
    "UP",
    "AsyncStorage",
    "Gap",
    "LoggedHit",
    "QuestionEntry",
    "RatedQuestion",
    "SchemaTooNew",
    "Storage",
    "UsageStats",
    "VoteOutcome",
]
