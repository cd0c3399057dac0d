"""`coverage-bot serve --webhook-url` as a separate process, attacked as a stranger would.

Only 127.0.0.1; every attack is bounded in size and time. The figures these tests
hold the server to are in docs/reliability.md ("Webhook").
"""

from __future__ import annotations

import contextlib
import json
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot_runner import (
    ADMIN,
    MEMBER,
    RunningBot,
    copy_seeds,
    free_port,
    serve_process,
    write_config,
)
from fake_bot_api import FakeBotAPI

from bot.webhook import Webhook

URL = "https://bot.example.org/telegram/hook"
PATH = "/telegram/hook"
SECRET = "s3cret_Token-1"
QUESTION = "ماذا قال كيم عن الإمبريالية؟"
MB = 1024 * 1024


@dataclass
class Server:
    process: subprocess.Popen[str]
    port: int
    log: Path

    def peak_rss_kb(self) -> int:
        """The process's peak resident memory so far (VmHWM), in KB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(
            next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1]
        )

    def open_files(self) -> int:
        return len(list(Path(f"/proc/{self.process.pid}/fd").iterdir()))


@contextlib.contextmanager
def webhook_server(
    api: FakeBotAPI, tmp_path: Path, env: dict[str, str], open_files: int | None = None
) -> Iterator[Server]:
    config = write_config(tmp_path, copy_seeds(tmp_path / "corpus"), api)
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as stderr:
        process = serve_process(
            config,
            *("--webhook-url", URL, "--listen", "127.0.0.1", "--port", str(port)),
            env=env,
            open_files=open_files,
            stderr=stderr,
        )
        try:
            api.wait_for("setWebhook", timeout=30)
            _wait_for_port(port)
            yield Server(process, port, log)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


def _wait_for_port(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def post(port: int, update: dict, secret: str | None, timeout: float = 10) -> int:
    """POST an update as Telegram does; the HTTP status (0 if the connection was dropped)."""
    body = json.dumps(update).encode()
    head = [f"POST {PATH} HTTP/1.1", "Host: bot.example.org", "Content-Type: application/json"]
    if secret is not None:
        head.append(f"X-Telegram-Bot-Api-Secret-Token: {secret}")
    head.append(f"Content-Length: {len(body)}")
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as client:
        client.sendall("\r\n".join(head).encode() + b"\r\n\r\n" + body)
        try:
            status_line = client.makefile("rb").readline()
        except ConnectionError:
            return 0
    return int(status_line.split()[1]) if status_line else 0


def update(api: FakeBotAPI, update_id: int, user_id: int, text: str) -> dict:
    return {"update_id": update_id, **api.private_message(user_id, text)}


def answer(api: FakeBotAPI, chat_id: int, since: int, timeout: float = 10) -> str:
    call = api.wait_for(
        "sendMessage", lambda p: p["chat_id"] == chat_id, since=since, timeout=timeout
    )
    return call.result["text"]


def test_without_a_configured_secret_the_webhook_gets_a_random_one_and_refuses_forgeries(
    api: FakeBotAPI, tmp_path: Path
):
    with webhook_server(api, tmp_path, env={"TELEGRAM_WEBHOOK_SECRET": ""}) as server:
        registered = api.calls_of("setWebhook")[-1].params
        assert registered["url"] == URL
        secret = registered.get("secret_token") or ""
        assert len(secret) >= 40, f"setWebhook was called without a secret: {registered}"
        # A stranger's forged update in the admin's name: refused, never handled.
        assert post(server.port, update(api, 9001, ADMIN, "/stats"), secret=None) == 403
        assert post(server.port, update(api, 9002, ADMIN, "/stats"), secret="guess") == 403
        since = api.mark()
        assert post(server.port, update(api, 9003, ADMIN, "/stats"), secret=secret) == 200
        assert "98" in answer(api, ADMIN, since)  # the seeds' sentence count
        cmdline = Path(f"/proc/{server.process.pid}/cmdline").read_bytes().decode()
    sent = api.sent_messages(ADMIN)
    assert len(sent) == 1, f"a forged /stats was answered: {[m['text'] for m in sent]}"
    assert secret not in cmdline
    assert secret not in server.log.read_text()


def test_webhook_mode_answers_a_question_posted_with_the_secret_from_the_environment(
    api: FakeBotAPI, tmp_path: Path
):
    with webhook_server(api, tmp_path, env={"TELEGRAM_WEBHOOK_SECRET": SECRET}) as server:
        assert api.calls_of("setWebhook")[-1].params["secret_token"] == SECRET
        assert post(server.port, update(api, 9101, MEMBER, QUESTION), "s3cret_Token-2") == 403
        since = api.mark()
        assert post(server.port, update(api, 9102, MEMBER, QUESTION), SECRET) == 200
        assert "الإمبريالية" in answer(api, MEMBER, since)
        assert SECRET not in Path(f"/proc/{server.process.pid}/cmdline").read_text()
    assert len(api.sent_messages(MEMBER)) == 1, "the post with the wrong secret was handled"
    assert SECRET not in server.log.read_text()


def forged_huge_post(port: int, size: int) -> float:
    """Post `size` bytes with a wrong secret, as fast as the server takes them; seconds taken."""
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: bot.example.org\r\nContent-Type: application/json\r\n"
        f"X-Telegram-Bot-Api-Secret-Token: guess\r\nContent-Length: {size}\r\n\r\n"
    )
    chunk = b" " * MB
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        client.sendall(head.encode())
        with contextlib.suppress(ConnectionError):
            for _ in range(size // MB):
                client.sendall(chunk)
        with contextlib.suppress(ConnectionError):
            client.recv(100)
    return time.monotonic() - started


def test_a_95_mb_post_without_the_secret_is_refused_before_its_body_is_read(
    api: FakeBotAPI, tmp_path: Path
):
    with webhook_server(api, tmp_path, env={"TELEGRAM_WEBHOOK_SECRET": SECRET}) as server:
        peak_before = server.peak_rss_kb()
        seconds = [forged_huge_post(server.port, 95 * MB) for _ in range(3)]
        growth_kb = server.peak_rss_kb() - peak_before
        since = api.mark()
        assert post(server.port, update(api, 9201, MEMBER, QUESTION), SECRET) == 200
        assert "الإمبريالية" in answer(api, MEMBER, since)
    assert growth_kb < 3 * 1024, f"three forged 95 MB posts grew the peak RSS by {growth_kb} KB"
    assert max(seconds) < 5, f"refusing took {seconds} s"


def _watch_until_dropped(client: socket.socket, trickle: bytes, limit: float) -> float | None:
    """Seconds until the server drops `client`, sending `trickle` one byte a second; None if not."""
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < limit:
        readable, _, _ = select.select([client], [], [], 1.0)
        if readable:
            try:
                if not client.recv(100):
                    return elapsed
            except ConnectionError:
                return elapsed
        elif trickle:
            try:
                client.send(trickle[:1])
            except ConnectionError:
                return elapsed
            trickle = trickle[1:]
    return None


def test_idle_and_slow_clients_are_dropped_within_10_seconds(api: FakeBotAPI, tmp_path: Path):
    half_head = f"POST {PATH} HTTP/1.1\r\nHost: bot.example.org\r\n".encode()
    slow_head = half_head + b"X-Padding: " + b"a" * 60
    with webhook_server(api, tmp_path, env={"TELEGRAM_WEBHOOK_SECRET": SECRET}) as server:
        idle, half, trickling = (
            socket.create_connection(("127.0.0.1", server.port)) for _ in range(3)
        )
        half.sendall(half_head)
        results: dict[str, float | None] = {}

        def watch(name: str, client: socket.socket, trickle: bytes) -> None:
            results[name] = _watch_until_dropped(client, trickle, limit=15)

        watchers = [
            threading.Thread(target=watch, args=("idle", idle, b"")),
            threading.Thread(target=watch, args=("half head", half, b"")),
            threading.Thread(target=watch, args=("a byte a second", trickling, slow_head)),
        ]
        for watcher in watchers:
            watcher.start()
        for watcher in watchers:
            watcher.join(timeout=20)
        for client in (idle, half, trickling):
            client.close()
    for name, seconds in results.items():
        assert seconds is not None and seconds <= 10, f"{name}: still open after 15 s"
    assert len(results) == 3


def test_200_slow_connections_do_not_hold_up_a_real_update(api: FakeBotAPI, tmp_path: Path):
    # An open-file limit of 200: the slow crowd alone would exhaust it.
    with webhook_server(
        api, tmp_path, env={"TELEGRAM_WEBHOOK_SECRET": SECRET}, open_files=200
    ) as server:
        crowd = []
        try:
            for _ in range(200):
                client = socket.create_connection(("127.0.0.1", server.port), timeout=5)
                client.sendall(f"POST {PATH} HTTP/1.1\r\nHost: bot.example.org\r\n".encode())
                crowd.append(client)
            started = time.monotonic()
            since = api.mark()
            assert post(server.port, update(api, 9301, MEMBER, QUESTION), SECRET, timeout=5) == 200
            assert "الإمبريالية" in answer(api, MEMBER, since, timeout=5)
            seconds = time.monotonic() - started
            held = server.open_files()
        finally:
            for client in crowd:
                client.close()
    assert seconds < 5, f"the real update was answered after {seconds:.1f} s"
    assert held < 200, f"the server held {held} open files"
    log = server.log.read_text()
    assert log.count("Too many open files") <= 1, "accept failures are logged per attempt"


# The webhook server alone, in a process whose open-file limit is nearly used up.
_STARVED_SERVER = """
import asyncio, logging, os, resource, sys
from bot.webhook import WebhookServer

logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
in_use = len(os.listdir("/proc/self/fd"))
_, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (in_use + 16, hard))

async def deliver(update):
    print("delivered", update["update_id"], flush=True)

async def main():
    server = WebhookServer("/telegram/hook", sys.argv[1], deliver, max_connections=1000)
    await server.start("127.0.0.1", int(sys.argv[2]))
    print("ready", flush=True)
    await asyncio.sleep(float(sys.argv[3]))
    await server.stop()

asyncio.run(main())
"""


def test_accept_failures_for_want_of_file_descriptors_are_logged_once_per_minute(
    api: FakeBotAPI,
):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", _STARVED_SERVER, SECRET, str(port), "6"],
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline() == "ready\n"
    crowd = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(60)]
    time.sleep(2)  # the server retries accept() every half second meanwhile
    for client in crowd:
        client.close()
    status = post(port, update(api, 9401, MEMBER, QUESTION), SECRET, timeout=5)
    out, err = process.communicate(timeout=20)
    assert err.count("cannot accept connections") == 1, err
    assert "cannot accept connections: 1 × Too many open files" in err
    assert status == 200 and "delivered 9401" in out


def test_the_heartbeat_runs_in_webhook_mode(api: FakeBotAPI, tmp_path: Path):
    beat = tmp_path / "heartbeat"
    config = write_config(
        tmp_path, copy_seeds(tmp_path / "corpus"), api, telegram={"heartbeat_file": str(beat)}
    )
    webhook = Webhook(URL, "127.0.0.1", free_port(), SECRET)
    with RunningBot.from_config(api, config, heartbeat_interval=0.1, webhook=webhook):
        deadline = time.monotonic() + 10
        while not beat.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert beat.exists(), "the webhook bot never touched its heartbeat file"


def test_a_webhook_port_already_in_use_is_a_one_line_error(api: FakeBotAPI, tmp_path: Path):
    config = write_config(tmp_path, copy_seeds(tmp_path / "corpus"), api)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        process = serve_process(
            config, "--webhook-url", URL, "--listen", "127.0.0.1", "--port", str(port)
        )
        _, err = process.communicate(timeout=60)
    assert process.returncode == 1, err
    last = err.strip().splitlines()[-1]
    assert last.startswith(
        f"coverage-bot: cannot listen for the webhook on 127.0.0.1:{port}: Address already in use"
    )
    assert "Traceback" not in err
