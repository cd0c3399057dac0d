"""The long-lived objects the handlers share, kept in `bot_data` behind one typed accessor."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.answers import AnswerCache, AnswerStore
from bot.feedback import Feedback
from bot.fleet import Fleet, LocalReloads, Reloads
from bot.policy import Access, Limiter, RateLimiter
from bot.settings import IngestSettings
from bot.stats import Stats
from retrieval.backend import SearchBackend
from retrieval.engine import ProgressFactory

STATE_KEY = "coverage_bot"


@dataclass(slots=True)
class BotState:
    engine: SearchBackend  # retrieval/backend.py: today the in-process Engine
    access: Access
    # Questions and result buttons («المزيد», «السياق») per user per minute; admins
    # are not limited.
    questions: Limiter
    refusals: RateLimiter  # refusals per user (or group) per minute, per replica
    # "too many questions" notices per user per minute: one is enough, and answering each
    # refused question would spend the bot's shared sending budget (about 30 messages a
    # second, bot/delivery.py) on the flood while colleagues wait.
    limit_notices: Limiter
    stats: Stats = field(default_factory=Stats)
    answers: AnswerStore = field(default_factory=AnswerCache)
    # Handed to Engine.reload: ticked once per indexed document (logs a long rebuild).
    reload_progress: ProgressFactory | None = None
    # Limits for uploads and /add (bot/ingest_handlers.py).
    ingest: IngestSettings = field(default_factory=IngestSettings)
    # The question log and its votes (bot/feedback.py, bot/storage/); None: not kept.
    feedback: Feedback | None = None
    # How /reload and uploads reload: this process alone, or the fleet (bot/fleet.py).
    reloads: Reloads | None = None
    # Set when state.redis_url is: this replica's part in the fleet.
    fleet: Fleet | None = None

    def __post_init__(self) -> None:
        if self.reloads is None:
            self.reloads = self.fleet or LocalReloads(self.engine)


def state_of(context: Any) -> BotState:
    """The bot's shared state from a handler's context (or from the Application)."""
    return context.bot_data[STATE_KEY]
