"""The fake Bot API behaves like Telegram towards a real python-telegram-bot client.

Every test drives the fake over HTTP, with ``telegram.Bot`` or plain urllib, so what passes here
is what the bot's own tests and the Docker end-to-end test can rely on.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dtm
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import telegram
from fake_bot_api import FakeBotAPI, parse_html, utf16_len
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, MessageEntity
from telegram.constants import ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes

T = TypeVar("T")
GROUP = -1001234567890
QUESTION = "من التقى بوتين في فلاديفوستوك؟"


@pytest.fixture
def api() -> Iterator[FakeBotAPI]:
    with FakeBotAPI() as fake:
        yield fake


def with_bot(api: FakeBotAPI, action: Callable[[telegram.Bot], Awaitable[T]]) -> T:
    """Run ``action(bot)`` with an initialized real Bot pointed at the fake."""

    async def run() -> T:
        async with telegram.Bot(api.token, base_url=api.base_url) as bot:
            return await action(bot)

    return asyncio.run(run())


def http(
    api: FakeBotAPI, path: str, body: Any = None, method: str | None = None
) -> tuple[int, Any]:
    """A plain HTTP request to the fake: (status, decoded JSON body)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        api.root + path,
        data=data,
        method=method or ("POST" if body is not None else "GET"),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


# ---- identity and tokens ---------------------------------------------------------------------


def test_get_me_describes_the_bot_with_its_username(api: FakeBotAPI) -> None:
    me = with_bot(api, lambda bot: bot.get_me())
    assert (me.id, me.username, me.is_bot) == (123, "coverage_test_bot", True)


def test_a_wrong_token_is_rejected_as_telegram_does(api: FakeBotAPI) -> None:
    async def call_with_wrong_token() -> None:
        await telegram.Bot("123:WRONG", base_url=api.base_url).get_me()

    with pytest.raises(InvalidToken, match="Unauthorized"):
        asyncio.run(call_with_wrong_token())
    status, body = http(api, "/bot123:WRONG/getMe")
    assert (status, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})


def test_an_unknown_method_is_not_found(api: FakeBotAPI) -> None:
    status, body = http(api, f"/bot{api.token}/sendHologram", {"chat_id": 1})
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    assert api.calls[-1].method == "sendHologram" and api.calls[-1].status == 404


# ---- long polling ----------------------------------------------------------------------------


def test_get_updates_waits_for_a_pushed_update(api: FakeBotAPI) -> None:
    threading.Timer(0.2, lambda: api.push_update(api.private_message(42, QUESTION))).start()
    started = time.monotonic()
    updates = with_bot(api, lambda bot: bot.get_updates(timeout=5))
    waited = time.monotonic() - started
    assert [u.message.text for u in updates] == [QUESTION]
    assert 0.15 <= waited < 3


def test_get_updates_returns_nothing_when_the_timeout_expires(api: FakeBotAPI) -> None:
    started = time.monotonic()
    updates = with_bot(api, lambda bot: bot.get_updates(timeout=1))
    assert updates == ()
    assert 0.9 <= time.monotonic() - started < 3


def test_offset_confirms_earlier_updates_and_limit_caps_the_batch(api: FakeBotAPI) -> None:
    ids = [api.push_update(api.private_message(42, f"سؤال رقم {n}")) for n in range(3)]

    async def poll(bot: telegram.Bot) -> list[tuple[int, ...]]:
        first = await bot.get_updates(limit=2)
        again = await bot.get_updates()
        rest = await bot.get_updates(offset=first[-1].update_id + 1)
        return [tuple(u.update_id for u in batch) for batch in (first, again, rest)]

    assert with_bot(api, poll) == [tuple(ids[:2]), tuple(ids), (ids[2],)]
    assert api.pending_updates[0]["update_id"] == ids[2]


def test_group_command_and_mention_carry_telegrams_entities(api: FakeBotAPI) -> None:
    text = f"/ask {QUESTION} @coverage_test_bot"
    api.push_update(api.group_message(GROUP, 42, text))
    message = with_bot(api, lambda bot: bot.get_updates())[0].message
    assert message.chat.type == "supergroup"
    assert message.parse_entities([MessageEntity.BOT_COMMAND]).popitem()[1] == "/ask"
    assert list(message.parse_entities([MessageEntity.MENTION]).values()) == ["@coverage_test_bot"]
    assert message.entities[0].offset == 0


def test_kinds_telegram_does_not_send_by_default_are_dropped(api: FakeBotAPI) -> None:
    member = {"id": 42, "is_bot": False, "first_name": "سارة"}
    api.push_update(
        {
            "chat_member": {
                "chat": {"id": GROUP, "title": "غرفة الأخبار", "type": "supergroup"},
                "from": member,
                "date": 0,
                "old_chat_member": {"status": "left", "user": member},
                "new_chat_member": {"status": "member", "user": member},
            }
        }
    )
    api.push_update(api.private_message(42, "/start"))
    updates = with_bot(api, lambda bot: bot.get_updates())
    assert [u.message.text for u in updates] == ["/start"]
    assert updates[0].message.entities[0].type == MessageEntity.BOT_COMMAND


def test_edited_messages_and_channel_posts_parse_as_such(api: FakeBotAPI) -> None:
    api.push_update(api.group_message(GROUP, 42, "/ask من زار بيونغ يانغ"))
    api.push_update(api.edited_message(GROUP, 42, "/ask من زار بيونغ يانغ؟"))
    api.push_update(api.channel_post(-1009, "عاجل: انتهت القمة"))
    asked, edited, post = with_bot(api, lambda bot: bot.get_updates())
    assert edited.edited_message.message_id == asked.message.message_id
    assert edited.edited_message.edit_date is not None
    assert (post.channel_post.chat.type, post.channel_post.from_user) == ("channel", None)


def test_a_polling_application_answers_a_command(api: FakeBotAPI) -> None:
    async def ask(update: telegram.Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_text(f"<b>سؤالك:</b> {' '.join(context.args)}")

    async def scenario() -> telegram.Message:
        app = ApplicationBuilder().token(api.token).base_url(api.base_url).build()
        app.add_handler(CommandHandler("ask", ask))
        async with app:
            await app.start()
            await app.updater.start_polling(timeout=5, poll_interval=0)
            api.push_update(api.group_message(GROUP, 42, f"/ask {QUESTION}"))
            call = await api.await_for("sendMessage", lambda p: p["chat_id"] == GROUP)
            await app.updater.stop()
            await app.stop()
        return call.result

    reply = telegram.Message.de_json(asyncio.run(scenario()), None)
    assert reply.text == f"<b>سؤالك:</b> {QUESTION}"  # no parse_mode: sent as plain text
    assert api.pending_updates == []


def test_a_newer_poll_ends_the_older_one_with_a_conflict(api: FakeBotAPI) -> None:
    async def two_instances(first: telegram.Bot) -> None:
        older = asyncio.create_task(first.get_updates(timeout=5))
        await asyncio.sleep(0.2)
        async with telegram.Bot(api.token, base_url=api.base_url) as second:
            await second.get_updates(timeout=0)
        with pytest.raises(telegram.error.Conflict, match="terminated by other getUpdates"):
            await older

    with_bot(api, two_instances)


def test_a_webhook_blocks_polling_until_deleted_with_its_pending_updates(api: FakeBotAPI) -> None:
    api.push_update(api.private_message(42, QUESTION))

    async def scenario(bot: telegram.Bot) -> tuple[str, int]:
        await bot.set_webhook("https://bot.example.org/hook")
        with pytest.raises(telegram.error.Conflict, match="webhook is active"):
            await bot.get_updates()
        info = await bot.get_webhook_info()
        await bot.delete_webhook(drop_pending_updates=True)
        return info.url, len(await bot.get_updates())

    assert with_bot(api, scenario) == ("https://bot.example.org/hook", 0)


# ---- sending and Telegram's text checks --------------------------------------------------------


def test_send_message_with_valid_html_is_recorded_with_its_entities(api: FakeBotAPI) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("المزيد", callback_data="more:1")]])
    html = "<b>القمة</b> في <i>فلاديفوستوك</i> &amp; <a href='https://example.org'>المصدر</a>"
    sent = with_bot(
        api, lambda bot: bot.send_message(GROUP, html, parse_mode="HTML", reply_markup=markup)
    )
    assert sent.text == "القمة في فلاديفوستوك & المصدر"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        ("bold", 0, 5),
        ("italic", 9, 11),
        ("text_link", 23, 6),
    ]
    assert sent.reply_markup == markup
    call = api.wait_for("sendMessage")
    assert (call.params["chat_id"], call.params["parse_mode"], call.params["text"]) == (
        GROUP,
        "HTML",
        html,
    )
    assert api.sent_messages(GROUP)[0]["message_id"] == sent.message_id


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("<b>قمة غير مغلقة", 'Can\'t find end tag corresponding to start tag "b"'),
        ("كيم & بوتين", 'Character "&" at byte offset 7'),
        ("عدد القتلى < 10", 'Unsupported start tag "" at byte offset 20'),
        ("<script>alert(1)</script>", 'Unsupported start tag "script" at byte offset 0'),
        ("<b><i>تداخل</b></i>", 'Unmatched end tag at byte offset 16, expected "</i>"'),
        ("نص</b>", "Unexpected end tag at byte offset 4"),
        ("<span>سر</span>", 'Tag "span" must have class "tg-spoiler"'),
        ("<b", "Unclosed start tag at byte offset 0"),
    ],
)
def test_invalid_html_is_refused_with_telegrams_reason(
    api: FakeBotAPI, html: str, reason: str
) -> None:
    with pytest.raises(BadRequest, match=r"^Can't parse entities: ") as refused:
        with_bot(api, lambda bot: bot.send_message(GROUP, html, parse_mode=ParseMode.HTML))
    assert reason.lower() in refused.value.message.lower()
    assert api.sent_messages() == []


def test_lenient_html_passes_a_stray_ampersand_like_telegram() -> None:
    with FakeBotAPI(strict_html=False) as api:
        sent = with_bot(api, lambda bot: bot.send_message(GROUP, "R&D <b>x</b>", parse_mode="HTML"))
    assert sent.text == "R&D x"


def test_length_is_counted_after_entity_parsing_in_utf16_units(api: FakeBotAPI) -> None:
    fits = "<b>" + "ق" * 4090 + "</b>&lt;&gt;&amp;"  # 4093 characters once parsed
    emoji = "🇰🇵" * 1024  # two astral code points each: 4096 UTF-16 units

    async def scenario(bot: telegram.Bot) -> None:
        assert len((await bot.send_message(GROUP, fits, parse_mode="HTML")).text) == 4093
        await bot.send_message(GROUP, emoji)
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message(GROUP, "ق" * 4097)
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message(GROUP, emoji + "!")

    with_bot(api, scenario)


@pytest.mark.parametrize("text", ["", "   \n ", "<b> </b>"])
def test_empty_text_is_refused(api: FakeBotAPI, text: str) -> None:
    with pytest.raises(BadRequest, match="Message text is empty"):
        with_bot(api, lambda bot: bot.send_message(GROUP, text, parse_mode="HTML"))


def test_edits_follow_telegrams_rules(api: FakeBotAPI) -> None:
    async def scenario(bot: telegram.Bot) -> None:
        sent = await bot.send_message(GROUP, "جاري البحث…")
        edited = await sent.edit_text("<b>النتيجة</b>", parse_mode="HTML")
        assert (edited.text, edited.entities[0].type) == ("النتيجة", "bold")
        with pytest.raises(BadRequest, match="Message is not modified"):
            await sent.edit_text("<b>النتيجة</b>", parse_mode="HTML")
        with pytest.raises(BadRequest, match="Message to edit not found"):
            await bot.edit_message_text("؟", chat_id=GROUP, message_id=999)
        assert await sent.delete() is True
        with pytest.raises(BadRequest, match="Message to delete not found"):
            await sent.delete()

    with_bot(api, scenario)


def test_callback_query_round_trip(api: FakeBotAPI) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("التالي", callback_data="page:2")]])

    async def scenario(bot: telegram.Bot) -> None:
        sent = await bot.send_message(GROUP, "الصفحة 1", reply_markup=markup)
        api.push_update(api.callback_query(42, GROUP, sent.message_id, "page:2"))
        query = (await bot.get_updates())[0].callback_query
        assert (query.data, query.message.text, query.message.reply_markup) == (
            "page:2",
            "الصفحة 1",
            markup,
        )
        assert await query.answer("تم") is True
        assert (await query.edit_message_reply_markup(None)).reply_markup is None
        with pytest.raises(BadRequest, match="Query is too old"):
            await bot.answer_callback_query("no-such-query")

    with_bot(api, scenario)


def test_callback_data_over_64_bytes_is_refused(api: FakeBotAPI) -> None:
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("زر", callback_data="ب" * 33)]])
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        with_bot(api, lambda bot: bot.send_message(GROUP, "نص", reply_markup=too_long))


def test_chat_actions_and_commands(api: FakeBotAPI) -> None:
    async def scenario(bot: telegram.Bot) -> tuple[Any, ...]:
        await bot.send_chat_action(GROUP, "typing")
        with pytest.raises(BadRequest, match="Wrong parameter action"):
            await bot.send_chat_action(GROUP, "dancing")
        await bot.set_my_commands([("ask", "اسأل عن التغطية"), ("reload", "أعد تحميل المدونة")])
        listed = await bot.get_my_commands()
        await bot.delete_my_commands()
        return tuple(c.command for c in listed), await bot.get_my_commands()

    assert with_bot(api, scenario) == (("ask", "reload"), ())


# ---- parameter encodings ---------------------------------------------------------------------


def test_json_and_form_bodies_give_the_same_typed_params(api: FakeBotAPI) -> None:
    markup = {"inline_keyboard": [[{"text": "المزيد", "callback_data": "more"}]]}
    http(
        api,
        f"/bot{api.token}/sendMessage",
        {"chat_id": GROUP, "text": "123", "reply_markup": markup},
    )
    with_bot(
        api,
        lambda bot: bot.send_message(
            GROUP, "123", reply_markup=InlineKeyboardMarkup.de_json(markup, None)
        ),
    )
    as_json, as_form = api.calls_of("sendMessage")
    assert (
        as_json.params
        == as_form.params
        == {
            "chat_id": GROUP,
            "text": "123",
            "reply_markup": markup,
        }
    )


def test_multipart_uploads_are_decoded(api: FakeBotAPI) -> None:
    def send_document(params: dict[str, Any]) -> dict[str, Any]:
        return {"message_id": 1, "date": 0, "chat": {"id": params["chat_id"], "type": "private"}}

    api.register_method("sendDocument", send_document)
    with_bot(
        api,
        lambda bot: bot.send_document(42, "ملف".encode(), filename="ملاحظات.txt", caption="مرفق"),
    )
    params = api.wait_for("sendDocument").params
    assert (params["chat_id"], params["caption"]) == (42, "مرفق")
    assert (params["document"]["filename"], params["document"]["data"]) == (
        "ملاحظات.txt",
        "ملف".encode(),
    )


def test_garbage_requests_get_errors_and_the_server_keeps_serving(api: FakeBotAPI) -> None:
    request = urllib.request.Request(
        f"{api.root}/bot{api.token}/sendMessage",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 400
    assert http(api, "/nonsense")[0] == 404
    assert with_bot(api, lambda bot: bot.get_me()).username == "coverage_test_bot"
    assert api.errors == []


# ---- fault injection -------------------------------------------------------------------------


def test_injected_429_raises_retry_after_with_the_given_delay(
    api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # PTB 22's future type for retry_after, no warning
    api.fail("sendMessage", status=429, retry_after=3)
    with pytest.raises(RetryAfter) as flood:
        with_bot(api, lambda bot: bot.send_message(GROUP, "مرحبا"))
    assert flood.value.retry_after == dtm.timedelta(seconds=3)
    _, calls = http(api, "/_fake/calls?method=sendMessage")
    assert [(c["status"], c["faulted"]) for c in calls] == [(429, True)]


def test_faults_are_used_up_in_order_and_every_attempt_is_recorded(api: FakeBotAPI) -> None:
    api.fail("sendMessage", status=500, times=2)

    async def retry_until_sent(bot: telegram.Bot) -> int:
        for attempt in range(1, 5):
            try:
                await bot.send_message(GROUP, "نتيجة")
                return attempt
            except NetworkError:
                continue
        raise AssertionError("never sent")

    assert with_bot(api, retry_until_sent) == 3
    assert [(c.status, c.faulted) for c in api.calls_of("sendMessage")] == [
        (500, True),
        (500, True),
        (200, False),
    ]


def test_dropped_connection_and_malformed_body_surface_as_client_errors(api: FakeBotAPI) -> None:
    api.fail("sendMessage", close_connection=True)
    api.fail("getMyCommands", status=200, malformed=True)

    async def scenario(bot: telegram.Bot) -> None:
        with pytest.raises(NetworkError, match="disconnected"):
            await bot.send_message(GROUP, "مرحبا")
        with pytest.raises(TelegramError, match="Invalid server response"):
            await bot.get_my_commands()

    with_bot(api, scenario)
    assert [(c.status, c.faulted) for c in api.calls_of("sendMessage")] == [(0, True)]
    assert api.sent_messages() == []


def test_a_lost_answer_after_a_real_send_leaves_the_message_sent(api: FakeBotAPI) -> None:
    api.fail("sendMessage", status=200, close_connection=True)
    with pytest.raises(NetworkError):
        with_bot(api, lambda bot: bot.send_message(GROUP, "وصلت لكن الرد ضاع"))
    lost = api.wait_for("sendMessage", include_failed=True)
    assert (lost.status, lost.faulted) == (0, True)
    assert api.message(GROUP, lost.result["message_id"])["text"] == "وصلت لكن الرد ضاع"


def test_a_delay_slows_the_answer_but_it_still_succeeds(api: FakeBotAPI) -> None:
    api.slow("sendChatAction", 0.25)
    started = time.monotonic()
    assert with_bot(api, lambda bot: bot.send_chat_action(GROUP, "typing")) is True
    assert time.monotonic() - started >= 0.25
    assert api.wait_for("sendChatAction").ok


# ---- the test-side API -----------------------------------------------------------------------


def test_wait_for_reports_what_arrived_instead(api: FakeBotAPI) -> None:
    with_bot(api, lambda bot: bot.send_message(GROUP, "شيء آخر"))
    with pytest.raises(AssertionError, match=r"no matching sendMessage(.|\n)*شيء آخر"):
        api.wait_for("sendMessage", lambda p: p["text"] == "المتوقع", timeout=0.2)


def test_stop_returns_promptly_despite_a_pending_long_poll() -> None:
    api = FakeBotAPI().start()
    url = f"{api.root}/bot{api.token}/getUpdates?timeout=30"
    poller = threading.Thread(target=lambda: urllib.request.urlopen(url, timeout=40), daemon=True)
    poller.start()
    time.sleep(0.2)
    started = time.monotonic()
    api.stop()
    assert time.monotonic() - started < 1
    poller.join(timeout=2)
    assert not poller.is_alive()


def test_parse_html_follows_tdlib_for_code_blocks_and_astral_characters() -> None:
    text, entities = parse_html('🏟 <pre><code class="language-python">x &lt; 1</code></pre>')
    assert text == "🏟 x < 1"
    assert entities == [{"type": "pre", "offset": 3, "length": 5, "language": "python"}]
    assert utf16_len("🏟") == 2
    _, quote = parse_html("<blockquote expandable>اقتباس</blockquote>")
    assert quote[0]["type"] == "expandable_blockquote"


# ---- control interface -----------------------------------------------------------------------


def test_control_interface_drives_the_fake_over_http(api: FakeBotAPI) -> None:
    assert http(api, "/_fake/health")[1]["ok"] is True
    status, pushed = http(
        api,
        "/_fake/updates",
        {"helper": "group_message", "chat_id": GROUP, "user_id": 42, "text": f"/ask {QUESTION}"},
    )
    assert status == 200 and len(pushed["update_ids"]) == 1
    update = with_bot(api, lambda bot: bot.get_updates())[0]
    assert update.message.text == f"/ask {QUESTION}"

    http(api, "/_fake/fail", {"method": "sendMessage", "status": 403})
    with pytest.raises(telegram.error.Forbidden):
        with_bot(api, lambda bot: bot.send_message(GROUP, "رد"))
    with_bot(api, lambda bot: bot.send_message(GROUP, "رد"))
    status, found = http(api, f"/_fake/wait?method=sendMessage&chat_id={GROUP}&timeout=2")
    assert (status, found["status"], found["result"]["text"]) == (200, 200, "رد")
    status, calls = http(api, "/_fake/calls?method=sendMessage")
    assert [c["status"] for c in calls] == [403, 200]
    assert http(api, "/_fake/wait?method=deleteMessage&timeout=0.1")[0] == 408


def test_control_interface_sends_a_document_whose_bytes_the_bot_downloads(
    api: FakeBotAPI,
) -> None:
    content = "افتتحت بلدية الزرقاء خطا جديدا للحافلات.\n".encode()
    status, _ = http(
        api,
        "/_fake/updates",
        {
            "helper": "document_message",
            "user_id": 42,
            "file_name": "الزرقاء.txt",
            "content_base64": base64.b64encode(content).decode(),
            "caption": "title: حافلات الزرقاء",
        },
    )
    assert status == 200

    async def fetch(bot: telegram.Bot) -> tuple[telegram.Update, bytes]:
        update = (await bot.get_updates())[0]
        file = await bot.get_file(update.message.document.file_id)
        return update, bytes(await file.download_as_bytearray())

    async def run() -> tuple[telegram.Update, bytes]:
        async with telegram.Bot(
            api.token, base_url=api.base_url, base_file_url=f"{api.root}/file/bot"
        ) as bot:
            return await fetch(bot)

    update, downloaded = asyncio.run(run())
    assert update.message.document.file_name == "الزرقاء.txt"
    assert update.message.caption == "title: حافلات الزرقاء"
    assert downloaded == content
    assert (
        http(
            api,
            "/_fake/updates",
            {
                "helper": "document_message",
                "user_id": 42,
                "file_name": "x.txt",
                "content_base64": "%%",
            },
        )[0]
        == 400
    )


def test_control_interface_is_not_reachable_through_the_bot_path(api: FakeBotAPI) -> None:
    for path in (f"/bot{api.token}/_fake/calls", f"/bot{api.token}/_fake"):
        assert http(api, path, {"method": "getMe"})[0] == 404
    assert api.calls_of("getMe") == []


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_script_mode_serves_until_sigterm() -> None:
    port = free_port()
    script = Path(__file__).with_name("fake_bot_api.py")
    server = subprocess.Popen(
        [sys.executable, str(script), "--port", str(port), "--token", "777:SECRET"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert "serving" in (server.stdout.readline() if server.stdout else "")
        url = f"http://127.0.0.1:{port}/bot777:SECRET/getMe"
        with urllib.request.urlopen(url, timeout=5) as response:
            assert json.loads(response.read())["result"]["id"] == 777
        server.terminate()
        assert server.wait(timeout=5) == 0
    finally:
        if server.poll() is None:
            server.kill()
