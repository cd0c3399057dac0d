"""Load test: the real bot (`coverage-bot serve`, a subprocess) against the fake Bot API.

50 simulated users each ask 20 questions drawn from tests/data/seeds_qa.jsonl, one at
a time and as fast as the bot answers; once half the answers are in, an admin sends
/reload after adding generated documents, so the reload rebuilds a bigger index while
questions keep coming. Prints questions sent, answers received, lost, duplicated,
latency percentiles (update delivered by getUpdates -> its answer's sendMessage
received by the fake) and peak memory of the bot process, overall and during the reload.

    uv run python -m benchmarks.load [--users 50] [--questions 20] [--extra-files 300]

Exits 1 when an answer is lost or duplicated. Linux only (memory is read from /proc).
Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from fake_bot_api import FakeBotAPI, parse_html  # noqa: E402

TOKEN = "918273:LOAD-test-token-not-real"
ADMIN = 1001
FIRST_USER = 5001
CONTINUED = "(تابع)"
RELOAD_STARTED = "بدأت إعادة تحميل"
RELOAD_DONE = "اكتملت إعادة التحميل"
WORDS = (
    "قال الرئيس إن المحادثات بين الوفدين تناولت التعاون الاقتصادي والعسكري والثقافي "
    "في المنطقة خلال الأسابيع المقبلة"
).split()


@dataclass
class User:
    user_id: int
    questions: list[str]
    asked: int = 0
    waiting_for: int | None = None  # update_id of the question in flight
    answers: int = 0


@dataclass
class Run:
    sent: int = 0
    received: int = 0
    duplicated: int = 0
    latencies: list[float] = field(default_factory=list)
    reload_latencies: list[float] = field(default_factory=list)
    new_index_during_reload: int = 0
    reload_started: float | None = None
    reload_done: float | None = None


class Memory:
    """Samples the bot process's resident memory (/proc) every 50 ms."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _read(self, key: str) -> int:
        with open(f"/proc/{self.pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
        return 0

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            try:
                self.samples.append((time.time(), self._read("VmRSS")))
            except OSError:
                return

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> int:
        """Stop sampling; returns the kernel's high-water mark of resident memory."""
        peak = self._read("VmHWM")
        self._stop.set()
        self._thread.join()
        return peak

    def peak_between(self, start: float, end: float) -> int:
        return max((rss for t, rss in self.samples if start <= t <= end), default=0)


def generate(folder: Path, files: int) -> None:
    """Documents that make the reload rebuild a bigger index (40 sentences each)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        lines = [
            " ".join(WORDS[(i * 7 + j * 3 + k) % len(WORDS)] for k in range(14)) + f" رقم {i}{j}."
            for j in range(40)
        ]
        (folder / f"gen_{i:04d}.txt").write_text("\n".join(lines), encoding="utf-8")


def percentiles(values: list[float]) -> str:
    if len(values) < 2:
        return "n/a"
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    p50, p95, p99 = (cuts[i] * 1000 for i in (49, 94, 98))
    return f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms"


def mib(value: int) -> str:
    return f"{value / 1024 / 1024:.0f} MiB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--questions", type=int, default=20, help="per user")
    parser.add_argument("--extra-files", type=int, default=300, help="added before /reload")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=600, help="seconds for the whole run")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    pool = [
        json.loads(line)["question"]
        for line in (ROOT / "tests" / "data" / "seeds_qa.jsonl").read_text("utf-8").splitlines()
        if line.strip()
    ]
    rng = random.Random(args.seed)
    users = {
        FIRST_USER + n: User(FIRST_USER + n, [rng.choice(pool) for _ in range(args.questions)])
        for n in range(args.users)
    }
    total = args.users * args.questions
    work = Path(tempfile.mkdtemp(prefix="coverage-bot-load-"))
    corpus = work / "corpus"
    shutil.copytree(ROOT / "seeds", corpus)
    delivered: dict[int, float] = {}
    run = Run()

    with FakeBotAPI(token=TOKEN) as api:

        def get_updates(params: dict[str, Any]) -> list[dict[str, Any]]:
            updates = api._get_updates(params)  # the fake's own long polling
            now = time.time()
            for update in updates:
                delivered.setdefault(update["update_id"], now)
            return updates

        api.register_method("getUpdates", get_updates)
        config = {
            "corpus": {"path": str(corpus), "index_dir": str(work / "index")},
            "access": {"admins": [ADMIN], "allowed_users": sorted(users)},
            "telegram": {"api_url": api.root},
        }
        (work / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN}
        log = (work / "bot.log").open("w", encoding="utf-8")
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--config", str(work / "config.yaml")],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        memory = Memory(bot.pid)
        memory.start()
        try:
            api.wait_for("deleteWebhook", timeout=60)
            started = time.time()

            def ask(user: User) -> None:
                question = user.questions[user.asked]
                user.asked += 1
                user.waiting_for = api.push_update(api.private_message(user.user_id, question))
                run.sent += 1

            for user in users.values():
                ask(user)
            cursor = 0
            reload_asked = False
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline:
                calls = api.calls
                for call in calls[cursor:]:
                    if call.method != "sendMessage" or not call.ok:
                        continue
                    chat = call.params["chat_id"]
                    text = parse_html(call.params["text"])[0].lstrip("\u200f")
                    if chat == ADMIN:
                        if RELOAD_STARTED in text:
                            run.reload_started = call.time
                        elif RELOAD_DONE in text:
                            run.reload_done = call.time
                        continue
                    user = users.get(chat)
                    if user is None or text.startswith(CONTINUED):
                        continue
                    if user.waiting_for is None:
                        run.duplicated += 1
                        continue
                    latency = call.time - delivered[user.waiting_for]
                    run.latencies.append(latency)
                    if run.reload_started and not run.reload_done:
                        run.reload_latencies.append(latency)
                        run.new_index_during_reload += "gen_" in text
                    run.received += 1
                    user.answers += 1
                    user.waiting_for = None
                    if user.asked < len(user.questions):
                        ask(user)
                cursor = len(calls)
                if not reload_asked and run.received >= total // 2:
                    generate(corpus / "generated", args.extra_files)
                    api.push_update(api.private_message(ADMIN, "/reload"))
                    reload_asked = True
                if run.received >= total and run.reload_done:
                    break
                time.sleep(0.01)
            time.sleep(1.0)  # late duplicates would arrive now
            for call in api.calls[cursor:]:
                if call.method == "sendMessage" and call.ok and call.params["chat_id"] in users:
                    text = parse_html(call.params["text"])[0].lstrip("\u200f")
                    run.duplicated += not text.startswith(CONTINUED)
            elapsed = time.time() - started
        finally:
            peak = memory.stop()
            bot.terminate()
            bot.wait(timeout=60)
            log.close()
    lost = total - run.received
    reload_peak = (
        memory.peak_between(run.reload_started, run.reload_done)
        if run.reload_started and run.reload_done
        else 0
    )
    reload_seconds = (
        run.reload_done - run.reload_started if run.reload_started and run.reload_done else None
    )
    figures = {
        "users": args.users,
        "questions_per_user": args.questions,
        "questions_sent": run.sent,
        "answers_received": run.received,
        "lost": lost,
        "duplicated": run.duplicated,
        "seconds": round(elapsed, 1),
        "answers_per_second": round(run.received / elapsed, 1),
        "latency": percentiles(run.latencies),
        "peak_rss": mib(peak),
        "reload_seconds": round(reload_seconds, 2) if reload_seconds else None,
        "answered_during_reload": len(run.reload_latencies),
        "latency_during_reload": percentiles(run.reload_latencies),
        "peak_rss_during_reload": mib(reload_peak),
        "answers_during_reload_citing_new_documents": run.new_index_during_reload,
        "bot_exit_status": bot.returncode,
    }
    width = max(map(len, figures))
    for name, value in figures.items():
        print(f"{name.replace('_', ' '):<{width}}  {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False), encoding="utf-8")
    if TOKEN in (work / "bot.log").read_text(encoding="utf-8"):
        print("the token appeared in the bot's log", file=sys.stderr)
        return 1
    shutil.rmtree(work, ignore_errors=True)
    ok = lost == 0 and run.duplicated == 0 and run.reload_done is not None
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
