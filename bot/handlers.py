"""What the bot does with each kind of update: read it, call the engine, render, reply.

Searching and reloading are CPU- and disk-bound, so both run in worker threads
(`asyncio.to_thread`) and the event loop keeps serving other chats meanwhile; a
question asked during a reload is answered from the index still in service. With
an index folder the rebuild itself runs in a child process (retrieval/rebuild.py),
so the reload's thread mostly waits and the questions keep the GIL.
Formatting lives in render.py, wording in texts.py, permissions in access.py.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot import feedback, ingest_handlers, render, texts, who
from bot.access import admin_only
from bot.addressing import is_private, without_mention
from bot.answers import (
    CONTEXT,
    MORE,
    WHO,
    Answer,
    Cited,
    context_data,
    more_data,
    parse_button,
    who_data,
)
from bot.answers import sources_data as sources_button_data
from bot.state import BotState, state_of
from bot.storage import QuestionEntry
from retrieval.engine import ReloadFailed, ReloadInProgress, Snapshot
from retrieval.filters import FilterError, Filters, Selection, outlet_names, parse_filters, select
from retrieval.index import SentenceIndex
from retrieval.search import SearchResult, search

log = logging.getLogger(__name__)

CONTEXT_BUTTONS = 10  # cited sentences with «السياق» and «من نشر هذا؟» buttons, at most
CONTEXT_RADIUS = 2  # sentences shown on each side of a cited one
SOURCES_PER_PAGE = 10
LOG_WAIT = 1.0  # seconds an answer waits for the question log before it is sent anyway
USAGE_DAYS = 7  # days of the question log /stats sums up


# --- questions -----------------------------------------------------------------------


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send what the bot does and how to ask (and, to admins, the admin commands)."""
    is_admin = state_of(context).access.is_admin(update.effective_user.id)
    await update.effective_message.reply_text(render.render_help(is_admin))


async def ask_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer `/ask QUESTION`; explain the usage when the question is missing."""
    question = " ".join(context.args or ())
    if not question:
        await update.effective_message.reply_text(render.rtl_text(texts.ASK_USAGE))
        return
    await answer(update, context, question)


async def private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer any text in a private chat."""
    await answer(update, context, update.effective_message.text or "")


async def group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a group message that mentions the bot or replies to it (the gate let only
    those through)."""
    text = without_mention(update.effective_message.text or "", context.bot.username)
    await answer(update, context, text)


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Point to /help after a command the bot does not know (private chats only)."""
    if is_private(update.effective_message):
        await update.effective_message.reply_text(render.rtl_text(texts.UNKNOWN_COMMAND))


# Seconds a search may take before the bot shows "typing…" (benchmarks/load.py).
TYPING_AFTER = 0.3


async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE, question: str) -> None:
    """Search, then reply with the cited sentences (or say that nothing matched)."""
    state = state_of(context)
    message = update.effective_message
    user = update.effective_user
    if not any(ch.isalnum() for ch in question):  # empty, spaces, punctuation, emoji, marks
        await message.reply_text(render.rtl_text(texts.EMPTY_QUESTION))
        return
    if not state.access.is_admin(user.id) and not await state.questions.admit(user.id):
        if await state.limit_notices.admit(user.id):
            log.info("user %s is over the question limit", user.id)
            await message.reply_text(render.rtl_text(texts.RATE_LIMITED))
        return
    try:
        text, filters = parse_filters(question)
    except FilterError as exc:
        log.info("user %s sent an unusable filter: %s", user.id, exc)
        await message.reply_text(render.render_filter_error(exc))
        return
    if not any(ch.isalnum() for ch in text):  # only filters, no question
        await message.reply_text(render.rtl_text(texts.EMPTY_QUESTION))
        return
    started = time.perf_counter()
    searching = asyncio.ensure_future(_search(state, text, 0, filters))
    # "typing…" only when the answer is not ready at once: on a fast question it would
    # spend one of the bot's ~30 sends a second on an indicator nobody sees.
    if not (await asyncio.wait({searching}, timeout=TYPING_AFTER))[0]:
        await _typing(context, message.chat_id)
    found = await searching
    if found.result is None:
        log.info("user %s: filters %s select no document", user.id, filters.as_dict())
        reply = render.render_filter_empty(filters, found.selection, found.known_outlets)
        await message.reply_text(reply, do_quote=None)
        return
    generation, result = found.generation, found.result
    latency_ms = (time.perf_counter() - started) * 1000
    answer_id = await _log_question(state, update, result, generation, latency_ms)
    sent = await _send_page(
        context,
        message,
        state,
        generation,
        result,
        quote=True,
        answer_id=answer_id,
        question=question,
        filters=render.filters_line(filters, found.selection),
    )
    state.stats.record_answer(time.perf_counter() - started)
    log.info(
        "answered user %s in chat %s: %d hits in %d messages",
        user.id,
        message.chat_id,
        len(result.hits),
        len(sent),
    )


async def _log_question(
    state: BotState, update: Update, result: SearchResult, generation: str, latency_ms: float
) -> int | None:
    """Log an answered question; its answer id (for 👍/👎), or None without a log.

    Waits at most LOG_WAIT: a database locked by another process must not hold up the
    reply (the entry may still be written later; that answer then has no vote buttons).
    """
    if state.feedback is None:
        return None
    chat = update.effective_chat
    entry = QuestionEntry.from_result(
        result,
        latency_ms=latency_ms,
        generation=generation,
        chat_type=chat.type,
        chat_id=chat.id,
        user_id=update.effective_user.id,
    )
    try:
        return await asyncio.wait_for(state.feedback.storage.log_question(entry), LOG_WAIT)
    except TimeoutError:
        # Info, not a warning: a lasting fault is warned about once, by the storage itself.
        log.info("question log slower than %g s; answer sent without vote buttons", LOG_WAIT)
        return None


@dataclass(frozen=True, slots=True)
class _Found:
    generation: str  # of the snapshot searched, so buttons remember which index answered
    result: SearchResult | None  # None: the filters select no document of that index
    selection: Selection | None = None  # None without filters
    known_outlets: tuple[str, ...] = ()  # listed when a named outlet is unknown


async def _search(state: BotState, question: str, offset: int, filters: Filters) -> _Found:
    """Search one snapshot in a worker thread, inside the documents `filters` select."""
    engine = state.engine
    snapshot = engine.snapshot

    def run() -> _Found:
        index = snapshot.index
        selection = select(index.sources, filters) if filters else None
        if selection is not None and selection.empty:
            known = tuple(outlet_names(index.sources)) if selection.unknown_outlets else ()
            return _Found(snapshot.generation, None, selection, known)
        result = search(
            index,
            question,
            k=engine.top_k,
            offset=offset,
            min_coverage=engine.min_coverage,
            allowed=selection.allowed if selection is not None else None,
        )
        return _Found(snapshot.generation, result, selection)

    return await asyncio.to_thread(run)


async def _send_page(
    context: ContextTypes.DEFAULT_TYPE,
    message: Message,
    state: BotState,
    generation: str,
    result: SearchResult,
    quote: bool,
    answer_id: int | None = None,
    question: str | None = None,
    filters: str = "",
) -> list[Message]:
    """Send one page of hits (split into as many messages as it takes), buttons under the
    last one; 👍/👎 too when the question was logged as `answer_id`. `question` as asked,
    filter tokens included, so «المزيد» searches with the same filters; `filters` is the
    line stating them."""
    if not result.hits:
        text = render.rtl_text(texts.NO_HITS) if quote else render.rtl_text(texts.NO_MORE)
        text = (filters + "\n" if filters else "") + text
        return [await message.reply_text(text, do_quote=None if quote else False)]
    cited = tuple(Cited(h.rank, h.sentence.doc, h.sentence.position) for h in result.hits)
    next_offset = result.hits[-1].rank
    asked = question if question is not None else result.question
    entry = Answer(asked, generation, message.chat_id, next_offset, cited)
    key = await state.answers.remember(entry, has_more=result.has_more)
    markup = answer_keyboard(key, cited, result.has_more, answer_id)
    chunks = render.render_answer(result.hits, outcome=result.outcome, filters=filters)
    sent = []
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        sent.append(
            await message.reply_text(
                chunk,
                do_quote=None if quote and i == 0 else False,  # None: quote in groups only
                reply_markup=markup if last else None,
            )
        )
    return sent


def answer_keyboard(
    key: str, cited: Sequence[Cited], has_more: bool, answer_id: int | None = None
) -> InlineKeyboardMarkup:
    """One row per cited sentence («السياق N», «من نشر هذا؟ N»), "more" when more
    results exist, and 👍/👎 when the question was logged."""
    rows = [
        [
            InlineKeyboardButton(
                texts.CONTEXT_BUTTON.format(rank=c.rank), callback_data=context_data(key, c.rank)
            ),
            InlineKeyboardButton(
                texts.WHO_BUTTON.format(rank=c.rank), callback_data=who_data(key, c.rank)
            ),
        ]
        for c in cited[:CONTEXT_BUTTONS]
    ]
    if has_more:
        rows.append([InlineKeyboardButton(texts.MORE_BUTTON, callback_data=more_data(key))])
    if answer_id is not None:
        rows.append(feedback.vote_row(answer_id, len(cited)))
    return InlineKeyboardMarkup(rows)


async def _typing(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> None:
    """Show "typing…" while searching; an answer matters more than the indicator."""
    try:
        await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
    except TelegramError as exc:
        log.debug("typing action failed in chat %s: %s", chat_id, exc)


# --- buttons -------------------------------------------------------------------------


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Route a pressed button; unknown, forged or outdated data gets "expired".

    «المزيد», «السياق» and «من نشر هذا؟» send corpus sentences, so a press counts like
    a question against `questions_per_minute`; over the limit it gets a short notice only.
    """
    query = update.callback_query
    parsed = parse_button(query.data)
    if (
        parsed is not None
        and parsed.action in (MORE, CONTEXT, WHO)
        and not await _may_press(update, context)
    ):
        await query.answer(texts.BUTTON_RATE_LIMITED)
        return
    if parsed is not None and parsed.action == MORE:
        await more(update, context, parsed.key)
    elif parsed is not None and parsed.action == CONTEXT:
        await show_context(update, context, parsed.key, parsed.number)
    elif parsed is not None and parsed.action == WHO:
        await show_who(update, context, parsed.key, parsed.number)
    elif parsed is not None:
        await sources_page(update, context, parsed.number)
    else:
        log.info("unknown button data from user %s", update.effective_user.id)
        await query.answer(texts.EXPIRED, show_alert=True)


async def _may_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    state = state_of(context)
    user_id = update.effective_user.id
    if state.access.is_admin(user_id) or await state.questions.admit(user_id):
        return True
    log.info("user %s is over the question limit (button)", user_id)
    return False


async def _valid_answer(
    state: BotState, key: str, chat_id: int | None, snapshot: Snapshot
) -> Answer | None:
    """The cached answer behind a button, if it was given in this chat from this index."""
    entry = await state.answers.recall(key)
    if entry is None or entry.chat_id != chat_id or entry.generation != snapshot.generation:
        return None
    return entry


async def more(update: Update, context: ContextTypes.DEFAULT_TYPE, key: str) -> None:
    """Send the next page of results for the answer under which "more" was pressed."""
    state = state_of(context)
    query = update.callback_query
    message = query.message
    chat_id = message.chat.id if message else None
    entry = await _valid_answer(state, key, chat_id, state.engine.snapshot)
    # Claimed atomically (fleet-wide with Redis), so two quick presses cannot both pass.
    if entry is None or not isinstance(message, Message) or not await state.answers.claim_more(key):
        await query.answer(texts.EXPIRED, show_alert=True)
        return
    try:
        text, filters = parse_filters(entry.question)
    except FilterError:  # it parsed when it was asked; only a changed parser gets here
        await query.answer(texts.EXPIRED, show_alert=True)
        return
    found = await _search(state, text, entry.next_offset, filters)
    generation, result = found.generation, found.result
    if generation != entry.generation or result is None:  # a reload finished in between
        await query.answer(texts.EXPIRED, show_alert=True)
        return
    await query.answer()
    # The pressed "more" has done its job: keep the other buttons (context, 👍/👎).
    try:
        await query.edit_message_reply_markup(
            feedback.without(message.reply_markup, more_data(key))
        )
    except BadRequest as exc:
        log.debug("could not drop the 'more' button: %s", exc)
    await _send_page(
        context,
        message,
        state,
        generation,
        result,
        quote=False,
        question=entry.question,
        filters=render.filters_line(filters, found.selection),
    )


async def show_context(
    update: Update, context: ContextTypes.DEFAULT_TYPE, key: str, rank: int
) -> None:
    """Send the sentences around a cited one, from the same document of the same index."""
    found = await _pressed(update, context, key, rank)
    if found is None:
        return
    message, index, doc_index, cited = found
    await update.callback_query.answer()
    rows = index.document_rows(doc_index)
    near = [
        index.sentence(int(row))
        for row in rows
        if abs(int(index.sent_pos[row]) - cited.position) <= CONTEXT_RADIUS
    ]
    chunks = render.render_context(rank, index.sources[doc_index], near, cited.position)
    for chunk in chunks:
        await message.reply_text(chunk, do_quote=True)


async def show_who(update: Update, context: ContextTypes.DEFAULT_TYPE, key: str, rank: int) -> None:
    """Send every outlet that ran cited sentence `rank` (or a near-duplicate of it)."""
    found = await _pressed(update, context, key, rank)
    if found is None:
        return
    message, index, doc_index, cited = found
    query = update.callback_query
    rows = index.document_rows(doc_index)
    row = next((int(r) for r in rows if int(index.sent_pos[r]) == cited.position), None)
    if row is None:
        await query.answer(texts.EXPIRED, show_alert=True)
        return
    await query.answer()
    shown = await who.send_who(message, index, index.texts[row])
    log.info(
        "who (button) for user %s: %d documents in %d outlets",
        update.effective_user.id,
        len(shown.copies),
        len(shown.by_outlet()),
    )


async def _pressed(
    update: Update, context: ContextTypes.DEFAULT_TYPE, key: str, rank: int
) -> tuple[Message, SentenceIndex, int, Cited] | None:
    """The message and cited sentence behind a pressed button; None, after telling the
    presser the answer has expired, when that answer is no longer served."""
    query = update.callback_query
    message = query.message
    found = await _cited_sentence(state_of(context), message, key, rank)
    if found is None or not isinstance(message, Message):
        await query.answer(texts.EXPIRED, show_alert=True)
        return None
    return (message, *found)


async def _cited_sentence(
    state: BotState, message: object, key: str, rank: int
) -> tuple[SentenceIndex, int, Cited] | None:
    """(index, document number, cited sentence) behind a button under an answer given in
    this chat from the index still in service; None when that answer is gone."""
    snapshot = state.engine.snapshot  # once: a reload may swap it at any moment
    chat_id = message.chat.id if isinstance(message, Message) else None
    entry = await _valid_answer(state, key, chat_id, snapshot)
    cited = entry.cited_at(rank) if entry else None
    if cited is None:
        return None
    index = snapshot.index
    doc_index = next((i for i, s in enumerate(index.sources) if s.doc == cited.doc), None)
    return (index, doc_index, cited) if doc_index is not None else None


# --- sources -------------------------------------------------------------------------


def _sources_page(
    state: BotState, page: int, is_admin: bool = False
) -> tuple[str, InlineKeyboardMarkup | None]:
    index = state.engine.snapshot.index
    shown = render.render_sources(
        index.sources, [int(c) for c in index.sentence_counts()], page, SOURCES_PER_PAGE
    )
    buttons = []
    if shown.number > 1:
        buttons.append(
            InlineKeyboardButton(
                texts.PREVIOUS_BUTTON, callback_data=sources_button_data(shown.number - 1)
            )
        )
    if shown.number < shown.count:
        buttons.append(
            InlineKeyboardButton(
                texts.NEXT_BUTTON, callback_data=sources_button_data(shown.number + 1)
            )
        )
    rows = [buttons] if buttons else []
    if is_admin:  # uploads on this page get a remove button (bot/ingest_handlers.py)
        first = (shown.number - 1) * SOURCES_PER_PAGE
        rows += ingest_handlers.removal_rows(index.sources[first : first + SOURCES_PER_PAGE])
    return shown.text, InlineKeyboardMarkup(rows) if rows else None


async def sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the first page of the corpus listing."""
    state = state_of(context)
    text, markup = _sources_page(state, 1, state.access.is_admin(update.effective_user.id))
    await update.effective_message.reply_text(text, reply_markup=markup)


async def sources_page(update: Update, context: ContextTypes.DEFAULT_TYPE, page: int) -> None:
    """Turn the listing to another page in place."""
    query = update.callback_query
    await query.answer()
    state = state_of(context)
    text, markup = _sources_page(state, page, state.access.is_admin(update.effective_user.id))
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:  # e.g. "message is not modified" after a double tap
        log.debug("sources page not edited: %s", exc)


# --- admin ---------------------------------------------------------------------------


@admin_only
async def reload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Rebuild the index from the corpus folder in a worker thread, then report."""
    state = state_of(context)
    message = update.effective_message
    user_id = update.effective_user.id
    if await state.reloads.running():
        await message.reply_text(render.rtl_text(texts.RELOAD_RUNNING))
        return
    await message.reply_text(render.rtl_text(texts.RELOAD_STARTED))
    started = time.perf_counter()
    try:
        report = await state.reloads.reload(state.reload_progress)
    except ReloadInProgress:
        await message.reply_text(render.rtl_text(texts.RELOAD_RUNNING))
        return
    except ReloadFailed as exc:
        seconds = time.perf_counter() - started
        log.warning("reload by user %s failed after %.2f s: %s", user_id, seconds, exc)
        current = state.engine.snapshot if state.engine.is_open else None
        await message.reply_text(render.render_reload_failure(str(exc), seconds, current))
        return
    seconds = time.perf_counter() - started
    after = report.after.index
    log.info(
        "reload by user %s: %d documents, %d sentences in %.2f s "
        "(%d added, %d removed, %d changed, %d skipped)",
        user_id,
        len(after.sources),
        after.n_sentences,
        seconds,
        len(report.added),
        len(report.removed),
        len(report.changed),
        len(report.after.problems),
    )
    engine = state.engine
    folders = [p for p in (engine.corpus_dir, engine.uploads_dir) if p is not None]
    for chunk in render.render_reload_report(report, seconds, folders):
        await message.reply_text(chunk)


@admin_only
async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send uptime, corpus size, index build time, questions answered, median latency,
    and the question log's last 7 days (or why it is unavailable)."""
    state = state_of(context)
    usage, problem = None, None
    if state.feedback is not None:
        storage = state.feedback.storage
        usage = await storage.stats(days=USAGE_DAYS)
        problem = storage.problem
    text = render.render_stats(
        state.engine.snapshot,
        state.stats.uptime(),
        state.stats.answered,
        state.stats.median_latency(),
        usage=usage,
        storage_problem=problem,
    )
    await update.effective_message.reply_text(text)


# --- errors --------------------------------------------------------------------------


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure first (with the update id), then apologise to the chat, if any."""
    update_id = update.update_id if isinstance(update, Update) else None
    if update is None and isinstance(context.error, TelegramError):
        # Raised while fetching updates; the updater retries by itself.
        log.warning("Bot API request failed: %s", context.error)
        return
    log.error("error while handling update %s", update_id, exc_info=context.error)
    chat = update.effective_chat if isinstance(update, Update) else None
    if chat is None:
        return
    try:
        await context.bot.send_message(chat.id, render.rtl_text(texts.APOLOGY))
    except TelegramError as exc:
        log.warning("could not apologise for update %s: %s", update_id, exc)
