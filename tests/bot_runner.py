"""Run the real bot against the fake Bot API, the way `coverage-bot serve` runs it.

`RunningBot` writes a real config file, loads it with the real loader, opens the
engine on a temporary corpus, builds the Application with `bot.app.build_application`
and serves it with `bot.app.run` (long polling) in a background thread with its
own event loop. Nothing of the bot is replaced: the only fake is the server.
"""

from __future__ import annotations

import asyncio
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import threading
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import yaml
from fake_bot_api import Call, FakeBotAPI
from telegram.ext import Application

from bot.app import Timeouts, Webhook, build_application, run
from bot.cli import engine_for
from bot.logs import forget_secret
from bot.settings import Settings, load_settings
from bot.state import state_of

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
TOKEN = "918273:TEST-bot-token-do-not-log-me"

ADMIN = 1001
MEMBER = 1002  # in access.allowed_users
STRANGER = 1003  # in no list
GROUP = -1001500  # in access.allowed_chats
OTHER_GROUP = -1001600  # in no list

Json = dict[str, Any]


# Starts the real bot with config sections overridden (the `start_bot` fixture).
StartBot = Callable[..., "RunningBot"]


def serve_process(
    config: Path,
    *args: str,
    env: dict[str, str] | None = None,
    open_files: int | None = None,
    stderr: IO[str] | int = subprocess.PIPE,
) -> subprocess.Popen[str]:
    """`coverage-bot serve` as an operator starts it: a separate process, token from the env.

    `args` are extra `serve` options, `env` extra variables; `open_files` lowers the
    process's open-file limit (RLIMIT_NOFILE), as a small container would; `stderr`
    may be a file, for a process that logs more than a pipe holds.
    """

    def limit_files() -> None:
        if open_files is not None:
            _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, hard))

    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--config", str(config), *args],
        cwd=ROOT,
        env={**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        preexec_fn=limit_files if open_files is not None else None,
    )


def copy_seeds(folder: Path) -> Path:
    shutil.copytree(SEEDS, folder)
    return folder


def write_config(folder: Path, corpus: Path, api: FakeBotAPI, **sections: Json) -> Path:
    """A config file like an operator's, with the test users and the fake's address."""
    config: dict[str, Json] = {
        "corpus": {"path": str(corpus), "index_dir": str(folder / "index")},
        "retrieval": {"top_k": 5},
        "access": {"admins": [ADMIN], "allowed_users": [MEMBER], "allowed_chats": [GROUP]},
        "telegram": {"api_url": api.root},
    }
    for name, values in sections.items():
        config.setdefault(name, {}).update(values)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


class RunningBot:
    """The bot serving in a background thread until the `with` block ends."""

    def __init__(
        self,
        api: FakeBotAPI,
        settings: Settings,
        heartbeat_interval: float = 15.0,
        webhook: Webhook | None = None,
        timeouts: Timeouts = Timeouts(),  # noqa: B008 - frozen
    ):
        self.api = api
        self.webhook = webhook
        self.settings = settings
        self.engine = engine_for(settings)
        self.engine.open()
        self.application: Application = build_application(
            settings,
            api.token,
            self.engine,
            heartbeat_interval=heartbeat_interval,
            timeouts=timeouts,
        )
        self.timeouts = timeouts
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._serve, name="bot-under-test", daemon=True)
        self.error: BaseException | None = None

    @classmethod
    def from_config(cls, api: FakeBotAPI, config: Path, **kwargs: Any) -> RunningBot:
        return cls(api, load_settings(config), **kwargs)

    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        try:
            run(
                self.application,
                self.webhook,
                handle_signals=False,
                poll_timeout=self.timeouts.poll,
            )
        except BaseException as exc:  # surfaced by __exit__
            self.error = exc

    def __enter__(self) -> RunningBot:
        self._thread.start()
        # The last call before updates flow: deleteWebhook (polling) or setWebhook.
        self.api.wait_for("setWebhook" if self.webhook else "deleteWebhook", timeout=15)
        if self.webhook is not None:
            _wait_for_port(self.webhook.listen, self.webhook.port)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.application.stop_running)
        self._thread.join(timeout=15)
        forget_secret(self.api.token)
        assert not self._thread.is_alive(), "the bot did not shut down"
        if self.error is not None:
            raise self.error

    def hold_reloads(self) -> ReloadGate:
        """Pause the next reload once it starts indexing (see ReloadGate)."""
        gate = ReloadGate()
        state_of(self.application).reload_progress = gate.progress
        return gate

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # ---- conversation helpers ---------------------------------------------------------

    def send(self, update: Json) -> int:
        """Push an update; returns the call mark to wait for replies after it."""
        mark = self.api.mark()
        self.api.push_update(update)
        return mark

    def reply(self, chat_id: int, since: int, contains: str = "", timeout: float = 10) -> Call:
        """The next message sent to `chat_id` after `since` (holding `contains`, if given)."""
        return self.api.wait_for(
            "sendMessage",
            lambda p: p["chat_id"] == chat_id and contains in visible(p),
            since=since,
            timeout=timeout,
        )

    def ask(self, user_id: int, text: str, contains: str = "") -> Call:
        """A private question and the bot's (first) reply to it."""
        since = self.send(self.api.private_message(user_id, text))
        return self.reply(user_id, since, contains)

    def messages_since(self, chat_id: int, since: int) -> list[Json]:
        """Messages the bot sent to `chat_id` after mark `since` (successful sends only)."""
        return [
            c.result
            for c in self.api.calls[since:]
            if c.method == "sendMessage" and c.ok and c.result["chat"]["id"] == chat_id
        ]


class ReloadGate:
    """Holds the bot's next index build at its first document until `release()`.

    Installed as the bot state's reload progress callback (the hook the engine ticks
    once per indexed document), so the real reload runs, only paused: a deterministic
    stand-in for a slow disk or a huge corpus.
    """

    def __init__(self) -> None:
        self.reached = threading.Event()
        self._released = threading.Event()

    def progress(self, total: int) -> Callable[[int], None]:
        def tick(count: int = 1) -> None:
            self.reached.set()
            self._released.wait(timeout=60)

        return tick

    def release(self) -> None:
        self._released.set()


def _wait_for_port(host: str, port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def visible(params: Json) -> str:
    """The text a user sees for a sendMessage call (tags removed, entities decoded)."""
    from fake_bot_api import parse_html

    text = str(params.get("text", ""))
    if params.get("parse_mode") == "HTML":
        return parse_html(text)[0]
    return text


def buttons(message: Json) -> dict[str, str]:
    """Button label → callback data of a sent message."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row}


# ---- reading direction, as a Telegram client decides it --------------------------------

_ISOLATE_OPEN = {"\u2066", "\u2067", "\u2068"}
_ISOLATE_CLOSE = "\u2069"
# TDLib strips these "empty" characters from both ends of a message text.
_STRIPPED_AT_ENDS = set(" \t\n\r\u00a0\u200b\u200c\u200d\u200e\u200f\u202e")


def paragraph_directions(text: str, understands_isolates: bool = True) -> list[str | None]:
    """The base direction ('R', 'L' or None) of each paragraph (line) of a message.

    Unicode rule P2: the first strong character (L, R or AL) decides; a client that
    implements isolates skips what is inside them, an older one does not.
    """
    text = text.lstrip("".join(_STRIPPED_AT_ENDS))
    directions = []
    for paragraph in re.split("\n", text):
        depth = 0
        found = None
        for char in paragraph:
            if understands_isolates and char in _ISOLATE_OPEN:
                depth += 1
            elif understands_isolates and char == _ISOLATE_CLOSE:
                depth = max(depth - 1, 0)
            elif depth == 0:
                kind = unicodedata.bidirectional(char)
                if kind in ("R", "AL"):
                    found = "R"
                    break
                if kind == "L":
                    found = "L"
                    break
        directions.append(found)
    return directions
