"""`/timeline TOPIC`: how coverage of a topic grew, as a chart with a one-line caption.

The counting is retrieval/timeline.py's (the search's relevant sentences, per day and
outlet), the drawing bot/chart.py's; both run in worker threads, so the event loop
keeps answering questions while a chart is drawn. A timeline costs what a question
costs, so it counts against the same per-user limit.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.constants import ChatAction
from telegram.ext import ContextTypes

from bot import chart
from bot.render import escape, rtl_line, rtl_text
from bot.state import state_of
from retrieval.timeline import TIMELINE_LIMIT, Timeline, timeline_for

log = logging.getLogger(__name__)

USAGE = "اكتب الموضوع بعد الأمر، مثلاً:\n/timeline حرائق غابات عجلون"
NO_MATCHES = "لم أجد في المصادر جملاً مؤرَّخة عن «{topic}». جرّب كلمات أخرى أو أقل."
RATE_LIMITED = "طلبات كثيرة في وقت قصير. انتظر دقيقة ثم أعد المحاولة."
CAPTION = (
    "«{topic}»: {mentions} جملة في {documents} وثيقة من {first} إلى {last}؛ "
    "أكثر الأيام {busiest} ({busiest_count} جملة){extra}"
)
UNDATED = "؛ {count} بلا تاريخ لم تُحسب"
TRUNCATED = "؛ أول {limit} جملة فقط"
WEEKLY = "؛ الأعمدة أسابيع"
TOPIC_CHARACTERS = 80


async def timeline_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the topic's timeline chart, or say why there is none."""
    state = state_of(context)
    message = update.effective_message
    user = update.effective_user
    topic = " ".join(" ".join(context.args or ()).split())
    if not any(ch.isalnum() for ch in topic):
        await message.reply_text(rtl_text(USAGE))
        return
    if not state.access.is_admin(user.id) and not state.questions.allow(user.id):
        if state.limit_notices.allow(user.id):
            await message.reply_text(rtl_text(RATE_LIMITED))
        return
    await context.bot.send_chat_action(message.chat_id, ChatAction.UPLOAD_PHOTO)
    timeline = await asyncio.to_thread(timeline_for, state.engine, topic)
    if timeline is None:
        log.info("timeline for user %s: no dated matches", user.id)
        await message.reply_text(rtl_line(NO_MATCHES.format(topic=escape(_clip(topic)))))
        return
    image = await asyncio.to_thread(chart.render_png, timeline)
    await message.reply_photo(image, caption=rtl_line(escape(caption(timeline))))
    log.info(
        "timeline for user %s: %d sentences over %d bins",
        user.id,
        timeline.mentions,
        len(timeline.bins),
    )


def caption(timeline: Timeline) -> str:
    """One plain-text line: total, first and last date, the busiest day (and what was
    left out)."""
    extra = ""
    if timeline.unit == "week":
        extra += WEEKLY
    if timeline.undated:
        extra += UNDATED.format(count=timeline.undated)
    if timeline.truncated:
        extra += TRUNCATED.format(limit=TIMELINE_LIMIT)
    day, count = timeline.busiest
    return CAPTION.format(
        topic=_clip(timeline.topic),
        mentions=timeline.mentions,
        documents=timeline.documents,
        first=timeline.first.isoformat(),
        last=timeline.last.isoformat(),
        busiest=day.isoformat(),
        busiest_count=count,
        extra=extra,
    )


def _clip(text: str) -> str:
    return text if len(text) <= TOPIC_CHARACTERS else text[: TOPIC_CHARACTERS - 1] + "…"
