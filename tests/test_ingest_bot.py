"""Uploads, /add and /remove end to end: the real bot, the fake Bot API, real files and pages.

Each supported type is built in the test, uploaded as Telegram delivers a document
(getFile, then a download from /file/bot<token>/<path>), and then a question about
the one fact only that file holds is answered from it. Every bad input gets one
reply naming the file or link and the reason, and leaves the uploads folder empty.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from bot_runner import (
    ADMIN,
    GROUP,
    MEMBER,
    ROOT,
    TOKEN,
    RunningBot,
    StartBot,
    buttons,
    visible,
    write_config,
)
from fake_bot_api import FakeBotAPI
from ingest_samples import (
    CP1256_FACT,
    CP1256_QUESTION,
    DOCX_FACT,
    DOCX_QUESTION,
    HTML_FACT,
    HTML_QUESTION,
    NAVIGATION,
    PDF_QUESTION,
    cp1256_text,
    docx_file,
    encrypted_pdf,
    html_page,
    pdf_file,
    pdf_without_text,
    utf16_text,
    zip_bomb,
)

from bot import ingest_texts

MB = 1024 * 1024
INGEST = {"max_bytes": 2 * MB, "allow_private_addresses": True, "fetch_timeout": 3}


@pytest.fixture
def bot(start_bot: StartBot) -> RunningBot:
    return start_bot(ingest=INGEST)


def uploads_of(bot: RunningBot) -> Path:
    folder = bot.settings.corpus.uploads
    assert folder is not None
    return folder


def stored_files(bot: RunningBot) -> list[str]:
    folder = uploads_of(bot)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def upload(
    bot: RunningBot, name: str, content: bytes, user: int = ADMIN, timeout: float = 60, **kwargs
) -> dict:
    """Send a document as `user`; the bot's reply (a Message)."""
    chat = kwargs.get("chat_id") or user
    since = bot.send(bot.api.document_message(user, name, content, **kwargs))
    return bot.reply(chat, since, timeout=timeout).result


def answer_text(bot: RunningBot, question: str) -> str:
    return visible(bot.ask(MEMBER, question).params)


# --- every supported type, then a question only that file answers -------------------------


def test_an_html_page_is_added_without_its_navigation_and_answers_a_question(bot: RunningBot):
    reply = upload(bot, "olive.html", html_page())
    text = visible({"text": reply["text"], "parse_mode": "HTML"})
    assert "أُضيفت الوثيقة: \u2068مهرجان الزيتون في جرش\u2069" in text
    assert "جريدة الغد" in text and "2024-10-12" in text
    assert "/remove uploads/مهرجان-الزيتون-في-جرش.md" in text
    assert ingest_texts.REMOVE_BUTTON in buttons(reply)
    stored = (uploads_of(bot) / "مهرجان-الزيتون-في-جرش.md").read_text(encoding="utf-8")
    front = yaml.safe_load(stored.split("---\n")[1])
    assert front["outlet"] == "جريدة الغد"
    assert front["url"] == "https://alghad.example/olive-festival"
    assert front["added_by"] == str(ADMIN) and front["original_name"] == "olive.html"
    assert not any(word in stored for word in NAVIGATION)
    answer = answer_text(bot, HTML_QUESTION)
    assert HTML_FACT in answer
    cited = "المصدر: \u2068مهرجان الزيتون في جرش\u2069 (\u2068جريدة الغد، 2024-10-12\u2069)"
    assert cited in answer


def test_a_docx_a_pdf_and_cp1256_text_are_each_added_and_answer_their_question(
    bot: RunningBot,
):
    docx_reply = upload(bot, "مكتبة.docx", docx_file())
    assert "الجمل المضافة: 2" in visible({"text": docx_reply["text"], "parse_mode": "HTML"})
    pdf_reply = upload(bot, "water.pdf", pdf_file())
    assert "الجمل المضافة: 2" in visible({"text": pdf_reply["text"], "parse_mode": "HTML"})
    txt_reply = upload(bot, "irbid.txt", cp1256_text())
    assert "converted from Windows-1256 (cp1256)" in txt_reply["text"]
    assert DOCX_FACT in answer_text(bot, DOCX_QUESTION)
    pdf_answer = answer_text(bot, PDF_QUESTION)
    # Logical order: the number and the year where they belong, the sentence's stop at its end.
    assert "مخزون سد الموجب بلغ 35 مليون متر مكعب في آذار 2024." in pdf_answer
    assert CP1256_FACT in answer_text(bot, CP1256_QUESTION)


def test_a_caption_overrides_title_outlet_and_date(bot: RunningBot):
    caption = "title: مكتبة مادبا للأطفال\noutlet: وكالة بترا\ndate: 2024-03-01"
    reply = upload(bot, "library.docx", docx_file(), caption=caption)
    text = visible({"text": reply["text"], "parse_mode": "HTML"})
    assert "مكتبة مادبا للأطفال" in text and "وكالة بترا" in text and "2024-03-01" in text
    assert stored_files(bot) == ["مكتبة-مادبا-للأطفال.md"]


def test_in_a_group_only_a_document_captioned_add_is_taken(bot: RunningBot):
    since = bot.send(bot.api.document_message(ADMIN, "irbid.txt", cp1256_text(), chat_id=GROUP))
    bot.ask(MEMBER, "سؤال عن أي شيء")  # the next update is handled, so the first was seen
    assert bot.api.calls_of("getFile") == [] and stored_files(bot) == []
    assert not [m for m in bot.messages_since(GROUP, since)]
    reply = upload(bot, "irbid.txt", cp1256_text(), chat_id=GROUP, caption="/add")
    assert "أُضيفت الوثيقة" in reply["text"]
    assert stored_files(bot) == ["irbid.md"]


# --- removing ---------------------------------------------------------------------------


def test_remove_deletes_an_upload_and_its_answers_go(bot: RunningBot):
    upload(bot, "library.docx", docx_file())
    assert DOCX_FACT in answer_text(bot, DOCX_QUESTION)
    removed = bot.ask(ADMIN, "/remove uploads/library.md", contains="حُذفت").params["text"]
    assert "uploads/library.md" in removed
    assert stored_files(bot) == []
    assert DOCX_FACT not in answer_text(bot, DOCX_QUESTION)


def test_the_remove_button_deletes_the_upload_only_for_admins(bot: RunningBot):
    reply = upload(bot, "library.docx", docx_file())
    data = buttons(reply)[ingest_texts.REMOVE_BUTTON]
    since = bot.send(bot.api.callback_query(MEMBER, ADMIN, reply["message_id"], data))
    refused = bot.api.wait_for("answerCallbackQuery", since=since)
    assert refused.params["text"] == ingest_texts.ADMIN_ONLY
    assert stored_files(bot) == ["library.md"]
    since = bot.send(bot.api.callback_query(ADMIN, ADMIN, reply["message_id"], data))
    assert "uploads/library.md" in visible(bot.reply(ADMIN, since, contains="حُذفت").params)
    assert stored_files(bot) == []


def test_sources_shows_remove_buttons_for_uploads_to_admins(bot: RunningBot):
    upload(bot, "library.docx", docx_file())
    admin_page = bot.ask(ADMIN, "/sources").result
    member_page = bot.ask(MEMBER, "/sources").result
    assert f"{ingest_texts.REMOVE_BUTTON}: library" in buttons(admin_page)
    assert not any(label.startswith(ingest_texts.REMOVE_BUTTON) for label in buttons(member_page))


def test_a_main_corpus_document_is_not_deleted(bot: RunningBot, corpus: Path):
    name = sorted(p.name for p in corpus.glob("*.txt"))[0]
    reply = visible(bot.ask(ADMIN, f"/remove {name}").params)
    assert "it is in the main corpus folder; the bot does not delete those" in reply
    assert (corpus / name).exists()


def test_a_traversing_name_is_refused(bot: RunningBot, tmp_path: Path):
    victim = tmp_path / "victim.md"
    victim.write_text("لا تحذفني", encoding="utf-8")
    reply = visible(bot.ask(ADMIN, "/remove uploads/../victim.md").params)
    assert "not the name of an uploaded document" in reply
    assert victim.exists()


# --- bad uploads: one reply naming the file and the reason, nothing stored -----------------

BAD_UPLOADS = [
    ("scan.pdf", pdf_without_text, "no text layer (a scanned PDF? OCR is not supported)"),
    ("locked.pdf", encrypted_pdf, "the PDF is encrypted"),
    ("broken.docx", lambda: docx_file()[:900], "not a valid Word document"),
    ("bomb.docx", lambda: zip_bomb(40 * MB), "a ZIP bomb?"),
    ("empty.txt", lambda: "… ، ؟\n\n".encode(), "no text could be extracted"),
    ("tool.exe", lambda: b"MZ\x90\x00", "this type is not supported"),
]


@pytest.mark.parametrize(("name", "make", "reason"), BAD_UPLOADS, ids=[b[0] for b in BAD_UPLOADS])
def test_a_bad_upload_gets_one_reply_naming_it_and_stores_nothing(
    bot: RunningBot, name: str, make, reason: str
):
    since = bot.api.mark()
    reply = upload(bot, name, make())
    text = visible({"text": reply["text"], "parse_mode": "HTML"})
    assert name in text and reason in text
    assert stored_files(bot) == []
    assert len(bot.messages_since(ADMIN, since)) == 1
    assert "الإمبريالية" in answer_text(bot, "ماذا قال كيم عن الإمبريالية؟")  # still serving


def test_a_non_admin_upload_is_refused_and_never_downloaded(bot: RunningBot):
    reply = upload(bot, "irbid.txt", cp1256_text(), user=MEMBER)
    assert "irbid.txt" in reply["text"] and "only admins can add documents" in reply["text"]
    assert bot.api.calls_of("getFile") == [] and bot.api.downloads() == []
    assert stored_files(bot) == []


@pytest.mark.parametrize(
    ("size", "reason"),
    [(21 * MB, "bots can download at most 20.0 MB"), (3 * MB, "ingest.max_bytes is 2.0 MB")],
)
def test_a_file_over_a_size_limit_is_refused_before_downloading(
    bot: RunningBot, size: int, reason: str
):
    reply = upload(bot, "big.pdf", b"%PDF-1.4", file_size=size)
    assert "big.pdf" in reply["text"] and reason in reply["text"]
    assert bot.api.calls_of("getFile") == [] and stored_files(bot) == []


def test_utf16_text_is_converted_and_said_so(bot: RunningBot):
    reply = upload(bot, "ramtha.txt", utf16_text())
    assert "converted from UTF-16" in reply["text"]
    assert "الرمثا" in (uploads_of(bot) / "ramtha.md").read_text(encoding="utf-8")


def test_the_same_content_twice_is_refused_with_the_first_name(bot: RunningBot):
    upload(bot, "library.docx", docx_file())
    reply = upload(bot, "copy.docx", docx_file())
    assert "already in the corpus as uploads/library.md" in reply["text"]
    assert stored_files(bot) == ["library.md"]


# --- /add URL ---------------------------------------------------------------------------


class _Site(http.server.BaseHTTPRequestHandler):
    """A small news site on 127.0.0.1 with the pages /add must cope with."""

    def do_GET(self) -> None:
        if self.path == "/article":
            self._send(200, html_page(), "text/html; charset=utf-8")
        elif self.path == "/missing":
            self._send(404, b"not here", "text/html")
        elif self.path == "/broken":
            self._send(500, b"oops", "text/html")
        elif self.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.end_headers()
        elif self.path == "/slow":
            time.sleep(6)
            self._send(200, html_page(), "text/html")
        elif self.path == "/huge":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            chunk = b"<p>" + b"x" * (1 << 16) + b"</p>"
            try:
                for _ in range(100 * MB // len(chunk)):
                    self.wfile.write(chunk)
            except OSError:
                pass  # the bot hung up at its cap, as it should
        elif self.path == "/data.json":
            self._send(200, b"{}", "application/json")

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the bot may have given up (a timeout test)
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_add_url_fetches_the_article_and_answers_from_it(bot: RunningBot, site: str):
    reply = bot.ask(ADMIN, f"/add {site}/article", contains="أُضيفت").params["text"]
    assert "جريدة الغد" in reply
    assert HTML_FACT in answer_text(bot, HTML_QUESTION)


BAD_LINKS = [
    ("/missing", "answered HTTP 404"),
    ("/broken", "answered HTTP 500"),
    ("/loop", "too many redirects (more than 5)"),
    ("/slow", "timed out after 3 s"),
    ("/huge", "too large (more than 2 MB)"),
    ("/data.json", "not an HTML page (Content-Type: application/json)"),
]


@pytest.mark.parametrize(("path", "reason"), BAD_LINKS, ids=[b[0] for b in BAD_LINKS])
def test_a_bad_link_gets_one_reply_naming_it_and_stores_nothing(
    bot: RunningBot, site: str, path: str, reason: str
):
    reply = visible(bot.ask(ADMIN, f"/add {site}{path}", contains="لم تُضَف").params)
    assert f"{site}{path}" in reply and reason in reply
    assert stored_files(bot) == []


def test_the_address_guard_refuses_loopback_by_default(start_bot: StartBot, site: str):
    bot = start_bot(ingest={"allow_private_addresses": False})
    reply = visible(bot.ask(ADMIN, f"/add {site}/article", contains="لم تُضَف").params)
    assert "refused: 127.0.0.1 is a loopback address (127.0.0.1)" in reply
    assert stored_files(bot) == []


def test_add_is_for_admins_only(bot: RunningBot, site: str):
    reply = visible(bot.ask(MEMBER, f"/add {site}/article").params)
    assert reply.lstrip("\u200f") == ingest_texts.ADMIN_ONLY
    assert stored_files(bot) == []


def test_reload_names_the_folders_it_read(bot: RunningBot, corpus: Path):
    since = bot.send(bot.api.private_message(ADMIN, "/reload"))
    summary = visible(bot.reply(ADMIN, since, "اكتملت إعادة التحميل", timeout=60).params)
    # One line per folder read (render.render_reload_report, as test_corpus_folder.py reads it).
    assert f"مجلد المصادر المقروء: \u2068{corpus}\u2069\n" in summary
    assert f"مجلد المصادر المقروء: \u2068{uploads_of(bot)}\u2069\n" in summary


def _small_disk() -> None:
    """A full disk, as far as the bot process can tell: writes past 256 KB fail (EFBIG)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))


def test_a_full_disk_while_storing_an_upload_stores_nothing_and_the_bot_keeps_serving(
    api: FakeBotAPI, corpus: Path, tmp_path: Path
):
    config = write_config(tmp_path, corpus, api, ingest=INGEST)
    uploads = tmp_path / "uploads"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--config", str(config)],
        cwd=ROOT,
        env={**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_small_disk,
    )
    try:
        api.wait_for("deleteWebhook", timeout=30)
        big = (CP1256_FACT + "\n").encode("cp1256") * 6000  # about 350 KB of text
        since = api.mark()
        api.push_update(api.document_message(ADMIN, "irbid.txt", big))
        reply = api.wait_for("sendMessage", lambda p: p["chat_id"] == ADMIN, since=since)
        text = visible(reply.params)
        assert "irbid.txt" in text and "File too large" in text
        assert not uploads.exists() or list(uploads.iterdir()) == [], "nothing, not even a part"
        since = api.mark()
        api.push_update(api.private_message(MEMBER, "ماذا قال كيم عن الإمبريالية؟"))
        answer = api.wait_for("sendMessage", lambda p: p["chat_id"] == MEMBER, since=since)
        assert "الإمبريالية" in answer.result["text"]
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
