"""A real-HTTP fake of the Telegram Bot API, for tests, load scripts and the Docker end-to-end test.

The bot under test talks to it exactly as to Telegram: python-telegram-bot is built with
``base_url=f"{api.root}/bot"`` and calls ``{root}/bot{token}/{method}`` over HTTP.  Nothing in the
bot is mocked, so encoding, error handling, retries and long polling are exercised for real.
Standard library only, so the Docker test can run it with any Python 3.11.

Library use (``tests/`` is on ``sys.path`` through pytest's ``pythonpath``)::

    from fake_bot_api import FakeBotAPI

    with FakeBotAPI() as api:                     # token "123:ABC", a free port on 127.0.0.1
        bot = telegram.Bot(api.token, base_url=api.base_url)
        api.push_update(api.group_message(-1001, 42, "/ask من التقى بوتين؟"))
        call = api.wait_for("sendMessage", lambda p: p["chat_id"] == -1001)

Script use (serves until SIGTERM or SIGINT)::

    python tests/fake_bot_api.py --port 8081 --token 123:ABC [--host 0.0.0.0] [--verbose]

Bot API methods answered (anything else is ``404 Not Found``; a wrong token is ``401``):
getMe, getUpdates (real long polling: ``offset`` confirms, ``limit``, ``timeout``,
``allowed_updates``; 409 while a webhook is set or when a newer poll takes over), setWebhook,
deleteWebhook (``drop_pending_updates``), getWebhookInfo, logOut, close, sendMessage,
sendPhoto (an uploaded PNG, JPEG, GIF or WebP, or a stored file_id; the caption checked like text,
at most 1024 UTF-16 units; ``photos()`` returns the uploaded bytes),
editMessageText, editMessageReplyMarkup, deleteMessage, sendChatAction, answerCallbackQuery,
leaveChat (a private chat is refused, as on Telegram; ``left_chats`` lists the groups left),
setMyCommands, getMyCommands, deleteMyCommands, getFile (files over 20 MB: "file is too big").
Files sent with ``document_message`` (or stored with ``add_file``) are served, like Telegram's
file server, at ``GET /file/bot{token}/{file_path}``; each download is recorded as a call of the
pseudo-method ``download`` (``downloads()``).  Parameters are accepted as a JSON body,
``application/x-www-form-urlencoded`` (PTB's default: strings raw, other values JSON-encoded),
``multipart/form-data`` (PTB with files) or a query string.

Text checks mirror Telegram (TDLib's HTML parser): with ``parse_mode=HTML`` only Telegram's
tags are allowed (b strong i em u ins s strike del a code pre span.tg-spoiler tg-spoiler
blockquote[expandable] tg-emoji), tags must nest and close, and errors read
``Bad Request: can't parse entities: Unsupported start tag "x" at byte offset N`` and so on.  One
deliberate difference: Telegram passes a ``&`` that starts no entity through literally, while the
fake (``strict_html=True``, the default) rejects it, because the Bot API documentation requires
every such ``&`` to be escaped and a bot that forgets garbles text containing ``&lt;``.  Text is
stripped of surrounding whitespace, then must be non-empty (``message text is empty``) and at most
4096 UTF-16 code units (``message is too long``).  Markdown modes are not validated.

Control interface on the same port (never reachable under ``/bot{token}/``), JSON in and out:

* ``GET  /_fake/health`` -> ``{"ok": true, ...}``.
* ``POST /_fake/updates`` -> body is an Update object, a list of them, or a helper call
  ``{"helper": "group_message", "chat_id": -1001, "user_id": 42, "text": "/ask ..."}`` (helpers:
  private_message, group_message, callback_query, edited_message, channel_post, bot_added,
  document_message with the file as ``content_base64``; the other keys are their keyword
  arguments).  Answers ``{"ok": true, "update_ids": [...]}``.
* ``GET  /_fake/calls?method=sendMessage&since=N`` -> list of recorded calls (see ``Call``).
* ``GET  /_fake/sent?chat_id=C`` -> Message objects returned by successful sendMessage calls.
* ``GET  /_fake/wait?method=sendMessage&timeout=10&since=N&chat_id=C&text_contains=T`` -> the
  first matching successful call, or 408 with the calls that were received instead.
* ``POST /_fake/fail`` -> body has the keyword arguments of ``FakeBotAPI.fail``.
* ``POST /_fake/reset`` -> forgets calls, faults and pending updates.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import email.parser
import email.policy
import itertools
import json
import re
import signal
import socket
import socketserver
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

JSONDict = dict[str, Any]


def _names(words: str) -> frozenset[str]:
    """A set of names written as one space-separated string (long lists stay compact)."""
    return frozenset(words.split())


MAX_TEXT_UTF16 = 4096
MAX_CAPTION_UTF16 = 1024
MAX_BODY_BYTES = 64 * 1024 * 1024
DEFAULT_ALLOWED_UPDATES = _names(
    "message edited_message channel_post edited_channel_post business_connection "
    "business_message edited_business_message deleted_business_messages inline_query "
    "chosen_inline_result callback_query shipping_query pre_checkout_query "
    "purchased_paid_media poll poll_answer my_chat_member chat_join_request chat_boost "
    "removed_chat_boost"
)  # Telegram's default: everything except chat_member and the two message_reaction kinds.
CHAT_ACTIONS = _names(
    "typing upload_photo record_video upload_video record_voice upload_voice "
    "upload_document choose_sticker find_location record_video_note upload_video_note"
)
_ERROR_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


# --------------------------------------------------------------------------------------------
# Errors and records
# --------------------------------------------------------------------------------------------


class ApiError(Exception):
    """A Bot API error answer: HTTP status, Telegram's description and optional parameters."""

    def __init__(self, status: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


class HtmlParseError(ValueError):
    """Raised by ``parse_html`` with the text Telegram puts after "can't parse entities: "."""


class Call(NamedTuple):
    """One recorded request to a Bot API method, in arrival order.

    ``status`` is the HTTP status answered (0 when the connection was dropped), ``faulted`` is
    true when an injected fault (``FakeBotAPI.fail``) shaped the answer, ``result`` is the
    ``result`` sent on success and ``error`` the description sent on failure.
    """

    method: str
    params: JSONDict
    time: float
    status: int = 200
    faulted: bool = False
    result: Any = None
    error: str | None = None
    index: int = 0

    @property
    def ok(self) -> bool:
        """Whether the call was answered with a normal success."""
        return self.status == 200 and not self.faulted

    def to_json(self) -> JSONDict:
        """The call as JSON for the control interface."""
        return {
            "index": self.index,
            "method": self.method,
            "params": self.params,
            "time": self.time,
            "status": self.status,
            "faulted": self.faulted,
            "result": self.result,
            "error": self.error,
        }


@dataclass
class Fault:
    """An injected failure for the next ``times`` calls of ``method`` (``*`` matches any)."""

    method: str
    status: int = 500
    times: int = 1
    retry_after: int | None = None
    malformed: bool = False
    close_connection: bool = False
    delay: float = 0.0
    description: str | None = None

    def error_body(self) -> JSONDict:
        """Telegram's error object for this fault (429 carries ``retry_after`` like Telegram)."""
        parameters = None
        description = self.description
        if self.status == 429:
            retry_after = self.retry_after if self.retry_after is not None else 1
            parameters = {"retry_after": retry_after}
            description = description or f"Too Many Requests: retry after {retry_after}"
        elif self.retry_after is not None:
            parameters = {"retry_after": self.retry_after}
        description = description or _ERROR_DESCRIPTIONS.get(self.status, "Internal Server Error")
        body: JSONDict = {"ok": False, "error_code": self.status, "description": description}
        if parameters:
            body["parameters"] = parameters
        return body


@dataclass
class _Reply:
    """What the HTTP layer sends: a status and JSON body, or nothing (dropped connection)."""

    status: int = 200
    body: bytes = b""
    drop: bool = False
    extra_headers: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Telegram's HTML parse mode (after TDLib's parse_html)
# --------------------------------------------------------------------------------------------

_SPACES = frozenset(" \t\r\n\v\f\0")
_HTML_TAGS = _names(
    "a b strong i em u ins s strike del span tg-spoiler tg-emoji code pre blockquote"
)
_TAG_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
    "a": "text_link",
}
_HTML_ENTITY_RE = re.compile(r"&(?:#[xX]([0-9a-fA-F]{1,8})|#([0-9]{1,10})|(lt|gt|amp|quot));?")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_URL_RE = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*://)?[^\s/?#]+\.[^\s/?#]+(?:[/?#]\S*)?$")


def _image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, GIF or WebP (VP8X), or (0, 0) for a JPEG; None otherwise."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if data.startswith(b"\xff\xd8\xff"):
        return 0, 0
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return 0, 0
    return None


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's offsets and length limits."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def _byte_offset(markup: str, index: int) -> int:
    return len(markup[:index].encode("utf-8", "surrogatepass"))


def _decode_html_entity(markup: str, index: int) -> tuple[str | None, int]:
    """Decode the entity at ``markup[index] == "&"``: (character or None, index after it)."""
    match = _HTML_ENTITY_RE.match(markup, index)
    if not match:
        return None, index
    hex_digits, dec_digits, name = match.groups()
    if name:
        return _NAMED_ENTITIES[name], match.end()
    code = int(hex_digits, 16) if hex_digits else int(dec_digits)
    if code == 0 or code > 0x10FFFF:
        return None, index
    if 0xD800 <= code <= 0xDFFF:
        raise HtmlParseError(
            "Text contains invalid Unicode characters after decoding HTML entities, "
            "check for unmatched surrogate code units"
        )
    return chr(code), match.end()


@dataclass
class _OpenTag:
    name: str
    argument: str
    offset: int  # UTF-16 offset in the parsed text
    text_index: int  # index in the list of parsed characters
    expandable: bool


def _normalize_url(url: str) -> str | None:
    if not _URL_RE.match(url) and not url.startswith("tg://"):
        return None
    if "://" not in url:
        url = "http://" + url
    scheme, rest = url.split("://", 1)
    if scheme.lower() in ("http", "https") and not re.search(r"[/?#]", rest):
        url += "/"
    return url


def _tag_entity(tag: _OpenTag, offset: int, length: int, inner_text: str) -> JSONDict | None:
    entity: JSONDict = {"type": _TAG_ENTITY_TYPES[tag.name], "offset": offset, "length": length}
    if tag.name == "a":
        url = _normalize_url(tag.argument or inner_text)
        if url is None:
            return None
        entity["url"] = url
    elif tag.name == "blockquote" and tag.expandable:
        entity["type"] = "expandable_blockquote"
    elif tag.name == "tg-emoji":
        if not tag.argument:
            return None
        entity["custom_emoji_id"] = tag.argument
    elif tag.name == "code" and tag.argument:
        entity["_language"] = tag.argument
    return entity


def _add_tag_entity(entities: list[JSONDict], entity: JSONDict) -> None:
    """Append, merging <pre><code class="language-x"> into one pre entity as Telegram does."""
    last = entities[-1] if entities else None
    same_range = (
        last is not None
        and last["offset"] == entity["offset"]
        and last["length"] == entity["length"]
    )
    if same_range and entity["type"] == "pre" and last["type"] == "code" and "_language" in last:
        entities[-1] = {**entity, "language": last["_language"]}
        return
    if same_range and entity["type"] == "code" and "_language" in entity and last["type"] == "pre":
        entities[-1] = {**last, "language": entity["_language"]}
        return
    entities.append(entity)


def parse_html(markup: str, *, strict_ampersand: bool = True) -> tuple[str, list[JSONDict]]:
    """Parse Telegram-HTML into plain text and MessageEntity dicts, or raise HtmlParseError.

    Follows TDLib's parser (tag names, attribute syntax, error texts with UTF-8 byte offsets).
    With ``strict_ampersand`` a ``&`` in text that starts no entity is an error (see module doc).
    """
    chars: list[str] = []
    position = 0  # UTF-16 offset of the next parsed character
    entities: list[JSONDict] = []
    stack: list[_OpenTag] = []
    size = len(markup)
    i = 0

    def emit(char: str) -> None:
        nonlocal position
        chars.append(char)
        position += 2 if ord(char) > 0xFFFF else 1

    while i < size:
        char = markup[i]
        if char == "&":
            decoded, after = _decode_html_entity(markup, i)
            if decoded is not None:
                emit(decoded)
                i = after
                continue
            if strict_ampersand:
                raise HtmlParseError(
                    f'Character "&" at byte offset {_byte_offset(markup, i)} does not begin an '
                    'HTML entity; it must be escaped as "&amp;"'
                )
        if char != "<":
            emit(char)
            i += 1
            continue

        begin = i
        begin_byte = _byte_offset(markup, begin)
        i += 1
        if i < size and markup[i] == "/":
            if not stack:
                raise HtmlParseError(f"Unexpected end tag at byte offset {begin_byte}")
            i += 1
            name_start = i
            while i < size and markup[i] not in _SPACES and markup[i] != ">":
                i += 1
            end_name = markup[name_start:i].lower()
            while i < size and markup[i] in _SPACES:
                i += 1
            if i >= size or markup[i] != ">":
                raise HtmlParseError(f"Unclosed end tag at byte offset {begin_byte}")
            i += 1
            tag = stack[-1]
            if end_name and end_name != tag.name:
                raise HtmlParseError(
                    f"Unmatched end tag at byte offset {begin_byte}, "
                    f'expected "</{tag.name}>", found "</{end_name}>"'
                )
            stack.pop()
            length = position - tag.offset
            if length > 0:
                entity = _tag_entity(tag, tag.offset, length, "".join(chars[tag.text_index :]))
                if entity is not None:
                    _add_tag_entity(entities, entity)
            continue

        while i < size and markup[i] not in _SPACES and markup[i] != ">":
            i += 1
        if i >= size:
            raise HtmlParseError(f"Unclosed start tag at byte offset {begin_byte}")
        tag_name = markup[begin + 1 : i].lower()
        if tag_name not in _HTML_TAGS:
            raise HtmlParseError(f'Unsupported start tag "{tag_name}" at byte offset {begin_byte}')
        argument, expandable = "", False
        while True:
            while i < size and markup[i] in _SPACES:
                i += 1
            if i >= size:
                raise HtmlParseError(f"Unclosed start tag at byte offset {begin_byte}")
            if markup[i] == ">":
                i += 1
                break
            attr_start = i
            while i < size and markup[i] not in _SPACES and markup[i] not in "=>":
                i += 1
            attr_name = markup[attr_start:i].lower()
            if not attr_name:
                raise HtmlParseError(
                    f'Empty attribute name in the tag "{tag_name}" at byte offset {begin_byte}'
                )
            while i < size and markup[i] in _SPACES:
                i += 1
            if i >= size or markup[i] != "=":
                expandable = expandable or (tag_name, attr_name) == ("blockquote", "expandable")
                continue
            i += 1
            while i < size and markup[i] in _SPACES:
                i += 1
            if i >= size:
                raise HtmlParseError(f'Unclosed start tag "{tag_name}" at byte offset {begin_byte}')
            if markup[i] not in "'\"":
                token_start = i
                while i < size and (
                    (markup[i].isascii() and markup[i].isalnum()) or markup[i] in ".-"
                ):
                    i += 1
                value = markup[token_start:i].lower()
                if i >= size or (markup[i] not in _SPACES and markup[i] != ">"):
                    raise HtmlParseError(
                        "Unexpected end of name token at byte offset "
                        f"{_byte_offset(markup, token_start)}"
                    )
            else:
                quote = markup[i]
                i += 1
                value_chars: list[str] = []
                while i < size and markup[i] != quote:
                    if markup[i] == "&":
                        decoded, after = _decode_html_entity(markup, i)
                        if decoded is not None:
                            value_chars.append(decoded)
                            i = after
                            continue
                    value_chars.append(markup[i])
                    i += 1
                if i < size:
                    i += 1
                value = "".join(value_chars)
            if i >= size:
                raise HtmlParseError(f"Unclosed start tag at byte offset {begin_byte}")
            if tag_name == "a" and attr_name == "href":
                argument = value
            elif tag_name == "code" and attr_name == "class" and value.startswith("language-"):
                argument = value.removeprefix("language-")
            elif tag_name == "span" and attr_name == "class" and value.startswith("tg-"):
                argument = value.removeprefix("tg-")
            elif tag_name == "tg-emoji" and attr_name == "emoji-id":
                argument = value
            elif tag_name == "blockquote" and attr_name == "expandable":
                expandable = True
        if tag_name == "span" and argument != "spoiler":
            raise HtmlParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {begin_byte}'
            )
        stack.append(_OpenTag(tag_name, argument, position, len(chars), expandable))

    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    for entity in entities:
        entity.pop("_language", None)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(chars), entities


def strip_formatted(text: str, entities: list[JSONDict]) -> tuple[str, list[JSONDict]]:
    """Strip surrounding whitespace as Telegram does, shifting and clipping the entities."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    cut = utf16_len(text[: len(text) - len(text.lstrip())])
    end = utf16_len(stripped)
    kept: list[JSONDict] = []
    for entity in entities:
        start = max(0, entity["offset"] - cut)
        stop = min(end, entity["offset"] + entity["length"] - cut)
        if stop > start:
            kept.append({**entity, "offset": start, "length": stop - start})
    return stripped, kept


_COMMAND_RE = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/@])")
_MENTION_RE = re.compile(r"(?<![\w@/])@[A-Za-z0-9_]{4,32}(?![\w@])")


def detect_entities(text: str) -> list[JSONDict]:
    """bot_command and mention entities, as Telegram attaches them to a user's message."""
    found: list[tuple[int, int, str]] = []
    command_spans: list[tuple[int, int]] = []
    for match in _COMMAND_RE.finditer(text):
        found.append((match.start(), match.end(), "bot_command"))
        command_spans.append(match.span())
    for match in _MENTION_RE.finditer(text):
        if not any(start <= match.start() < stop for start, stop in command_spans):
            found.append((match.start(), match.end(), "mention"))
    return [
        {"type": kind, "offset": utf16_len(text[:start]), "length": utf16_len(text[start:stop])}
        for start, stop, kind in sorted(found)
    ]


# --------------------------------------------------------------------------------------------
# Request parameters
# --------------------------------------------------------------------------------------------

_JSON_PARAMS = _names(
    "reply_markup entities caption_entities commands scope allowed_updates "
    "link_preview_options reply_parameters media results"
)
_INT_PARAMS = _names(
    "chat_id from_chat_id message_id message_thread_id reply_to_message_id user_id offset "
    "limit cache_time max_connections"
)
_FLOAT_PARAMS = frozenset({"timeout"})
_BOOL_PARAMS = _names(
    "disable_notification protect_content allow_sending_without_reply "
    "disable_web_page_preview drop_pending_updates show_alert allow_paid_broadcast"
)


def _coerce_param(name: str, value: Any) -> Any:
    """Type a form value the way Telegram reads that parameter (PTB sends non-strings as JSON)."""
    if not isinstance(value, str):
        return value
    if name in _JSON_PARAMS:
        try:
            return json.loads(value)
        except ValueError:
            raise ApiError(400, f"Bad Request: can't parse {name} JSON object") from None
    if name in _INT_PARAMS:
        with contextlib.suppress(ValueError):
            return int(value)
        return value
    if name in _FLOAT_PARAMS:
        try:
            return float(value)
        except ValueError:
            raise ApiError(400, f"Bad Request: wrong parameter {name} in request") from None
    if name in _BOOL_PARAMS:
        return value.strip().lower() in ("true", "1")
    return value


def _parse_multipart(content_type: str, body: bytes) -> JSONDict:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise ApiError(400, "Bad Request: can't parse multipart/form-data body")
    params: JSONDict = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            params[name] = {
                "filename": filename,
                "content_type": part.get_content_type(),
                "data": payload,
            }
        else:
            params[name] = payload.decode(part.get_content_charset() or "utf-8", "replace")
    return params


def decode_params(content_type: str, body: bytes, query: str) -> JSONDict:
    """Bot API parameters from the query string and a JSON, urlencoded or multipart body."""
    params: JSONDict = {key: values[-1] for key, values in parse_qs(query).items()}
    media_type = content_type.split(";", 1)[0].strip().lower()
    if body.strip():
        if media_type == "application/json":
            try:
                loaded = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise ApiError(400, "Bad Request: can't parse JSON request body") from None
            if not isinstance(loaded, dict):
                raise ApiError(400, "Bad Request: JSON request body must be an object")
            params.update(loaded)
        elif media_type == "multipart/form-data":
            params.update(_parse_multipart(content_type, body))
        else:
            text = body.decode("utf-8", "replace")
            params.update({k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()})
    return {name: _coerce_param(name, value) for name, value in params.items()}


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return repr(value)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, default=_json_default).encode("utf-8")


# --------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that tracks open connections so stop() can cut keep-alive ones."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], api: FakeBotAPI) -> None:
        self.api = api
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (socket.getfqdn), which can stall for
        # seconds without DNS, as in a network-less container.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if self.api.verbose:
            super().handle_error(request, client_address)

    def cut_connections(self) -> None:
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, the body waits for the
    # client's delayed ACK (~40 ms a request).
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            total = 0
            while True:
                size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
                size = int(size_line or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024).strip():
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY_BYTES:
                    raise ApiError(413, "Request Entity Too Large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY_BYTES:
            raise ApiError(413, "Request Entity Too Large")
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        api = self.server.api
        try:
            body = self._read_body()
        except (ValueError, ApiError) as exc:
            status = exc.status if isinstance(exc, ApiError) else 400
            reply = _error_reply(status, str(exc) or "Bad Request: unreadable request body")
            self.close_connection = True
        else:
            reply = api._dispatch(self.command, self.path, dict(self.headers.items()), body)
        if reply.drop:
            self.close_connection = True
            return
        with contextlib.suppress(OSError):
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.extra_headers.items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.api.verbose:
            super().log_message(format, *args)


def _error_reply(status: int, description: str, parameters: JSONDict | None = None) -> _Reply:
    body: JSONDict = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return _Reply(status, _dumps(body))


_BOT_PATH_RE = re.compile(r"^/bot(?P<token>[^/]*)/(?P<method>[A-Za-z_]+)/?$")
_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")


# --------------------------------------------------------------------------------------------
# The fake
# --------------------------------------------------------------------------------------------


class FakeBotAPI:
    """A Telegram Bot API server on a real socket, with a test-side API to drive and inspect it."""

    def __init__(
        self,
        token: str = "123:ABC",
        host: str = "127.0.0.1",
        port: int = 0,
        bot_username: str = "coverage_test_bot",
        *,
        bot_first_name: str = "Coverage Bot",
        strict_html: bool = True,
        verbose: bool = False,
    ) -> None:
        if not _TOKEN_RE.match(token):
            raise ValueError(f"token {token!r} is not shaped like a Bot API token ('123:ABC')")
        self.token = token
        self.host = host
        self.port = port
        self.bot_username = bot_username
        self.strict_html = strict_html
        self.verbose = verbose
        self.bot_user: JSONDict = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._methods: dict[str, Callable[[JSONDict], Any]] = {
            name.lower(): handler for name, handler in self._builtin_methods().items()
        }
        self._reset_state()

    def _reset_state(self) -> None:
        self._calls: list[Call] = []
        self._faults: list[Fault] = []
        self._updates: list[JSONDict] = []
        self._next_update_id = 1
        self._next_message_id = 1
        self._next_callback_id = itertools.count(1)
        self._poll_generation = 0
        self._allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self._webhook_url = ""
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._chats: dict[int, JSONDict] = {}
        self._messages: dict[tuple[int, int], JSONDict] = {}
        self._callback_ids: set[str] = set()
        self._files: dict[str, JSONDict] = {}  # file_id -> {"content", "file_path", ...}
        self.errors: list[str] = []
        self.left_chats: list[int] = []  # chat ids the bot left (leaveChat), in order

    # ---- lifecycle ----------------------------------------------------------------------

    def start(self) -> FakeBotAPI:
        """Bind and serve in a background thread; ``.root`` is valid afterwards."""
        if self._server is not None:
            raise RuntimeError("FakeBotAPI is already running")
        self._stopping.clear()
        self._server = _Server((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},  # how long stop() may wait for the accept loop
            name=f"fake-bot-api:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; pending long polls and delayed answers are released at once."""
        server = self._server
        if server is None:
            return
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        server.shutdown()
        server.cut_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeBotAPI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def root(self) -> str:
        """``http://HOST:PORT``: the API root; the bot's base URL is ``root + "/bot"``."""
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What python-telegram-bot takes as ``base_url``: ``{root}/bot``."""
        return f"{self.root}/bot"

    def reset(self) -> None:
        """Forget calls, faults, pending updates and stored messages (the token stays)."""
        with self._cond:
            self._reset_state()
            self._cond.notify_all()

    # ---- updates ------------------------------------------------------------------------

    def push_update(self, update: JSONDict) -> int:
        """Queue an Update for getUpdates and return its update_id (assigned when missing)."""
        if not isinstance(update, dict):
            raise TypeError(f"an update must be a dict, got {type(update).__name__}")
        kinds = [key for key in update if key != "update_id"]
        if len(kinds) != 1:
            raise ValueError(
                f"an update needs exactly one payload field besides update_id: {kinds}"
            )
        with self._cond:
            update = dict(update)
            if "update_id" not in update:
                update["update_id"] = self._next_update_id
            update_id = int(update["update_id"])
            self._next_update_id = max(self._next_update_id, update_id + 1)
            self._remember_payload(kinds[0], update[kinds[0]])
            self._updates.append(update)
            self._cond.notify_all()
        return update_id

    def _remember_payload(self, kind: str, payload: Any) -> None:
        """Store chats and messages seen in an update so replies and edits find them."""
        if not isinstance(payload, dict):
            return
        message = payload.get("message") if kind == "callback_query" else payload
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            chat = message["chat"]
            if isinstance(chat.get("id"), int):
                self._chats.setdefault(chat["id"], chat)
                if isinstance(message.get("message_id"), int):
                    self._messages[(chat["id"], message["message_id"])] = message
                    self._next_message_id = max(self._next_message_id, message["message_id"] + 1)

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates queued and not yet confirmed by an offset."""
        with self._cond:
            return list(self._updates)

    # ---- builders of realistic updates --------------------------------------------------

    def _new_message_id(self) -> int:
        with self._cond:
            message_id = self._next_message_id
            self._next_message_id += 1
            return message_id

    @staticmethod
    def _user(user_id: int, first_name: str, username: str | None) -> JSONDict:
        user: JSONDict = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": "ar",
        }
        if username:
            user["username"] = username
        return user

    def _group_chat(self, chat_id: int, title: str | None) -> JSONDict:
        known = self._chats.get(chat_id)
        if known is not None and title is None:
            return known
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "title": title or "غرفة الأخبار", "type": kind}

    def _text_message(
        self,
        chat: JSONDict,
        sender: JSONDict | None,
        text: str,
        entities: list[JSONDict] | None,
        message_id: int | None = None,
    ) -> JSONDict:
        message: JSONDict = {
            "message_id": message_id if message_id is not None else self._new_message_id(),
            "date": int(time.time()),
            "chat": chat,
            "text": text,
        }
        if sender is not None:
            message["from"] = sender
        found = detect_entities(text) if entities is None else entities
        if found:
            message["entities"] = found
        return message

    def private_message(
        self,
        user_id: int,
        text: str,
        first_name: str = "سارة",
        username: str | None = None,
        *,
        entities: list[JSONDict] | None = None,
    ) -> JSONDict:
        """An Update with a private-chat message; commands and mentions get their entities."""
        sender = self._user(user_id, first_name, username)
        chat = {"id": user_id, "first_name": first_name, "type": "private"}
        if username:
            chat["username"] = username
        return {"message": self._text_message(chat, sender, text, entities)}

    def group_message(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        reply_to_bot: bool = False,
        entities: list[JSONDict] | None = None,
        *,
        first_name: str = "سارة",
        username: str | None = None,
        chat_title: str | None = None,
        reply_to_message_id: int | None = None,
    ) -> JSONDict:
        """An Update with a group message.

        ``/ask ...`` carries a bot_command entity at offset 0 and ``@coverage_test_bot`` a
        mention entity, as Telegram sends them; ``entities`` replaces that detection.
        ``reply_to_bot`` makes it a reply to the bot's latest message in the chat (one is made up
        when the bot has sent none); ``reply_to_message_id`` replies to a stored message.
        """
        chat = self._group_chat(chat_id, chat_title)
        sender = self._user(user_id, first_name, username)
        message = self._text_message(chat, sender, text, entities)
        replied: JSONDict | None = None
        if reply_to_message_id is not None:
            replied = self.message(chat_id, reply_to_message_id)
            if replied is None:
                raise ValueError(f"no stored message {reply_to_message_id} in chat {chat_id}")
        elif reply_to_bot:
            replied = self._latest_bot_message(chat_id) or self._made_up_bot_message(chat)
        if replied is not None:
            message["reply_to_message"] = {
                key: value for key, value in replied.items() if key != "reply_to_message"
            }
        return {"message": message}

    def edited_message(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        message_id: int | None = None,
        *,
        first_name: str = "سارة",
        username: str | None = None,
        entities: list[JSONDict] | None = None,
    ) -> JSONDict:
        """An Update with an edited message (the user's latest message in the chat by default)."""
        if chat_id > 0:
            chat: JSONDict = self._chats.get(chat_id) or {
                "id": chat_id,
                "first_name": first_name,
                "type": "private",
            }
        else:
            chat = self._group_chat(chat_id, None)
        original = (
            self.message(chat_id, message_id)
            if message_id is not None
            else self._latest_message(chat_id, lambda m: m.get("from", {}).get("id") == user_id)
        )
        sender = self._user(user_id, first_name, username)
        message = self._text_message(
            chat, sender, text, entities, message_id=original["message_id"] if original else None
        )
        if original is not None:
            message["date"] = original["date"]
        message["edit_date"] = int(time.time())
        return {"edited_message": message}

    def channel_post(
        self,
        chat_id: int,
        text: str,
        *,
        title: str = "قناة الأخبار",
        username: str | None = None,
        entities: list[JSONDict] | None = None,
    ) -> JSONDict:
        """An Update with a channel post: the channel is the sender, there is no ``from``."""
        chat: JSONDict = {"id": chat_id, "title": title, "type": "channel"}
        if username:
            chat["username"] = username
        message = self._text_message(chat, None, text, entities)
        message["sender_chat"] = chat
        return {"channel_post": message}

    def callback_query(
        self,
        user_id: int,
        chat_id: int,
        message_id: int,
        data: str,
        *,
        first_name: str = "سارة",
        username: str | None = None,
    ) -> JSONDict:
        """An Update with a button press on the bot's message ``message_id`` in ``chat_id``.

        The query id is registered so answerCallbackQuery accepts it.  The message is the stored
        one when the bot sent it; otherwise a bot message with that id is made up and stored.
        """
        message = self.message(chat_id, message_id)
        if message is None:
            chat = (
                self._group_chat(chat_id, None)
                if chat_id < 0
                else {"id": chat_id, "first_name": first_name, "type": "private"}
            )
            message = self._made_up_bot_message(chat, message_id)
        query_id = str(next(self._next_callback_id) + 4_000_000_000_000_000)
        with self._cond:
            self._callback_ids.add(query_id)
        return {
            "callback_query": {
                "id": query_id,
                "from": self._user(user_id, first_name, username),
                "message": message,
                "chat_instance": str(abs(chat_id) * 7919 + 1),
                "data": data,
            }
        }

    # ---- documents and file downloads ----------------------------------------------------

    def document_message(
        self,
        user_id: int,
        file_name: str,
        content: bytes,
        *,
        caption: str | None = None,
        chat_id: int | None = None,
        mime_type: str = "application/octet-stream",
        file_size: int | None = None,
        first_name: str = "سارة",
    ) -> JSONDict:
        """An Update with a document sent by ``user_id`` (in a private chat, or in group
        ``chat_id``). The file is served by getFile and ``/file/bot<token>/<file_path>``;
        ``file_size`` overrides the size Telegram reports (a file too big to download)."""
        sender = self._user(user_id, first_name, None)
        if chat_id is None:
            chat: JSONDict = {"id": user_id, "first_name": first_name, "type": "private"}
        else:
            chat = self._group_chat(chat_id, None)
        file_id = self.add_file(content, file_name, file_size)
        message: JSONDict = {
            "message_id": self._new_message_id(),
            "date": int(time.time()),
            "chat": chat,
            "from": sender,
            "document": {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "file_name": file_name,
                "mime_type": mime_type,
                "file_size": self._files[file_id]["file_size"],
            },
        }
        if caption is not None:
            message["caption"] = caption
            found = detect_entities(caption)
            if found:
                message["caption_entities"] = found
        return {"message": message}

    def add_file(
        self, content: bytes, file_name: str = "file", file_size: int | None = None
    ) -> str:
        """Store a file as if a user had sent it; returns its file_id."""
        with self._cond:
            number = len(self._files) + 1
            file_id = f"BQACAgIAAxkBAAI{number:06d}"
            suffix = file_name.rsplit(".", 1)[-1] if "." in file_name else "bin"
            self._files[file_id] = {
                "content": content,
                "file_path": f"documents/file_{number}.{suffix}",
                "file_size": len(content) if file_size is None else file_size,
            }
        return file_id

    def downloads(self) -> list[Call]:
        """Successful file downloads (recorded as calls of the pseudo-method "download")."""
        return [call for call in self.calls_of("download") if call.ok]

    def _get_file(self, params: JSONDict) -> JSONDict:
        file_id = str(params.get("file_id") or "")
        with self._cond:
            stored = self._files.get(file_id)
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if stored["file_size"] > 20 * 1024 * 1024:
            raise ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": stored["file_size"],
            "file_path": stored["file_path"],
        }

    def _download(self, path: str) -> _Reply:
        """GET /file/bot<token>/<file_path>: the file's bytes, as Telegram's file server."""
        token, _, file_path = unquote(path.removeprefix("/file/bot")).partition("/")
        arrived = time.time()
        if token != self.token:
            self._record(Call("download", {"file_path": file_path}, arrived, 401))
            return _error_reply(401, "Unauthorized")
        with self._cond:
            found = next((f for f in self._files.values() if f["file_path"] == file_path), None)
        if found is None:
            self._record(Call("download", {"file_path": file_path}, arrived, 404))
            return _error_reply(404, "Not Found")
        self._record(Call("download", {"file_path": file_path}, arrived, 200))
        return _Reply(200, found["content"])

    def bot_added(
        self,
        chat_id: int,
        user_id: int,
        *,
        first_name: str = "سارة",
        username: str | None = None,
        chat_title: str | None = None,
        status: str = "member",
    ) -> JSONDict:
        """An Update saying user ``user_id`` added the bot to group ``chat_id``
        (``my_chat_member``: the bot's status goes from ``left`` to ``status``)."""
        chat = self._group_chat(chat_id, chat_title)
        new: JSONDict = {"status": status, "user": self.bot_user}
        if status == "administrator":
            new |= {
                "can_be_edited": False,
                "is_anonymous": False,
                "can_manage_chat": True,
                "can_delete_messages": False,
                "can_manage_video_chats": False,
                "can_restrict_members": False,
                "can_promote_members": False,
                "can_change_info": False,
                "can_invite_users": False,
                "can_post_stories": False,
                "can_edit_stories": False,
                "can_delete_stories": False,
            }
        return {
            "my_chat_member": {
                "chat": chat,
                "from": self._user(user_id, first_name, username),
                "date": int(time.time()),
                "old_chat_member": {"status": "left", "user": self.bot_user},
                "new_chat_member": new,
            }
        }

    def _made_up_bot_message(self, chat: JSONDict, message_id: int | None = None) -> JSONDict:
        message: JSONDict = {
            "message_id": message_id if message_id is not None else self._new_message_id(),
            "from": self.bot_user,
            "date": int(time.time()),
            "chat": chat,
            "text": "…",
        }
        with self._cond:
            self._messages[(chat["id"], message["message_id"])] = message
            self._next_message_id = max(self._next_message_id, message["message_id"] + 1)
        return message

    def _latest_message(
        self, chat_id: int, predicate: Callable[[JSONDict], bool]
    ) -> JSONDict | None:
        with self._cond:
            candidates = [
                m for (c, _), m in self._messages.items() if c == chat_id and predicate(m)
            ]
        return max(candidates, key=lambda m: m["message_id"]) if candidates else None

    def _latest_bot_message(self, chat_id: int) -> JSONDict | None:
        bot_id = self.bot_user["id"]
        return self._latest_message(chat_id, lambda m: m.get("from", {}).get("id") == bot_id)

    # ---- inspection ---------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """A snapshot of every recorded Bot API call, oldest first."""
        with self._cond:
            return list(self._calls)

    def mark(self) -> int:
        """The number of calls so far: pass it as ``since`` to wait only for later calls."""
        with self._cond:
            return len(self._calls)

    def calls_of(self, method: str, *, include_failed: bool = True) -> list[Call]:
        """Recorded calls of one method (case-insensitive), optionally only successful ones."""
        wanted = method.lower()
        return [c for c in self.calls if c.method.lower() == wanted and (include_failed or c.ok)]

    def sent_messages(self, chat_id: int | None = None) -> list[JSONDict]:
        """Messages returned by successful sendMessage calls, optionally for one chat."""
        return [
            c.result
            for c in self.calls_of("sendMessage", include_failed=False)
            if chat_id is None or c.result["chat"]["id"] == chat_id
        ]

    def message(self, chat_id: int, message_id: int) -> JSONDict | None:
        """The stored message in its current state (after edits), or None if unknown/deleted."""
        with self._cond:
            return self._messages.get((chat_id, message_id))

    def commands(self, scope: JSONDict | None = None, language_code: str = "") -> list[JSONDict]:
        """The command list set by setMyCommands for a scope and language."""
        with self._cond:
            return list(self._commands.get(_commands_key(scope, language_code), []))

    def _find_call(
        self,
        method: str,
        predicate: Callable[[JSONDict], bool] | None,
        since: int,
        include_failed: bool,
    ) -> Call | None:
        wanted = method.lower()
        for call in self._calls[since:]:
            if call.method.lower() != wanted or not (include_failed or call.ok):
                continue
            if predicate is None or predicate(call.params):
                return call
        return None

    def _miss_report(self, method: str, timeout: float, since: int) -> str:
        received = [
            f"  #{c.index} {c.method} {c.status}{' (fault)' if c.faulted else ''} "
            f"{_short(c.params)}"
            for c in self._calls[since:]
            if c.method.lower() != "getupdates"
        ]
        polls = sum(1 for c in self._calls[since:] if c.method.lower() == "getupdates")
        listing = "\n".join(received) if received else "  (none)"
        return (
            f"no matching {method} call within {timeout:g}s; received since #{since} "
            f"({polls} getUpdates not listed):\n{listing}"
        )

    def wait_for(
        self,
        method: str,
        predicate: Callable[[JSONDict], bool] | None = None,
        timeout: float = 10.0,
        *,
        since: int = 0,
        include_failed: bool = False,
    ) -> Call:
        """Block until a call of ``method`` whose params satisfy ``predicate`` is recorded.

        Looks at calls from index ``since`` on (see ``mark``), successful ones unless
        ``include_failed``.  Raises AssertionError listing what was received instead.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = self._find_call(method, predicate, since, include_failed)
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(self._miss_report(method, timeout, since))
                self._cond.wait(min(remaining, 0.5))

    async def await_for(
        self,
        method: str,
        predicate: Callable[[JSONDict], bool] | None = None,
        timeout: float = 10.0,
        *,
        since: int = 0,
        include_failed: bool = False,
    ) -> Call:
        """``wait_for`` for async tests: polls without blocking the event loop."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            with self._cond:
                found = self._find_call(method, predicate, since, include_failed)
                if found is not None:
                    return found
                if loop.time() >= deadline:
                    raise AssertionError(self._miss_report(method, timeout, since))
            await asyncio.sleep(0.01)

    # ---- fault injection ----------------------------------------------------------------

    def fail(
        self,
        method: str,
        status: int = 500,
        times: int = 1,
        retry_after: int | None = None,
        malformed: bool = False,
        close_connection: bool = False,
        delay: float = 0.0,
        description: str | None = None,
    ) -> Fault:
        """Make the next ``times`` calls of ``method`` (``"*"``: any method) misbehave.

        The call answers ``status`` with Telegram's error object (429 carries
        ``parameters.retry_after``, default 1), or a malformed JSON body (``malformed``), or
        no answer at all (``close_connection``), after sleeping ``delay`` seconds.  With
        ``status=200`` the method really runs (a message is stored) and only then is its answer
        garbled or dropped; with neither, ``fail(m, status=200, delay=3)`` is a slow success.
        Calls whose answer a fault replaced are recorded with ``faulted=True``.
        """
        if times < 1:
            raise ValueError(f"times must be at least 1, got {times}")
        if not 100 <= status <= 599:
            raise ValueError(f"status must be an HTTP status code, got {status}")
        if delay < 0:
            raise ValueError(f"delay must not be negative, got {delay}")
        fault = Fault(
            method, status, times, retry_after, malformed, close_connection, delay, description
        )
        with self._cond:
            self._faults.append(fault)
        return fault

    def slow(self, method: str, delay: float, times: int = 1) -> Fault:
        """The next ``times`` calls of ``method`` succeed, but only after ``delay`` seconds."""
        return self.fail(method, status=200, times=times, delay=delay)

    def clear_faults(self) -> None:
        """Drop every fault not yet used up."""
        with self._cond:
            self._faults.clear()

    def _take_fault(self, method: str) -> Fault | None:
        wanted = method.lower()
        with self._cond:
            for fault in self._faults:
                if fault.method == "*" or fault.method.lower() == wanted:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def register_method(self, method: str, handler: Callable[[JSONDict], Any]) -> None:
        """Answer another Bot API method: ``handler(params)`` returns the result or raises
        ``ApiError``."""
        self._methods[method.lower()] = handler

    # ---- request dispatch ---------------------------------------------------------------

    def _record(self, call: Call) -> None:
        with self._cond:
            self._calls.append(call._replace(index=len(self._calls)))
            self._cond.notify_all()

    def _dispatch(self, verb: str, raw_path: str, headers: dict[str, str], body: bytes) -> _Reply:
        parts = urlsplit(raw_path)
        try:
            if parts.path.startswith("/_fake/"):
                return self._control(verb, parts.path, parts.query, body)
            if parts.path.startswith("/file/bot"):
                return self._download(parts.path)
            match = _BOT_PATH_RE.match(parts.path)
            if match is None:
                return _error_reply(404, "Not Found")
            return self._bot_call(match["token"], match["method"], headers, body, parts.query)
        except Exception as exc:  # the server must survive its own bugs; the test sees a 500
            message = f"{type(exc).__name__}: {exc}"
            self.errors.append(message)
            print(f"fake_bot_api: internal error on {verb} {raw_path}: {message}", file=sys.stderr)
            if self.verbose:
                traceback.print_exc()
            return _error_reply(500, f"Internal Server Error: {message}")

    def _bot_call(
        self, token: str, method: str, headers: dict[str, str], body: bytes, query: str
    ) -> _Reply:
        arrived = time.time()
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        try:
            params = decode_params(content_type, body, query)
        except ApiError as exc:
            params, bad_body = {}, exc
        else:
            bad_body = None
        if token != self.token:
            self._record(Call(method, params, arrived, 401, error="Unauthorized"))
            return _error_reply(401, "Unauthorized")
        if bad_body is not None:
            self._record(Call(method, params, arrived, bad_body.status, error=bad_body.description))
            return _error_reply(bad_body.status, bad_body.description)
        handler = self._methods.get(method.lower())
        if handler is None:
            self._record(Call(method, params, arrived, 404, error="Not Found"))
            return _error_reply(404, "Not Found")

        fault = self._take_fault(method)
        if fault is not None and fault.delay > 0:
            self._stopping.wait(fault.delay)
        if fault is not None and fault.status != 200:
            error_body = fault.error_body()
            if fault.close_connection:
                self._record(Call(method, params, arrived, 0, True, error="connection closed"))
                return _Reply(drop=True)
            self._record(
                Call(method, params, arrived, fault.status, True, error=error_body["description"])
            )
            payload = b'{"ok": false, "error_code": ' if fault.malformed else _dumps(error_body)
            return _Reply(fault.status, payload)

        try:
            result = handler(params)
        except ApiError as exc:
            self._record(Call(method, params, arrived, exc.status, error=exc.description))
            return _error_reply(exc.status, exc.description, exc.parameters)
        # A status-200 fault lets the method take effect and then garbles or drops the answer:
        # the "sent, but the client never learned it" case.
        if fault is not None and fault.close_connection:
            self._record(Call(method, params, arrived, 0, True, result, "connection closed"))
            return _Reply(drop=True)
        garbled = fault is not None and fault.malformed
        self._record(Call(method, params, arrived, 200, garbled, result=result))
        if garbled:
            return _Reply(200, b'{"ok": true, "result": ')
        return _Reply(200, _dumps({"ok": True, "result": result}))

    # ---- control interface --------------------------------------------------------------

    def _control(self, verb: str, path: str, query: str, body: bytes) -> _Reply:
        args = {key: values[-1] for key, values in parse_qs(query).items()}
        route = path.removeprefix("/_fake/").rstrip("/")
        try:
            payload = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (UnicodeDecodeError, ValueError) as exc:
            return _error_reply(400, f"control body is not JSON: {exc}")
        try:
            result = self._control_route(verb, route, args, payload)
        except (TypeError, ValueError, KeyError) as exc:
            return _error_reply(400, f"bad control request to /_fake/{route}: {exc}")
        if isinstance(result, _Reply):
            return result
        return _Reply(200, _dumps(result))

    def _control_route(self, verb: str, route: str, args: dict[str, str], payload: Any) -> Any:
        since = int(args.get("since", 0))
        if route == "health" and verb == "GET":
            return {"ok": True, "root": self.root, "bot": self.bot_user}
        if route == "updates" and verb == "POST":
            items = payload if isinstance(payload, list) else [payload]
            return {"ok": True, "update_ids": [self._push_control_update(i) for i in items]}
        if route == "calls" and verb == "GET":
            method = args.get("method")
            calls = self.calls_of(method) if method else self.calls
            return [c.to_json() for c in calls if c.index >= since]
        if route == "sent" and verb == "GET":
            chat_id = int(args["chat_id"]) if "chat_id" in args else None
            return self.sent_messages(chat_id)
        if route == "wait" and verb == "GET":
            return self._control_wait(args, since)
        if route == "fail" and verb == "POST":
            if not isinstance(payload, dict):
                raise TypeError("the fail body must be a JSON object")
            fault = self.fail(**payload)
            return {"ok": True, "fault": fault.__dict__}
        if route == "reset" and verb == "POST":
            self.reset()
            return {"ok": True}
        return _error_reply(404, f"no control route {verb} /_fake/{route}")

    def _push_control_update(self, item: Any) -> int:
        if not isinstance(item, dict):
            raise TypeError(f"an update must be a JSON object, got {item!r}")
        if "helper" in item:
            kwargs = dict(item)
            name = kwargs.pop("helper")
            builders: dict[str, Callable[..., JSONDict]] = {
                "private_message": self.private_message,
                "group_message": self.group_message,
                "callback_query": self.callback_query,
                "edited_message": self.edited_message,
                "channel_post": self.channel_post,
                "bot_added": self.bot_added,
                "document_message": self._control_document_message,
            }
            if name not in builders:
                raise ValueError(f"unknown helper {name!r}; known: {sorted(builders)}")
            return self.push_update(builders[name](**kwargs))
        return self.push_update(item)

    def _control_document_message(self, content_base64: str, **kwargs: Any) -> JSONDict:
        """``document_message`` over JSON: the file's bytes travel as base64."""
        return self.document_message(
            content=base64.b64decode(content_base64, validate=True), **kwargs
        )

    def _control_wait(self, args: dict[str, str], since: int) -> Any:
        method = args.get("method", "sendMessage")
        timeout = float(args.get("timeout", 10))
        chat_id = int(args["chat_id"]) if "chat_id" in args else None
        contains = args.get("text_contains")

        def matches(params: JSONDict) -> bool:
            if chat_id is not None and params.get("chat_id") != chat_id:
                return False
            return contains is None or contains in str(params.get("text", ""))

        try:
            return self.wait_for(method, matches, timeout, since=since).to_json()
        except AssertionError as exc:
            return _error_reply(408, str(exc))

    # ---- Bot API methods ----------------------------------------------------------------

    def _builtin_methods(self) -> dict[str, Callable[[JSONDict], Any]]:
        return {
            "getMe": self._get_me,
            "logOut": lambda _: True,
            "close": lambda _: True,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "sendChatAction": self._send_chat_action,
            "answerCallbackQuery": self._answer_callback_query,
            "leaveChat": self._leave_chat,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getFile": self._get_file,
        }

    def _get_me(self, _: JSONDict) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        offset = _int_param(params, "offset", 0)
        limit = min(max(_int_param(params, "limit", 100), 1), 100)
        timeout = max(_number_param(params, "timeout", 0.0), 0.0)
        allowed = params.get("allowed_updates")
        deadline = time.monotonic() + timeout
        with self._cond:
            if self._webhook_url:
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            if isinstance(allowed, list):
                self._allowed_updates = frozenset(allowed) if allowed else DEFAULT_ALLOWED_UPDATES
            self._poll_generation += 1
            generation = self._poll_generation
            self._cond.notify_all()  # a newer poll ends an older one, as on Telegram
            self._confirm(offset)
            while True:
                if generation != self._poll_generation:
                    raise ApiError(409, _ERROR_DESCRIPTIONS[409])
                ready = self._deliverable(limit)
                remaining = deadline - time.monotonic()
                if ready or remaining <= 0 or self._stopping.is_set():
                    return ready
                self._cond.wait(remaining)

    def _confirm(self, offset: int) -> None:
        """Forget updates below a positive offset; a negative one keeps only the last -offset."""
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    def _deliverable(self, limit: int) -> list[JSONDict]:
        """Drop updates of kinds not allowed (Telegram never delivers them), return the rest."""
        self._updates = [u for u in self._updates if _update_kind(u) in self._allowed_updates]
        return [dict(u) for u in self._updates[:limit]]

    def _set_webhook(self, params: JSONDict) -> bool:
        url = str(params.get("url") or "")
        if url and not url.startswith("https://"):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        with self._cond:
            self._webhook_url = url
            if params.get("drop_pending_updates"):
                self._updates.clear()
            self._cond.notify_all()
        return True

    def _delete_webhook(self, params: JSONDict) -> bool:
        with self._cond:
            self._webhook_url = ""
            if params.get("drop_pending_updates"):
                self._updates.clear()
        return True

    def _get_webhook_info(self, _: JSONDict) -> JSONDict:
        with self._cond:
            info: JSONDict = {
                "url": self._webhook_url,
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            }
            if self._webhook_url:
                info["max_connections"] = 40
        return info

    def _resolve_chat(self, params: JSONDict) -> JSONDict:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        with self._cond:
            if isinstance(chat_id, str):
                username = chat_id.removeprefix("@").lower() if chat_id.startswith("@") else None
                for chat in self._chats.values():
                    if username and str(chat.get("username", "")).lower() == username:
                        return chat
                raise ApiError(400, "Bad Request: chat not found")
            if not isinstance(chat_id, int) or isinstance(chat_id, bool) or chat_id == 0:
                raise ApiError(400, "Bad Request: chat not found")
            known = self._chats.get(chat_id)
        if known is not None:
            return known
        if chat_id > 0:
            return {"id": chat_id, "first_name": "مستخدم", "type": "private"}
        return self._group_chat(chat_id, None)

    def _formatted_text(self, params: JSONDict) -> tuple[str, list[JSONDict]]:
        """Text and entities as Telegram stores them, or the error Telegram gives."""
        raw = params.get("text")
        if raw is None or raw == "":
            raise ApiError(400, "Bad Request: message text is empty")
        text = raw if isinstance(raw, str) else str(raw)
        parse_mode = str(params.get("parse_mode") or "").lower()
        entities: list[JSONDict]
        if parse_mode == "html":
            try:
                text, entities = parse_html(text, strict_ampersand=self.strict_html)
            except HtmlParseError as exc:
                raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
        elif parse_mode in ("markdown", "markdownv2"):
            entities = []
        elif parse_mode == "":
            given = params.get("entities")
            entities = [e for e in given if isinstance(e, dict)] if isinstance(given, list) else []
        else:
            raise ApiError(400, "Bad Request: unsupported parse_mode")
        text, entities = strip_formatted(text, entities)
        if not text:
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > MAX_TEXT_UTF16:
            raise ApiError(400, "Bad Request: message is too long")
        return text, entities

    def _send_message(self, params: JSONDict) -> JSONDict:
        chat = self._resolve_chat(params)
        text, entities = self._formatted_text(params)
        markup = _inline_markup(params.get("reply_markup"))
        replied = self._replied_message(chat["id"], params)
        message: JSONDict = {
            "message_id": self._new_message_id(),
            "from": self.bot_user,
            "date": int(time.time()),
            "chat": chat,
            "text": text,
        }
        if entities:
            message["entities"] = entities
        if replied is not None:
            message["reply_to_message"] = replied
        if markup is not None:
            message["reply_markup"] = markup
        with self._cond:
            self._messages[(chat["id"], message["message_id"])] = message
        return message

    def _send_photo(self, params: JSONDict) -> JSONDict:
        """sendPhoto: an upload (multipart) must be an image; a string must be a stored file_id."""
        chat = self._resolve_chat(params)
        photo = params.get("photo")
        if isinstance(photo, dict):
            data = photo.get("data") or b""
            size = _image_size(data)
            if size is None:
                raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
            file_id = self.add_file(data, photo.get("filename") or "photo.png")
        elif isinstance(photo, str) and photo in self._files:
            file_id, data = photo, self._files[photo]["content"]
            size = _image_size(data) or (320, 320)
        else:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        message: JSONDict = {
            "message_id": self._new_message_id(),
            "from": self.bot_user,
            "date": int(time.time()),
            "chat": chat,
            "photo": [
                {
                    "file_id": file_id,
                    "file_unique_id": f"u{file_id[-8:]}",
                    "width": size[0],
                    "height": size[1],
                    "file_size": len(data),
                }
            ],
        }
        if params.get("caption"):
            caption_params = {
                "text": params["caption"],
                "parse_mode": params.get("parse_mode"),
                "entities": params.get("caption_entities"),
            }
            text, entities = self._formatted_text(caption_params)
            if utf16_len(text) > MAX_CAPTION_UTF16:
                raise ApiError(400, "Bad Request: message caption is too long")
            message["caption"] = text
            if entities:
                message["caption_entities"] = entities
        replied = self._replied_message(chat["id"], params)
        if replied is not None:
            message["reply_to_message"] = replied
        with self._cond:
            self._messages[(chat["id"], message["message_id"])] = message
        return message

    def photos(self) -> list[bytes]:
        """The images of successful sendPhoto uploads, in order."""
        return [
            c.params["photo"]["data"]
            for c in self.calls_of("sendPhoto", include_failed=False)
            if isinstance(c.params.get("photo"), dict)
        ]

    def _replied_message(self, chat_id: int, params: JSONDict) -> JSONDict | None:
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow_missing = bool(reply.get("allow_sending_without_reply"))
        elif params.get("reply_to_message_id") is not None:
            message_id = params["reply_to_message_id"]
            allow_missing = bool(params.get("allow_sending_without_reply"))
        else:
            return None
        replied = self.message(chat_id, message_id) if isinstance(message_id, int) else None
        if replied is None and not allow_missing:
            raise ApiError(400, "Bad Request: message to be replied not found")
        if replied is not None:
            replied = {k: v for k, v in replied.items() if k != "reply_to_message"}
        return replied

    def _message_to_edit(self, params: JSONDict) -> JSONDict | None:
        """The stored bot message addressed by chat_id+message_id; None for inline messages."""
        if params.get("inline_message_id"):
            return None
        chat = self._resolve_chat(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise ApiError(400, "Bad Request: message identifier is not specified")
        message = self.message(chat["id"], message_id)
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if message.get("from", {}).get("id") != self.bot_user["id"]:
            raise ApiError(400, "Bad Request: message can't be edited")
        return message

    def _store_edit(self, message: JSONDict, changes: JSONDict) -> JSONDict:
        edited = {**message, **changes, "edit_date": int(time.time())}
        for key in ("entities", "reply_markup"):
            if key in changes and changes[key] is None:
                edited.pop(key)
        with self._cond:
            self._messages[(message["chat"]["id"], message["message_id"])] = edited
        return edited

    def _edit_message_text(self, params: JSONDict) -> JSONDict | bool:
        text, entities = self._formatted_text(params)
        markup = _inline_markup(params.get("reply_markup"))
        message = self._message_to_edit(params)
        if message is None:
            return True
        if (
            message.get("text") == text
            and message.get("entities", []) == entities
            and message.get("reply_markup") == markup
        ):
            raise ApiError(400, _NOT_MODIFIED)
        return self._store_edit(
            message, {"text": text, "entities": entities or None, "reply_markup": markup}
        )

    def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict | bool:
        markup = _inline_markup(params.get("reply_markup"))
        message = self._message_to_edit(params)
        if message is None:
            return True
        if message.get("reply_markup") == markup:
            raise ApiError(400, _NOT_MODIFIED)
        return self._store_edit(message, {"reply_markup": markup})

    def _delete_message(self, params: JSONDict) -> bool:
        chat = self._resolve_chat(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise ApiError(400, "Bad Request: message identifier is not specified")
        with self._cond:
            if self._messages.pop((chat["id"], message_id), None) is None:
                raise ApiError(400, "Bad Request: message to delete not found")
        return True

    def _send_chat_action(self, params: JSONDict) -> bool:
        self._resolve_chat(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    def _leave_chat(self, params: JSONDict) -> bool:
        chat = self._resolve_chat(params)
        if chat.get("type") == "private":
            raise ApiError(400, "Bad Request: chat member status can't be changed in private chats")
        with self._cond:
            self.left_chats.append(chat["id"])
        return True

    def _answer_callback_query(self, params: JSONDict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        with self._cond:
            if query_id not in self._callback_ids:
                raise ApiError(
                    400,
                    "Bad Request: query is too old and response timeout expired "
                    "or query ID is invalid",
                )
        return True

    def _set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, 'Bad Request: parameter "commands" is required')
        cleaned: list[JSONDict] = []
        for command in commands:
            if not isinstance(command, dict) or not re.fullmatch(
                r"[a-z0-9_]{1,32}", str(command.get("command", ""))
            ):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            description = str(command.get("description", ""))
            if not 1 <= len(description) <= 256:
                raise ApiError(400, "Bad Request: command description is empty or too long")
            cleaned.append({"command": command["command"], "description": description})
        key = _commands_key(params.get("scope"), str(params.get("language_code") or ""))
        with self._cond:
            self._commands[key] = cleaned
        return True

    def _get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        return self.commands(params.get("scope"), str(params.get("language_code") or ""))

    def _delete_my_commands(self, params: JSONDict) -> bool:
        key = _commands_key(params.get("scope"), str(params.get("language_code") or ""))
        with self._cond:
            self._commands.pop(key, None)
        return True


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _commands_key(scope: Any, language_code: str) -> tuple[str, str]:
    scope = scope if isinstance(scope, dict) else {"type": "default"}
    return json.dumps(scope, sort_keys=True), language_code


def _update_kind(update: JSONDict) -> str:
    return next((key for key in update if key != "update_id"), "")


def _int_param(params: JSONDict, name: str, default: int) -> int:
    value = params.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ApiError(400, f"Bad Request: wrong parameter {name} in request")
    return int(value)


def _number_param(params: JSONDict, name: str, default: float) -> float:
    value = params.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ApiError(400, f"Bad Request: wrong parameter {name} in request")
    return float(value)


def _inline_markup(markup: Any) -> JSONDict | None:
    """The inline keyboard Telegram echoes in the Message (other markups are not echoed)."""
    if markup is None or markup == "":
        return None
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return None
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError(400, 'Bad Request: field "inline_keyboard" must be an Array of Arrays')
    actions = ("url", "callback_data", "switch_inline_query", "switch_inline_query_current_chat")
    actions += ("login_url", "web_app", "callback_game", "pay", "copy_text")
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not str(button.get("text", "")).strip():
                raise ApiError(400, "Bad Request: can't parse inline keyboard button: text empty")
            if not any(key in button for key in actions):
                raise ApiError(
                    400,
                    "Bad Request: can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard",
                )
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    return {"inline_keyboard": rows}


def _short(params: JSONDict, limit: int = 160) -> str:
    text = json.dumps(params, ensure_ascii=False, default=_json_default)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------------------------
# Script mode
# --------------------------------------------------------------------------------------------


def main(argv: Iterable[str] | None = None) -> int:
    """Serve the fake until SIGTERM or SIGINT (for shell scripts and the Docker test)."""
    parser = argparse.ArgumentParser(description="Fake Telegram Bot API server for tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123:ABC")
    parser.add_argument("--bot-username", default="coverage_test_bot")
    parser.add_argument(
        "--lenient-html",
        action="store_true",
        help="pass a stray '&' through like Telegram instead of rejecting it",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(list(argv) if argv is not None else None)

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    api = FakeBotAPI(
        args.token,
        args.host,
        args.port,
        args.bot_username,
        strict_html=not args.lenient_html,
        verbose=args.verbose,
    )
    try:
        api.start()
    except OSError as exc:
        print(f"fake Bot API cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    print(f"fake Bot API serving {api.base_url}<token>/ on {args.host}:{api.port}", flush=True)
    while not stop.wait(0.5):
        pass
    api.stop()
    print("fake Bot API stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
