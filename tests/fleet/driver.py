"""The fleet, end to end: redis-server, HAProxy and three `serve --webhook-url` replicas
on loopback ports, driven as Telegram drives them.

Telegram's part is played here: updates are POSTed to the load balancer with the
secret header, and a post answered with anything but 200 (or not answered) is posted
again a second later, as Telegram re-posts a webhook it thinks failed. Replies are read
from the fake Bot API (tests/fake_bot_api.py, in this process). Questions are asked in
groups (`/ask …`), where every answer quotes its question, so each reply is matched to
the one update it answers. Prints numbers, exits 1 on the first failed check.

    .venv/bin/python tests/fleet/driver.py [--keep]    (tests/fleet/e2e.sh runs it)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

from fake_bot_api import FakeBotAPI  # noqa: E402
from redis_server import RedisServer, free_port  # noqa: E402

from bot import texts  # noqa: E402

TOKEN = "918273:FLEET-bot-token-do-not-log-me"
SECRET = "fleet_e2e_Secret-7"
ADMIN = 1001
LIMIT = 12  # questions per user per minute (access.questions_per_minute)
QUESTIONS = [
    "ماذا قال كيم عن الإمبريالية؟",
    "الرئيس",
    "الحكومة",
    "الاقتصاد",
    "الانتخابات",
]
NEW_DOC = (
    "---\ntitle: مهرجان الزيتون في جرش\noutlet: صحيفة الغد\n---\n"
    "افتتح مهرجان الزيتون السنوي في مدينة جرش أمس بمشاركة مئات المزارعين من الشمال.\n"
)
NEW_QUESTION = "مهرجان الزيتون في جرش"
NEW_WORD = "الزيتون"


class CheckFailed(Exception):
    pass


def check(condition: bool, what: str) -> None:
    print(f"  {'ok  ' if condition else 'FAIL'} {what}", flush=True)
    if not condition:
        raise CheckFailed(what)


@dataclass
class Replica:
    name: str
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None


@dataclass
class Fleet:
    work: Path
    api: FakeBotAPI
    redis: RedisServer
    lb_port: int
    replicas: list[Replica] = field(default_factory=list)
    haproxy: subprocess.Popen[bytes] | None = None
    next_update: int = 100_000
    lock: threading.Lock = field(default_factory=threading.Lock)
    reposts: Counter[str] = field(default_factory=Counter)

    # --- Telegram's side ---------------------------------------------------------------

    def update_id(self) -> int:
        with self.lock:
            self.next_update += 1
            return self.next_update

    def post(self, update: dict, port: int | None = None, patience: float = 60) -> float:
        """POST until answered 200 (re-posting after failures); seconds it took."""
        body = json.dumps(update).encode()
        url = f"http://127.0.0.1:{port or self.lb_port}/hook"
        started = time.monotonic()
        while True:
            request = urllib.request.Request(
                url,
                data=body,
                headers={
                    "Content-Type": "application/json",
                    "X-Telegram-Bot-Api-Secret-Token": SECRET,
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    if response.status == 200:
                        return time.monotonic() - started
                    reason = str(response.status)
            except urllib.error.HTTPError as exc:
                reason = str(exc.code)
            except (OSError, urllib.error.URLError) as exc:
                reason = type(exc).__name__
            with self.lock:
                self.reposts[reason] += 1
            if time.monotonic() - started > patience:
                raise CheckFailed(f"update {update['update_id']} never answered 200 ({reason})")
            time.sleep(1.0)

    def ask_in_group(self, user: int, question: str) -> tuple[int, int]:
        """A fresh group per user; returns (update id, message id of the question)."""
        chat = -1_000_000 - user
        update = self.api.group_message(chat, user, f"/ask {question}")
        update_id = self.update_id()
        self.post({"update_id": update_id, **update})
        return update_id, update["message"]["message_id"]

    # --- reading replies -------------------------------------------------------------

    def replies_to(self) -> Counter[tuple[int, int]]:
        """(chat, quoted message id) → replies that quote it."""
        seen: Counter[tuple[int, int]] = Counter()
        for call in self.api.calls_of("sendMessage"):
            quoted = call.params.get("reply_parameters")
            if isinstance(quoted, str):
                quoted = json.loads(quoted)
            if isinstance(quoted, dict) and call.ok:
                seen[(int(call.params["chat_id"]), int(quoted["message_id"]))] += 1
        return seen

    def texts_to(self, chat: int, since: int = 0) -> list[str]:
        return [
            str(c.params.get("text", ""))
            for c in self.api.calls_of("sendMessage")
            if c.index >= since and int(c.params["chat_id"]) == chat
        ]

    def wait_for_replies(self, asked: list[tuple[int, int]], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = self.replies_to()
            if all(seen[q] >= 1 for q in asked):
                return
            time.sleep(0.2)

    # --- processes ---------------------------------------------------------------------

    def start_replica(self, replica: Replica, config: Path) -> None:
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "COVERAGE_BOT_REDIS_URL": self.redis.url,
            "PYTHONUNBUFFERED": "1",
        }
        replica.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bot.cli",
                "serve",
                "--config",
                str(config),
                "--webhook-url",
                "https://bot.example.org/hook",  # what Telegram is told; HAProxy stands in
                "--listen",
                "127.0.0.1",
                "--port",
                str(replica.port),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=replica.log.open("ab"),
        )

    def start_haproxy(self) -> None:
        servers = "\n".join(
            f"    server {r.name} 127.0.0.1:{r.port} check inter 500ms fall 2 rise 2"
            for r in self.replicas
        )
        config = self.work / "haproxy.cfg"
        config.write_text(
            f"""global
    maxconn 512
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 2
    option redispatch
    retry-on conn-failure empty-response
frontend telegram
    bind 127.0.0.1:{self.lb_port}
    default_backend replicas
backend replicas
    balance roundrobin
    option http-buffer-request
{servers}
"""
        )
        self.haproxy = subprocess.Popen(
            ["haproxy", "-db", "-f", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=(self.work / "haproxy.log").open("ab"),
        )

    def stop(self) -> None:
        for replica in self.replicas:
            if replica.process is not None and replica.process.poll() is None:
                replica.process.send_signal(signal.SIGTERM)
        for replica in self.replicas:
            if replica.process is not None:
                try:
                    replica.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    replica.process.kill()
        if self.haproxy is not None:
            self.haproxy.terminate()
            self.haproxy.wait(timeout=10)
        self.redis.stop()
        self.api.stop()


def wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise CheckFailed(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


def write_config(work: Path) -> Path:
    corpus = work / "corpus"
    shutil.copytree(ROOT / "seeds", corpus)
    config = {
        "corpus": {"path": str(corpus), "index_dir": str(work / "index"), "uploads": None},
        "access": {"admins": [ADMIN], "allow_everyone": True, "questions_per_minute": LIMIT},
        "telegram": {"api_url": None},
    }
    path = work / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


# --- the checks ------------------------------------------------------------------------


def many_users(fleet: Fleet, users: range, per_user: int) -> tuple[list[tuple[int, int]], float]:
    """Each user asks `per_user` questions in a row, all users at once."""
    asked: list[tuple[int, int]] = []

    def one_user(user: int) -> list[tuple[int, int]]:
        mine = []
        for n in range(per_user):
            _, message_id = fleet.ask_in_group(user, QUESTIONS[(user + n) % len(QUESTIONS)])
            mine.append((-1_000_000 - user, message_id))
        return mine

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(users)) as pool:
        for mine in pool.map(one_user, users):
            asked += mine
    fleet.wait_for_replies(asked)
    return asked, time.monotonic() - started


def exactly_once(fleet: Fleet, asked: list[tuple[int, int]], what: str) -> None:
    seen = fleet.replies_to()
    counts = Counter(seen[q] for q in asked)
    print(f"  replies per question: {dict(sorted(counts.items()))}")
    check(counts == Counter({1: len(asked)}), f"{what}: {len(asked)} questions answered once each")


def check_load(fleet: Fleet) -> None:
    print("30 users × 10 questions through the load balancer")
    asked, seconds = many_users(fleet, range(2000, 2030), 10)
    print(f"  {len(asked)} questions in {seconds:.1f} s ({len(asked) / seconds:.1f} per second)")
    exactly_once(fleet, asked, "load")
    served = {r.name: r.log.read_text().count("answered user") for r in fleet.replicas}
    print(f"  answered per replica: {served}")
    check(all(n > 0 for n in served.values()), "every replica took a share")


def check_buttons(fleet: Fleet) -> None:
    print("a button under replica A's answer, pressed on replica B and C")
    a, b, c = fleet.replicas
    since = fleet.api.mark()
    update = fleet.api.private_message(ADMIN, QUESTIONS[0])
    fleet.post({"update_id": fleet.update_id(), **update}, port=a.port)
    answer = fleet.api.wait_for("sendMessage", lambda p: p["chat_id"] == ADMIN, since=since)
    markup = answer.params["reply_markup"]
    markup = json.loads(markup) if isinstance(markup, str) else markup
    data = {b["text"]: b["callback_data"] for row in markup["inline_keyboard"] for b in row}
    message_id = answer.result["message_id"]
    press = fleet.api.callback_query(ADMIN, ADMIN, message_id, data["السياق 1"])
    since = fleet.api.mark()
    fleet.post({"update_id": fleet.update_id(), **press}, port=b.port)
    shown = fleet.texts_to(ADMIN, since)
    check(len(shown) == 1 and "الإمبريالية" in shown[0], "«السياق 1» on B shows A's sentence")
    more = data[texts.MORE_BUTTON]
    since = fleet.api.mark()
    fleet.post(
        {
            "update_id": fleet.update_id(),
            **fleet.api.callback_query(ADMIN, ADMIN, message_id, more),
        },
        port=c.port,
    )
    check(len(fleet.texts_to(ADMIN, since)) >= 1, "«المزيد» on C sends the next page")
    since = fleet.api.mark()
    fleet.post(
        {
            "update_id": fleet.update_id(),
            **fleet.api.callback_query(ADMIN, ADMIN, message_id, more),
        },
        port=b.port,
    )
    alerts = [c.params.get("text") for c in fleet.api.calls_of("answerCallbackQuery")]
    check(
        not fleet.texts_to(ADMIN, since) and alerts[-1] == texts.EXPIRED,
        "a second «المزيد», on B, says expired",
    )


def check_limit(fleet: Fleet) -> None:
    print(f"one user asks 20 questions in a row ({LIMIT} a minute allowed, fleet-wide)")
    user = 3000
    chat = -1_000_000 - user
    since = fleet.api.mark()
    for n in range(20):
        fleet.ask_in_group(user, QUESTIONS[n % len(QUESTIONS)])
    notices = sum(texts.RATE_LIMITED in t for t in fleet.texts_to(chat, since))
    answers = sum(n for (c, _), n in fleet.replies_to().items() if c == chat)  # notices too
    print(f"  answered {answers - notices}, limit notices {notices}, silent {20 - answers}")
    check(answers - notices == LIMIT, f"exactly {LIMIT} answered across three replicas")
    check(notices == 1, "one 'too many questions' notice for the fleet")


def check_reload(fleet: Fleet, corpus: Path) -> None:
    print("/reload on one replica adds a document; every replica answers it")
    (corpus / "olives.md").write_text(NEW_DOC, encoding="utf-8")
    since = fleet.api.mark()
    started = time.monotonic()
    fleet.post({"update_id": fleet.update_id(), **fleet.api.private_message(ADMIN, "/reload")})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(fleet.texts_to(ADMIN, since)) < 2:
        time.sleep(0.1)
    check(len(fleet.texts_to(ADMIN, since)) >= 2, "the reload reports")
    reported = time.monotonic()
    print(f"  reload reported after {reported - started:.1f} s")
    for replica in fleet.replicas:
        while True:
            since = fleet.api.mark()
            update = fleet.api.private_message(ADMIN, NEW_QUESTION)
            fleet.post({"update_id": fleet.update_id(), **update}, port=replica.port)
            if any(NEW_WORD in t for t in fleet.texts_to(ADMIN, since)):
                break
            if time.monotonic() - reported > 10:
                break
            time.sleep(0.2)
        after = time.monotonic() - reported
        print(f"  {replica.name} answers from the new document {after:.1f} s after the report")
        check(after <= 10, f"{replica.name} within 10 s")


def check_kill(fleet: Fleet) -> None:
    print("one replica killed (SIGKILL) under load: 20 users × 5 questions")
    victim = fleet.replicas[2]
    before = dict(fleet.reposts)

    def kill() -> None:
        time.sleep(1.0)
        assert victim.process is not None
        victim.process.kill()
        print(f"  killed {victim.name} (pid {victim.process.pid})", flush=True)

    killer = threading.Thread(target=kill)
    killer.start()
    asked, seconds = many_users(fleet, range(4000, 4020), 5)
    killer.join()
    reposted = {k: v - before.get(k, 0) for k, v in fleet.reposts.items() if v > before.get(k, 0)}
    print(f"  {len(asked)} questions in {seconds:.1f} s; posted again after: {reposted}")
    exactly_once(fleet, asked, "killed replica")


def check_redis_outage(fleet: Fleet) -> None:
    print("Redis stopped for 10 s, then restarted; a question every 0.25 s throughout")
    asked: list[tuple[int, int]] = []
    latencies: list[float] = []
    stopped = threading.Event()

    def outage() -> None:
        time.sleep(2)
        fleet.redis.stop()
        print("  redis stopped", flush=True)
        time.sleep(10)
        fleet.redis.start()
        print("  redis restarted", flush=True)
        time.sleep(3)
        stopped.set()

    thread = threading.Thread(target=outage)
    thread.start()
    user = 5000
    while not stopped.is_set():
        user += 1
        started = time.monotonic()
        _, message_id = fleet.ask_in_group(user, QUESTIONS[user % len(QUESTIONS)])
        fleet.wait_for_replies([(-1_000_000 - user, message_id)], timeout=10)
        latencies.append(time.monotonic() - started)
        asked.append((-1_000_000 - user, message_id))
        time.sleep(0.25)
    thread.join()
    print(
        f"  {len(asked)} questions; answer time p50 {statistics.median(latencies) * 1000:.0f} ms,"
        f" max {max(latencies) * 1000:.0f} ms"
    )
    exactly_once(fleet, asked, "Redis outage")
    warned = [r.log.read_text().count("unreachable (") for r in fleet.replicas[:2]]
    print(f"  outage warnings per replica: {warned}")
    check(all(n == 1 for n in warned), "one warning per replica for the outage")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    args = parser.parse_args()
    for binary in ("redis-server", "haproxy"):
        if shutil.which(binary) is None:
            print(f"fleet: {binary} is not installed (apt-get install {binary})", file=sys.stderr)
            return 2
    work = Path(tempfile.mkdtemp(prefix="coverage-fleet-"))
    started = time.monotonic()
    api = FakeBotAPI(token=TOKEN).start()
    redis = RedisServer(work / "redis").start()
    fleet = Fleet(work, api, redis, free_port())
    config = write_config(work)
    text = config.read_text().replace("api_url: null", f"api_url: {api.root}")
    config.write_text(text, encoding="utf-8")
    failed = False
    try:
        fleet.replicas = [
            Replica(f"replica{i}", free_port(), work / f"replica{i}.log") for i in (1, 2, 3)
        ]
        for replica in fleet.replicas:
            fleet.start_replica(replica, config)
        fleet.start_haproxy()
        for replica in fleet.replicas:
            wait_port(replica.port)
        wait_port(fleet.lb_port)
        time.sleep(1.5)  # HAProxy's health checks see every replica up
        print(f"fleet up in {time.monotonic() - started:.1f} s: {work}", flush=True)
        check_load(fleet)
        check_buttons(fleet)
        check_limit(fleet)
        check_reload(fleet, work / "corpus")
        check_kill(fleet)
        check_redis_outage(fleet)
    except CheckFailed as exc:
        print(f"fleet: FAILED: {exc} (logs in {work})", file=sys.stderr)
        failed = True
        args.keep = True
    finally:
        fleet.stop()
    outcome = "failed" if failed else "all checks passed"
    print(f"fleet: {outcome} in {time.monotonic() - started:.0f} s")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
