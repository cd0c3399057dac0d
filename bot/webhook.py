"""Webhook mode: a small HTTP server that takes Telegram's posts and nothing else.

Why not python-telegram-bot's own webhook server (tornado): it reads a body of up to
100 MB into memory before the secret is checked, keeps a half-sent request open for an
hour, and logs every failed accept. This server reads one request per connection and
refuses anything that is not Telegram before reading its body:

- the request head (request line and headers, at most `MAX_HEAD` bytes) and body must
  arrive within `REQUEST_DEADLINE` seconds of the connection, or the connection is
  dropped, whether the client is idle or trickles a byte a second;
- a wrong or missing `X-Telegram-Bot-Api-Secret-Token` is refused with 403 (checked in
  constant time) before any of the body is read; a body over `MAX_BODY` gets 413 unread;
- at most `max_connections` connections are held; a new one pushes out the oldest one
  still sending its head, so a crowd of slow clients cannot keep Telegram out, and the
  process keeps file descriptors to spare;
- a failing accept (no file descriptors left) is retried after a pause and logged once
  per `LOG_INTERVAL`, as are refused requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import resource
import secrets
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

log = logging.getLogger(__name__)

SECRET_HEADER = "x-telegram-bot-api-secret-token"
MAX_HEAD = 16 * 1024  # request line and headers; Telegram sends well under 1 KB
MAX_BODY = 1024 * 1024  # Telegram's updates are a few KB
REQUEST_DEADLINE = 8.0  # seconds from accept to the whole request read
MAX_CONNECTIONS = 256  # Telegram opens at most 100 (setWebhook's max_connections)
ACCEPT_RETRY_DELAY = 0.5  # seconds to wait after accept() failed (e.g. no file descriptor)
LOG_INTERVAL = 60.0  # at most one log line per kind of trouble per interval

# Where the running server is kept in `Application.bot_data`, for the heartbeat.
SERVER_KEY = "webhook_server"

Deliver = Callable[[dict[str, Any]], Awaitable[None]]


def new_secret() -> str:
    """A random secret in the alphabet Telegram allows (A-Z, a-z, 0-9, _ and -)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class Webhook:
    """Webhook mode: Telegram POSTs updates to `url`; we listen on listen:port.

    There is always a secret: without one, anyone who finds the port could post
    updates in an admin's name. `repr` leaves it out so it never reaches a log.
    """

    url: str
    listen: str = "0.0.0.0"
    port: int = 8443
    secret_token: str = field(default_factory=new_secret, repr=False)

    @property
    def path(self) -> str:
        return "/" + urlparse(self.url).path.lstrip("/")


class Refused(Exception):
    """A request answered with an error status; `reason` names it in the log summary."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


_STATUS_TEXT = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    501: "Not Implemented",
    503: "Service Unavailable",
}


@dataclass(frozen=True, slots=True)
class RequestHead:
    method: str
    path: str
    headers: dict[str, str]


def parse_head(raw: bytes) -> RequestHead:
    """Request line and headers (names lower-cased); `Refused` for anything malformed.

    A header that decides how the request is read or trusted may appear only once, so
    two parsers can never disagree about it.
    """
    try:
        text = raw.decode("latin-1")
        request_line, *lines = text.split("\r\n")
        method, target, version = request_line.split(" ")
    except ValueError:
        raise Refused(400, "malformed request line") from None
    if not version.startswith("HTTP/1."):
        raise Refused(400, "not HTTP/1.x")
    headers: dict[str, str] = {}
    for line in lines:
        if not line:
            continue
        name, colon, value = line.partition(":")
        name = name.strip().lower()
        if not colon or not name or name != name.strip() or " " in name:
            raise Refused(400, "malformed header")
        if name in headers and name in (SECRET_HEADER, "content-length", "transfer-encoding"):
            raise Refused(400, f"repeated {name}")
        headers[name] = value.strip()
    return RequestHead(method, target.split("?", 1)[0], headers)


def check_head(head: RequestHead, path: str, secret: str) -> int:
    """The body length to read for an authentic post to `path`, else `Refused`."""
    if head.path != path:
        raise Refused(404, "wrong path")
    if head.method != "POST":
        raise Refused(405, "not a POST")
    given = head.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode("latin-1"), secret.encode("ascii")):
        raise Refused(403, "wrong or missing secret")
    if "transfer-encoding" in head.headers:
        raise Refused(501, "chunked body")
    length = head.headers.get("content-length")
    if length is None:
        raise Refused(411, "no Content-Length")
    if not length.isdigit() or len(length) > 12:
        raise Refused(400, "bad Content-Length")
    if int(length) > MAX_BODY:
        raise Refused(413, "body over 1 MB")
    return int(length)


def parse_update(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise Refused(400, "body is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        raise Refused(400, "not an update")
    return data


class _Summary:
    """Counts events of one kind and logs them at most once per `interval` seconds."""

    def __init__(self, what: str, interval: float = LOG_INTERVAL) -> None:
        self.what = what
        self.interval = interval
        self.counts: Counter[str] = Counter()
        self.last = -interval

    def note(self, reason: str) -> None:
        self.counts[reason] += 1
        now = time.monotonic()
        if now - self.last >= self.interval:
            details = ", ".join(f"{n} × {why}" for why, n in self.counts.most_common())
            log.warning("webhook: %s: %s", self.what, details)
            self.counts.clear()
            self.last = now


def connection_limit(wanted: int = MAX_CONNECTIONS) -> int:
    """Connections to hold at once: `wanted`, but at most half the open-file limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(8, min(wanted, soft // 2))


class WebhookServer:
    """Serves `path` on host:port; each authentic update goes to `deliver`."""

    def __init__(
        self,
        path: str,
        secret: str,
        deliver: Deliver,
        max_connections: int | None = None,
    ) -> None:
        self.path = path
        self.secret = secret
        self.deliver = deliver
        self.max_connections = max_connections or connection_limit()
        self._socket: socket.socket | None = None
        self._accepting: asyncio.Task[None] | None = None
        # Connection tasks, and the writers of those still sending their head (oldest first).
        self._tasks: set[asyncio.Task[None]] = set()
        # A connection is "arriving" from its accept (its raw socket) until its head
        # proves it authentic (its writer, once open): either may be pushed out.
        self._arriving: dict[asyncio.Task[None], socket.socket | asyncio.StreamWriter] = {}
        self._refusals = _Summary("refused requests")
        self._accept_failures = _Summary("cannot accept connections")

    @property
    def serving(self) -> bool:
        return self._accepting is not None and not self._accepting.done()

    async def start(self, host: str, port: int) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.create_server((host, port), family=family, backlog=128)
        listener.setblocking(False)
        self._socket = listener
        self._accepting = asyncio.create_task(self._accept_loop(listener), name="webhook-accept")
        log.info("webhook: listening on %s:%d%s", host, port, self.path)

    async def stop(self) -> None:
        if self._accepting is not None:
            self._accepting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._accepting
        if self._socket is not None:
            self._socket.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept_loop(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                client, _ = await loop.sock_accept(listener)
            except ConnectionError:
                continue  # the client gave up before we took the connection
            except OSError as exc:  # mostly EMFILE: no file descriptor left
                self._accept_failures.note(exc.strerror or str(exc))
                await asyncio.sleep(ACCEPT_RETRY_DELAY)
                continue
            if len(self._tasks) >= self.max_connections and not self._push_out_oldest():
                client.close()  # every held connection is an authentic post being read
                self._refusals.note("too many connections")
                continue
            task = asyncio.create_task(self._serve(client))
            self._tasks.add(task)
            self._arriving[task] = client  # may be pushed out before it even starts
            task.add_done_callback(self._tasks.discard)
            # Let the new connection start reading before the next accept: in a burst, a
            # crowd accepted back to back would otherwise hold every slot unregistered.
            await asyncio.sleep(0)

    def _push_out_oldest(self) -> bool:
        for task, held in self._arriving.items():
            del self._arriving[task]
            if isinstance(held, asyncio.StreamWriter):
                held.transport.abort()
            else:  # not started yet: its task closes the socket as it ends
                task.cancel()
            self._refusals.note("pushed out by a newer connection")
            return True
        return False

    async def _serve(self, client: socket.socket) -> None:
        task = asyncio.current_task()
        assert task is not None
        writer: asyncio.StreamWriter | None = None
        try:
            reader, writer = await asyncio.open_connection(sock=client, limit=MAX_HEAD)
            if task in self._arriving:  # not pushed out meanwhile
                self._arriving[task] = writer
            async with asyncio.timeout(REQUEST_DEADLINE):
                status = await self._answer(reader, writer, task)
                await _respond(writer, status)
        except Refused as refused:
            self._refusals.note(refused.reason)
            if writer is not None:
                with contextlib.suppress(OSError, TimeoutError):
                    async with asyncio.timeout(1):
                        await _respond(writer, refused.status)
        except TimeoutError:
            self._refusals.note(f"request not complete within {REQUEST_DEADLINE:g} s")
        except (OSError, asyncio.IncompleteReadError):
            pass  # the client went away, or was pushed out
        finally:
            self._arriving.pop(task, None)
            if writer is not None:
                writer.transport.close()  # sends what is buffered (at most a status line)
            else:
                client.close()

    async def _answer(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, task: asyncio.Task[None]
    ) -> int:
        try:
            raw = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            raise Refused(431, "head over 16 KB") from None
        head = parse_head(raw[:-4])
        length = check_head(head, self.path, self.secret)
        self._arriving.pop(task, None)  # authentic: no longer pushed out by newcomers
        if head.headers.get("expect", "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        update = parse_update(await reader.readexactly(length))
        try:
            await self.deliver(update)
        except Refused:  # e.g. 503: another replica is handling it; Telegram posts again
            raise
        except Exception as exc:  # an authentic post python-telegram-bot cannot read
            log.warning("webhook: update %s not understood: %s", update["update_id"], exc)
            raise Refused(400, "update not understood") from None
        return 200


async def _respond(writer: asyncio.StreamWriter, status: int) -> None:
    writer.write(
        f"HTTP/1.1 {status} {_STATUS_TEXT[status]}\r\n"
        "Content-Length: 0\r\nConnection: close\r\n\r\n".encode("ascii")
    )
    await writer.drain()
