"""The bot's side of feeds: one repeating job per feed, and `/feeds` for admins.

Each feed is polled by python-telegram-bot's JobQueue every `every` seconds; the poll
itself (network, parsing, extraction, storage) runs in a worker thread
(retrieval/ingest/feeds.py), and a poll that stored something reloads the engine
once, off the event loop, as an upload does. A feed that fails is logged and shown on
`/feeds`; the other feeds and the questions carry on.
"""

from __future__ import annotations

import asyncio
import logging
import time

from telegram import Update
from telegram.ext import Application, ContextTypes, JobQueue

from bot.access import admin_only
from bot.ingest_handlers import reload_engine
from bot.render import escape, format_duration, own_isolate, pack, rtl_line, rtl_text
from bot.settings import Settings
from bot.state import state_of
from retrieval.ingest.feeds import Feed, FeedPoller, FeedStatus
from retrieval.ingest.fetch import FetchLimits

log = logging.getLogger(__name__)

POLLER_KEY = "feed_poller"
FIRST_POLL_DELAY = 1.0  # seconds after start-up before each feed's first poll

TITLE = "<b>الخلاصات</b> ({count}):"
NO_FEEDS = "لا توجد خلاصات في الإعدادات (المفتاح feeds)."
FEED_LINE = "• {url} — {outlet}"
LAST_POLL = "آخر جلب: منذ {ago}؛ أُضيف فيه {last}، ومنذ التشغيل {total}"
NEVER_POLLED = "لم تُجلب بعد"
LAST_ERROR = "آخر خطأ: {error}"


def job_queue_for(settings: Settings) -> JobQueue | None:
    """A JobQueue when there are feeds to poll; none otherwise (no scheduler runs idle)."""
    return JobQueue() if settings.feeds else None


def schedule(application: Application, settings: Settings) -> None:
    """Register one repeating poll per configured feed (nothing without feeds)."""
    if not settings.feeds or settings.corpus.uploads is None:
        return
    ingest = settings.ingest
    limits = FetchLimits(
        max_bytes=ingest.max_bytes,
        timeout=ingest.fetch_timeout,
        allow_private=ingest.allow_private_addresses,
    )
    poller = FeedPoller(settings.feeds, settings.corpus.uploads, limits)
    application.bot_data[POLLER_KEY] = poller
    assert application.job_queue is not None, "python-telegram-bot[job-queue] is required"
    for feed in settings.feeds:
        application.job_queue.run_repeating(
            poll_job, interval=feed.every, first=FIRST_POLL_DELAY, data=feed, name=feed.url
        )
        log.info("feed %s: polled every %g s", feed.url, feed.every)


async def poll_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """One poll of the job's feed; reloads the engine when it stored something."""
    feed = context.job.data if context.job is not None else None
    poller: FeedPoller | None = context.bot_data.get(POLLER_KEY)
    if not isinstance(feed, Feed) or poller is None:
        return
    application = context.application
    result = await asyncio.to_thread(poller.poll, feed, lambda: application.running)
    if not result.added or not application.running:
        return  # stored documents are indexed at the next start if the bot is stopping
    failure = await reload_engine(state_of(context))
    if failure is not None:
        log.warning("feed %s: %d stored but not indexed: %s", feed.url, len(result.added), failure)
        poller.statuses[feed.url].last_error = f"stored but not indexed: {failure}"
    else:
        log.info("feed %s: indexed %s", feed.url, ", ".join(result.added))


@admin_only
async def feeds_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/feeds`: each feed with its last poll, items added and last error (admins only)."""
    poller: FeedPoller | None = context.bot_data.get(POLLER_KEY)
    message = update.effective_message
    if poller is None:
        await message.reply_text(rtl_text(NO_FEEDS))
        return
    for text in render_feeds(list(poller.statuses.values()), time.time()):
        await message.reply_text(text)


def render_feeds(statuses: list[FeedStatus], now: float) -> list[str]:
    """The /feeds listing (Telegram HTML, every URL and error escaped)."""
    lines = [rtl_line(TITLE.format(count=len(statuses)))]
    for status in statuses:
        feed = status.feed
        url = own_isolate(f"<code>{escape(feed.url)}</code>")
        outlet = own_isolate(escape(status.outlet or feed.outlet or "—"))
        lines.append(rtl_line(FEED_LINE.format(url=url, outlet=outlet)))
        if status.last_poll is None:
            lines.append(rtl_line(NEVER_POLLED))
        else:
            ago = format_duration(now - status.last_poll)
            lines.append(
                rtl_line(
                    LAST_POLL.format(ago=ago, last=status.last_added, total=status.added_total)
                )
            )
        if status.last_error:
            error = own_isolate(escape(_clip(status.last_error)))
            lines.append(rtl_line(LAST_ERROR.format(error=error)))
    return pack(lines, separator="\n")


def _clip(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
