"""«من نشر هذا؟» and `/who TEXT`: which outlets ran a sentence, first one on top.

The search for copies is retrieval/neardup.py's (the same sentence, or a lightly
rewritten one, in any document), run in a worker thread; this module checks the
text, renders the copies grouped by outlet with their dates and links, and replies.
A /who costs about what a question costs, so it counts against the same per-user
limit. The button under an answer is routed by bot/handlers.py, which finds the
cited sentence and calls `send_who`.
"""

from __future__ import annotations

import asyncio
import html
import logging
from urllib.parse import urlparse

from telegram import Message, Update
from telegram.ext import ContextTypes

from bot import texts
from bot.render import (
    MAX_LENGTH,
    clip,
    escape,
    message_length,
    own_isolate,
    rtl_isolate,
    rtl_line,
    rtl_text,
    shown_name,
)
from bot.state import state_of
from retrieval.display import printable
from retrieval.index import SentenceIndex
from retrieval.neardup import (
    MAX_CANDIDATES,
    MAX_CHARACTERS,
    MIN_WORDS,
    Copy,
    WhoRan,
    find_near_duplicates,
    word_count,
)

log = logging.getLogger(__name__)

QUOTE_LIMIT = 300  # characters of the quote repeated at the top of the reply
TITLE_LIMIT = 90  # characters of a title on a copy's line
_OUTLET_LIMIT = 60
_DATE_LIMIT = 20
_URL_LIMIT = 2000


async def who_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply with the outlets that ran the text after /who (or the message /who replies to)."""
    state = state_of(context)
    message = update.effective_message
    user = update.effective_user
    text = " ".join(context.args or ())
    replied = message.reply_to_message
    if not text.strip() and replied is not None:
        text = replied.text or replied.caption or ""
    problem = check_text(text)
    if problem is not None:
        await message.reply_text(problem)
        return
    if not state.access.is_admin(user.id) and not await state.questions.admit(user.id):
        if await state.limit_notices.admit(user.id):
            await message.reply_text(rtl_text(texts.RATE_LIMITED))
        return
    who = await send_who(message, state.engine.snapshot.index, " ".join(text.split()))
    log.info(
        "who for user %s: %d documents in %d outlets (%d candidates)",
        user.id,
        len(who.copies),
        len(who.by_outlet()),
        who.candidates,
    )


def check_text(text: str) -> str | None:
    """The reply refusing `text` (none, too short, too long), or None when it can be used."""
    if not any(ch.isalnum() for ch in text):
        return rtl_text(texts.WHO_USAGE)
    if len(text) > MAX_CHARACTERS:
        return rtl_line(texts.WHO_TOO_LONG.format(length=len(text), limit=MAX_CHARACTERS))
    words = word_count(text)
    if words < MIN_WORDS:
        return rtl_line(texts.WHO_TOO_SHORT.format(words=words, minimum=MIN_WORDS))
    return None


async def send_who(message: Message, index: SentenceIndex, text: str) -> WhoRan:
    """Find the copies of `text` in `index` (in a worker thread) and reply with them."""
    who = await asyncio.to_thread(find_near_duplicates, index, text)
    await message.reply_text(render_who(who), do_quote=True)
    return who


def render_who(who: WhoRan, limit: int = MAX_LENGTH) -> str:
    """One message: a header (outlets, documents, first date), the quote, then each
    outlet (first to run it on top) with its copies' dates, linked titles and how close
    each is; what does not fit in `limit` is counted in a last line."""
    if not who.copies:
        return rtl_line(texts.WHO_NONE)
    groups = who.by_outlet()
    first = next((c.date for c in who.copies if c.day is not None), None)
    header = (
        texts.WHO_HEADER.format(
            outlets=len(groups), documents=len(who.copies), first=shown_name(first, _DATE_LIMIT)
        )
        if first
        else texts.WHO_HEADER_UNDATED.format(outlets=len(groups), documents=len(who.copies))
    )
    quote = rtl_isolate(escape(clip(printable(who.text), QUOTE_LIMIT)))
    lines = [rtl_line(header), rtl_line(f"«{quote}»")]
    footer = [rtl_line(texts.WHO_TRUNCATED.format(limit=MAX_CANDIDATES))] if who.truncated else []
    # Room for the "… and N more" line, whatever N is.
    room = limit - message_length("\n".join(lines + footer)) - 120
    body: list[str] = []
    hidden_docs, hidden_outlets = 0, 0
    full = False  # once a line does not fit, every later copy is counted, not shown
    for group in groups:
        name = own_isolate(shown_name(group.outlet or texts.WHO_NO_OUTLET, _OUTLET_LIMIT))
        block = [rtl_line(f"• <b>{name}</b>")]
        for copy in group.copies:
            line = rtl_line("   " + _copy_line(copy))
            if full or message_length("\n".join(body + block + [line])) > room:
                full = True
                break
            block.append(line)
        shown = len(block) - 1
        if shown:
            body += block
        if shown < len(group.copies):
            hidden_docs += len(group.copies) - shown
            hidden_outlets += 1
    if hidden_docs:
        more = texts.WHO_MORE.format(documents=hidden_docs, outlets=hidden_outlets)
        footer.insert(0, rtl_line(more))
    return "\n".join(lines + body + footer)


def _copy_line(copy: Copy) -> str:
    """DATE «TITLE» (linked to the copy's page) — the same text, or how close a rewrite is."""
    date = own_isolate(shown_name(copy.date or texts.WHO_NO_DATE, _DATE_LIMIT))
    title = shown_name(copy.source.title, TITLE_LIMIT) or shown_name(copy.doc, TITLE_LIMIT)
    url = copy.url
    if url and len(url) <= _URL_LIMIT and urlparse(url).scheme in ("http", "https"):
        title = f'<a href="{html.escape(printable(url), quote=True)}">{title}</a>'
    closeness = (
        texts.WHO_SAME
        if copy.similarity >= 1.0
        else texts.WHO_SIMILAR.format(percent=int(copy.similarity * 100))
    )
    return f"{date} «{own_isolate(title)}» — {closeness}"
