"""The long-lived objects the handlers share, kept in `bot_data` behind one typed accessor."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.answers import AnswerCache
from bot.feedback import Feedback
from bot.policy import Access, RateLimiter
from bot.settings import IngestSettings
from bot.stats import Stats
from retrieval.engine import Engine, ProgressFactory

STATE_KEY = "coverage_bot"


@dataclass(slots=True)
class BotState:
    engine: Engine
    access: Access
    # Questions and result buttons («المزيد», «السياق») per user per minute; admins
    # are not limited.
    questions: RateLimiter
    refusals: RateLimiter  # refusals per user (or group) per minute: a flood gets few replies
    # "too many questions" notices per user per minute: one is enough, and answering each
    # refused question would spend the bot's shared sending budget (about 30 messages a
    # second, bot/delivery.py) on the flood while colleagues wait.
    limit_notices: RateLimiter
    stats: Stats = field(default_factory=Stats)
    answers: AnswerCache = field(default_factory=AnswerCache)
    # Handed to Engine.reload: ticked once per indexed document (logs a long rebuild).
    reload_progress: ProgressFactory | None = None
    # Limits for uploads and /add (bot/ingest_handlers.py).
    ingest: IngestSettings = field(default_factory=IngestSettings)
    # The question log and its votes (bot/feedback.py, bot/storage/); None: not kept.
    feedback: Feedback | None = None


def state_of(context: Any) -> BotState:
    """The bot's shared state from a handler's context (or from the Application)."""
    return context.bot_data[STATE_KEY]
