"""What the question log stores and answers: plain records, no SQL."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from retrieval.search import SearchResult

UP, DOWN = 1, -1
NONE_OF_THEM = 0  # the `rank` of choose(): no shown sentence answered the question


@dataclass(frozen=True, slots=True)
class LoggedHit:
    """One sentence as shown: `text` too, so an export outlives corpus changes."""

    doc: str
    position: int
    score: float
    text: str


@dataclass(frozen=True, slots=True)
class QuestionEntry:
    """One answered question, as the bot hands it to the log."""

    question: str
    terms: tuple[str, ...]
    hits: tuple[LoggedHit, ...]
    latency_ms: float
    generation: str
    chat_type: str
    chat_id: int | None = None
    user_id: int | None = None
    asked_at: float = field(default_factory=time.time)

    @classmethod
    def from_result(
        cls,
        result: SearchResult,
        *,
        latency_ms: float,
        generation: str,
        chat_type: str,
        chat_id: int | None,
        user_id: int | None,
    ) -> QuestionEntry:
        """The entry for a reply showing `result.hits` (numbered from 1, as the reply does)."""
        return cls(
            question=result.question,
            terms=tuple(result.terms),
            hits=tuple(
                LoggedHit(h.source.doc, h.sentence.position, float(h.score), h.text)
                for h in result.hits
            ),
            latency_ms=latency_ms,
            generation=generation,
            chat_type=chat_type,
            chat_id=chat_id,
            user_id=user_id,
        )


class VoteOutcome(Enum):
    """What became of a vote; everything but COUNTED and CHANGED was not recorded."""

    COUNTED = "counted"  # a first vote
    CHANGED = "changed"  # replaced this voter's earlier vote
    UNCHANGED = "unchanged"  # the same vote again (a double tap or a replayed callback)
    UNKNOWN = "unknown"  # no such answer: never logged, or deleted by retention
    NOT_YOURS = "not_yours"  # only the asker may rate an answer
    INVALID = "invalid"  # a value other than ±1, or a sentence the answer did not show
    UNAVAILABLE = "unavailable"  # storage is down (AsyncStorage only)

    @property
    def recorded(self) -> bool:
        return self in (VoteOutcome.COUNTED, VoteOutcome.CHANGED, VoteOutcome.UNCHANGED)


@dataclass(frozen=True, slots=True)
class Gap:
    """Recent questions with the same analyzed terms that got no hits or a 👎."""

    terms: tuple[str, ...]
    count: int
    example: str  # the most recent question of the group, as asked
    no_hits: int  # of `count`, how many got no hits at all
    last_asked: float


@dataclass(frozen=True, slots=True)
class UsageStats:
    """The last `days` days of the log, for /stats."""

    days: int
    per_day: tuple[tuple[date, int], ...]  # oldest first, days without questions included
    questions: int
    no_hits: int
    up: int
    down: int
    p50_ms: float | None
    p95_ms: float | None

    @property
    def no_hits_share(self) -> float | None:
        return self.no_hits / self.questions if self.questions else None


@dataclass(frozen=True, slots=True)
class RatedQuestion:
    """A logged question with every vote on it, as the evaluation export reads them."""

    id: int
    asked_at: float
    question: str
    hits: tuple[LoggedHit, ...]
    votes: tuple[tuple[int, int | None], ...]  # (value, chosen) per voter
