"""Admins keep the corpus current from the chat: upload a document, /add a link, /remove one.

An upload is checked before it is downloaded (an admin's, a supported type, within
the Bot API's 20 MB and `ingest.max_bytes`), downloaded through getFile, turned into
text (retrieval/ingest/extract.py), stored in the uploads folder
(retrieval/ingest/uploads.py) and indexed by the engine's reload, which runs in a
worker thread like /reload. Every refusal is one reply naming the file (or link) and
the reason; nothing is stored then. Library work runs in worker threads, so the
event loop keeps answering questions meanwhile.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from pathlib import Path
from urllib.parse import urlsplit

from telegram import Document, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot import ingest_texts as texts
from bot.access import admin_only
from bot.render import clip, escape, own_isolate, rtl_line, rtl_text
from bot.state import BotState, state_of
from retrieval.display import printable
from retrieval.engine import Engine, ReloadFailed, ReloadInProgress
from retrieval.ingest import uploads
from retrieval.ingest.extract import SUPPORTED, extract, supported
from retrieval.ingest.fetch import FetchLimits, fetch_html
from retrieval.ingest.models import OVERRIDABLE, Extracted, IngestError
from retrieval.models import Source
from retrieval.roots import folders_read

log = logging.getLogger(__name__)

# Bots may download files of at most 20 MB through the Bot API (getFile).
BOT_API_DOWNLOAD_LIMIT = 20 * 1024 * 1024
REMOVE_PREFIX = "ud:"  # callback data: "ud:" + a hash of the upload's file name
_RELOAD_WAIT_SECONDS = 300  # an upload waits this long for a running reload to finish


# --- upload --------------------------------------------------------------------------


async def upload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Add the sent document to the corpus (admins only; checked before downloading)."""
    state = state_of(context)
    message = update.effective_message
    document = message.document
    user_id = update.effective_user.id
    name = (document.file_name or "").strip() or "file"
    if not state.access.is_admin(user_id):
        log.warning("refused upload of %r from user %s (not an admin)", name, user_id)
        await _refuse(message, name, texts.NOT_ADMIN_REASON)
        return
    refusal = _check_before_download(state, document, name)
    if refusal is not None:
        log.info("upload of %r by user %s refused: %s", name, user_id, refusal)
        await _refuse(message, name, refusal)
        return
    try:
        telegram_file = await context.bot.get_file(document.file_id)
        data = bytes(await telegram_file.download_as_bytearray())
    except TelegramError as exc:
        await _refuse(message, name, f"could not be downloaded from Telegram ({exc})")
        return
    settings = state.ingest
    try:
        extracted = await asyncio.to_thread(extract, data, name, settings.max_bytes)
    except IngestError as exc:
        log.info("upload of %r by user %s refused: %s", name, user_id, exc)
        await _refuse(message, name, exc.reason)
        return
    extracted = extracted.with_overrides(caption_overrides(message.caption or ""))
    await _store_and_index(message, state, extracted, name, user_id)


def _check_before_download(state: BotState, document: Document, name: str) -> str | None:
    """Why the file must not even be downloaded, or None."""
    if state.engine.uploads_dir is None:
        return texts.UPLOADS_OFF_REASON
    if not supported(name):
        return f"this type is not supported (send {', '.join(SUPPORTED)})"
    size = document.file_size or 0
    if size > BOT_API_DOWNLOAD_LIMIT:
        return (
            f"too large ({_mb(size)}); bots can download at most "
            f"{_mb(BOT_API_DOWNLOAD_LIMIT)} through the Bot API"
        )
    if size > state.ingest.max_bytes:
        return f"too large ({_mb(size)}; ingest.max_bytes is {_mb(state.ingest.max_bytes)})"
    return None


def caption_overrides(caption: str) -> dict[str, str]:
    """`title: …`, `outlet: …`, `date: …`, `url: …` lines of a caption (other lines ignored)."""
    found = {}
    for line in caption.splitlines():
        key, sep, value = line.partition(":")
        key = key.strip().lower()
        if sep and key in OVERRIDABLE and value.strip():
            found[key] = " ".join(value.split())
    return found


# --- /add URL ------------------------------------------------------------------------


@admin_only
async def add_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/add URL`: fetch the page and add its article (admins only)."""
    state = state_of(context)
    message = update.effective_message
    user_id = update.effective_user.id
    args = context.args or []
    if not args:
        await message.reply_text(rtl_text(texts.ADD_USAGE))
        return
    url = args[0]
    if state.engine.uploads_dir is None:
        await _refuse(message, url, texts.UPLOADS_OFF_REASON)
        return
    settings = state.ingest
    limits = FetchLimits(
        max_bytes=settings.max_bytes,
        timeout=settings.fetch_timeout,
        allow_private=settings.allow_private_addresses,
    )
    try:
        fetched = await asyncio.to_thread(fetch_html, url, limits)
        page_name = f"{urlsplit(fetched.url).hostname or 'page'}.html"
        extracted = await asyncio.to_thread(extract, fetched.data, page_name, settings.max_bytes)
    except IngestError as exc:
        log.info("/add %s by user %s refused: %s", url, user_id, exc)
        await _refuse(message, url, exc.reason)
        return
    if extracted.url is None:
        extracted = extracted.with_overrides({"url": fetched.url})
    overrides = caption_overrides("\n".join((message.text or "").splitlines()[1:]))
    await _store_and_index(message, state, extracted.with_overrides(overrides), url, user_id)


# --- storing and indexing --------------------------------------------------------------


async def _store_and_index(
    message: Message, state: BotState, extracted: Extracted, original: str, user_id: int
) -> None:
    assert state.engine.uploads_dir is not None
    try:
        stored = await asyncio.to_thread(
            uploads.store,
            extracted,
            state.engine.uploads_dir,
            original_name=original,
            added_by=user_id,
        )
    except IngestError as exc:
        log.info("upload of %r by user %s not stored: %s", original, user_id, exc)
        await _refuse(message, original, exc.reason)
        return
    log.info("user %s added %s (from %r)", user_id, stored.doc, original)
    started = time.perf_counter()
    failure = await reload_engine(state)
    if failure is not None:
        await message.reply_text(
            "\n".join(
                [
                    rtl_line(texts.STORED_NOT_INDEXED.format(doc=own_isolate(_shown(stored.doc)))),
                    rtl_line(own_isolate(escape(failure))),
                ]
            )
        )
        return
    sentences = _sentences_of(state.engine, stored.doc)
    await message.reply_text(
        render_added(extracted, stored.doc, sentences, time.perf_counter() - started, state),
        reply_markup=remove_keyboard(stored.name),
    )


async def reload_engine(state: BotState) -> str | None:
    """Reload the index in a worker thread (waiting out a running reload); the reason it
    failed, or None."""
    deadline = time.monotonic() + _RELOAD_WAIT_SECONDS
    while True:
        try:
            await state.reloads.reload()
            return None
        except ReloadInProgress:
            if time.monotonic() > deadline:
                return "another reload is still running; send /reload later"
            await asyncio.sleep(0.5)
        except ReloadFailed as exc:
            log.warning("reload after an upload change failed: %s", exc)
            return str(exc)


def _sentences_of(engine: Engine, doc: str) -> int:
    index = engine.snapshot.index
    counts = index.sentence_counts()
    return next((int(c) for s, c in zip(index.sources, counts, strict=True) if s.doc == doc), 0)


def render_added(
    extracted: Extracted, doc: str, sentences: int, seconds: float, state: BotState
) -> str:
    lines = [
        rtl_line(texts.ADDED.format(title=own_isolate(_shown(extracted.title)))),
        rtl_line(texts.ADDED_AS.format(doc=f"<code>{_shown(doc)}</code>")),
    ]
    if extracted.outlet:
        lines.append(rtl_line(texts.OUTLET.format(outlet=own_isolate(_shown(extracted.outlet)))))
    if extracted.date:
        lines.append(rtl_line(texts.DATE.format(date=own_isolate(_shown(extracted.date)))))
    lines.append(rtl_line(texts.SENTENCES.format(count=sentences, seconds=f"{seconds:.1f}")))
    lines += [rtl_line(texts.NOTE.format(note=own_isolate(_shown(n)))) for n in extracted.notes]
    lines.append(rtl_line(texts.FOLDERS.format(folders=own_isolate(escape(_folders(state))))))
    lines.append(rtl_line(texts.HOW_TO_REMOVE.format(doc=f"<code>/remove {_shown(doc)}</code>")))
    return "\n".join(lines)


def _folders(state: BotState) -> str:
    return folders_read(state.engine.corpus_dir, state.engine.uploads_dir)


async def _refuse(message: Message, culprit: str, reason: str) -> None:
    """One reply naming the file or link and the reason."""
    await message.reply_text(
        "\n".join(
            [
                rtl_line(texts.NOT_ADDED.format(culprit=f"<code>{_shown(culprit)}</code>")),
                rtl_line(own_isolate(escape(reason))),
            ]
        )
    )


# --- removing --------------------------------------------------------------------------


def remove_keyboard(name: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(texts.REMOVE_BUTTON, callback_data=remove_data(name))]]
    )


def remove_data(name: str) -> str:
    """Callback data naming an upload: a hash, as Arabic names exceed the 64-byte limit."""
    return REMOVE_PREFIX + hashlib.sha256(name.encode("utf-8")).hexdigest()[:24]


def removal_rows(sources: list[Source]) -> list[list[InlineKeyboardButton]]:
    """One «حذف» button per upload among `sources` (a /sources page)."""
    rows = []
    for source in sources:
        if source.doc.startswith(uploads.PREFIX):
            name = source.doc.removeprefix(uploads.PREFIX)
            label = f"{texts.REMOVE_BUTTON}: {_clip(source.title, 30)}"
            rows.append([InlineKeyboardButton(label, callback_data=remove_data(name))])
    return rows


@admin_only
async def remove_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/remove NAME`: delete an uploaded document and reindex (admins only)."""
    state = state_of(context)
    message = update.effective_message
    user_id = update.effective_user.id
    name = " ".join(context.args or ()).strip()
    if not name:
        await message.reply_text(rtl_text(texts.REMOVE_USAGE))
        return
    reply = await _remove(state, name, user_id)
    await message.reply_text(reply)


async def remove_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The «حذف» button under an upload's reply or on a /sources page (admins only)."""
    state = state_of(context)
    query = update.callback_query
    user_id = update.effective_user.id
    if not state.access.is_admin(user_id):
        log.warning("refused remove button from user %s (not an admin)", user_id)
        await query.answer(texts.ADMIN_ONLY, show_alert=True)
        return
    name = _upload_by_hash(state.engine.uploads_dir, (query.data or "").removeprefix(REMOVE_PREFIX))
    if name is None:
        await query.answer(texts.ALREADY_GONE, show_alert=True)
        return
    await query.answer()
    reply = await _remove(state, name, user_id)
    if isinstance(query.message, Message):
        await query.message.reply_text(reply)


async def _remove(state: BotState, name: str, user_id: int) -> str:
    """Remove upload `name`, reload, and say what happened (HTML)."""
    shown = f"<code>{_shown(name)}</code>"
    folder = state.engine.uploads_dir
    if _in_main_corpus(state.engine, name):
        return rtl_line(texts.MAIN_CORPUS.format(doc=shown))
    if folder is None:
        return (
            rtl_line(texts.NOT_REMOVED.format(doc=shown))
            + "\n"
            + rtl_line(own_isolate(escape(texts.UPLOADS_OFF_REASON)))
        )
    try:
        removed = await asyncio.to_thread(uploads.remove, folder, name)
    except IngestError as exc:
        return "\n".join(
            [
                rtl_line(texts.NOT_REMOVED.format(doc=shown)),
                rtl_line(own_isolate(escape(exc.reason))),
            ]
        )
    doc = uploads.PREFIX + removed
    log.info("user %s removed %s", user_id, doc)
    failure = await reload_engine(state)
    lines = [rtl_line(texts.REMOVED.format(doc=f"<code>{_shown(doc)}</code>"))]
    if failure is not None:
        lines.append(rtl_line(own_isolate(escape(failure))))
    return "\n".join(lines)


def _in_main_corpus(engine: Engine, name: str) -> bool:
    """True when `name` is a document of the main corpus folder (not an upload)."""
    if name.startswith(uploads.PREFIX):
        return False
    return any(s.doc == name for s in engine.snapshot.index.sources)


def _upload_by_hash(folder: Path | None, digest: str) -> str | None:
    if folder is None or not folder.is_dir():
        return None
    for path in folder.glob(f"*{uploads.SUFFIX}"):
        if remove_data(path.name) == REMOVE_PREFIX + digest:
            return path.name
    return None


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mb(count: int) -> str:
    return f"{count / 1024 / 1024:.1f} MB"


def _shown(text: str) -> str:
    """Document names, titles and links in a reply: printable, at most 300 units, escaped."""
    return escape(clip(printable(text), 300))
