"""A question log the bot cannot write, through `coverage-bot serve` as an operator runs it.

The bot runs in its own process, so each fault is real for it alone: a database
file it may not write (as root the process first gives up CAP_DAC_OVERRIDE, as in
tests/test_storage_faults.py), a disk that fills while it serves (RLIMIT_FSIZE
lowered on the running process with prlimit), a log written by a newer release.
It keeps answering, logs one warning, and /stats says the log is unavailable.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot_runner import ADMIN, MEMBER, TOKEN, buttons, write_config
from fake_bot_api import FakeBotAPI

from bot.storage import Storage

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "ماذا قال كيم عن الإمبريالية؟"
ANSWER_HEADER = "أقرب الجمل إلى سؤالك"
PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE = 1


def _as_plain_user() -> None:
    """In the child before exec: as root, give up overriding file modes."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a full disk fails writes, never kills
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


class Served:
    """`coverage-bot serve` in a child process; its log lines are in `log` as they come.

    The log is read through a pipe, not a file: a full disk must not swallow it.
    """

    def __init__(self, process: subprocess.Popen[str], api: FakeBotAPI) -> None:
        self.process, self.api = process, api
        self.log: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line.rstrip("\n"))

    def ask(self, user_id: int, text: str, contains: str = "") -> dict:
        since = self.api.mark()
        self.api.push_update(self.api.private_message(user_id, text))
        return self.api.wait_for(
            "sendMessage",
            lambda p: p["chat_id"] == user_id and contains in p["text"],
            since=since,
            timeout=20,
        ).result

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=10)
        return self.process.returncode


@contextmanager
def serving(api: FakeBotAPI, config: Path) -> Iterator[Served]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--config", str(config)],
        cwd=ROOT,
        env={**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_as_plain_user,
    )
    served = Served(process, api)
    try:
        api.wait_for("deleteWebhook", timeout=60)
        yield served
    finally:
        returncode = served.stop()
    assert returncode == 0, served.log


def unavailable_lines(log: list[str]) -> list[str]:
    return [line for line in log if "storage unavailable" in line]


def test_a_read_only_log_leaves_answers_without_votes(api: FakeBotAPI, corpus: Path, tmp_path):
    config = write_config(tmp_path, corpus, api)
    db = tmp_path / "coverage-bot.sqlite3"
    Storage(db).close()
    db.chmod(0o444)
    with serving(api, config) as bot:
        answer = bot.ask(MEMBER, QUESTION, ANSWER_HEADER)
        assert "الإمبريالية" in answer["text"]
        assert "👍" not in buttons(answer) and "السياق 1" in buttons(answer)
        stats = bot.ask(ADMIN, "/stats")["text"]
        assert "سجل الأسئلة غير متاح: \u2068attempt to write a readonly database\u2069" in stats
    (line,) = unavailable_lines(bot.log)
    assert f"storage unavailable: {db}: attempt to write a readonly database" in line
    with sqlite3.connect(db) as read:
        assert read.execute("SELECT count(*) FROM questions").fetchone() == (0,)


def test_a_disk_filling_up_while_serving_drops_only_the_log(
    api: FakeBotAPI, corpus: Path, tmp_path
):
    config = write_config(tmp_path, corpus, api)
    db = tmp_path / "coverage-bot.sqlite3"
    with serving(api, config) as bot:
        assert "👍" in buttons(bot.ask(MEMBER, QUESTION, ANSWER_HEADER))
        # The disk is full: from now on no file of the bot's may grow (EFBIG).
        hard = resource.prlimit(bot.process.pid, resource.RLIMIT_FSIZE)[1]
        resource.prlimit(bot.process.pid, resource.RLIMIT_FSIZE, (1, hard))
        for _ in range(3):
            answer = bot.ask(MEMBER, "أين عقدت القمة بين كيم وبوتين؟", ANSWER_HEADER)
            assert "المصدر" in answer["text"] and "👍" not in buttons(answer)
        stats = bot.ask(ADMIN, "/stats")["text"]
        assert "سجل الأسئلة غير متاح: " in stats
        assert "disk is full" in stats or "disk I/O error" in stats, stats
    (line,) = unavailable_lines(bot.log)
    assert f"storage unavailable: {db}: " in line
    with sqlite3.connect(db) as read:
        assert read.execute("SELECT question FROM questions").fetchall() == [(QUESTION,)]


def test_a_log_from_a_newer_release_stops_the_bot_with_one_clear_line(
    api: FakeBotAPI, corpus: Path, tmp_path
):
    config = write_config(tmp_path, corpus, api)
    db = tmp_path / "coverage-bot.sqlite3"
    with sqlite3.connect(db) as newer:
        newer.execute("PRAGMA user_version = 9")
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve", "--config", str(config)],
        cwd=ROOT,
        env={**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        f"coverage-bot: {db}: database schema version 9 is newer than this release "
        "understands (version 2); upgrade coverage-bot or point storage.path at another file"
    )
    assert not api.calls_of("sendMessage"), "it never served"
