"""A broken corpus or index cache during a reload, and a process stopped mid-reload.

The bot keeps answering from the index it has and tells the admin what went wrong;
the index cache only ever holds complete versions (each written to a temporary
folder, then renamed), whatever happens to the process while it writes.
"""

from __future__ import annotations

import json
import resource
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from bot_runner import ADMIN, MEMBER, TOKEN, RunningBot, StartBot, serve_process, write_config
from fake_bot_api import FakeBotAPI

from bot import texts
from retrieval.engine import Engine

QUESTION = "ماذا قال كيم عن الإمبريالية؟"
NEW_DOCUMENT = "افتتح المزارعون مهرجان الزيتون السنوي في مدينة جرش بمشاركة واسعة.\n"
ROOT = Path(__file__).resolve().parent.parent
WORDS = (
    "قال الرئيس إن المحادثات بين الوفدين تناولت التعاون الاقتصادي والعسكري والثقافي "
    "في المنطقة خلال الأسابيع المقبلة"
).split()


def generate_corpus(folder: Path, files: int, sentences: int = 40) -> Path:
    """A corpus large enough for a rebuild to take a second or two (16,000 sentences)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        lines = [
            " ".join(WORDS[(i * 7 + j * 3 + k) % len(WORDS)] for k in range(14)) + f" رقم {i}{j}."
            for j in range(sentences)
        ]
        (folder / f"gen_{i:04d}.txt").write_text("\n".join(lines), encoding="utf-8")
    return folder


def cache_entries(cache: Path) -> dict[str, bool]:
    """Each entry of the cache folder -> whether it is a complete version (has a manifest)."""
    return (
        {e.name: (e / "manifest.json").is_file() for e in cache.iterdir()} if cache.exists() else {}
    )


def reload_reply(bot: RunningBot, contains: str) -> str:
    since = bot.send(bot.api.private_message(ADMIN, "/reload"))
    return bot.reply(ADMIN, since, contains, timeout=30).result["text"]


def test_a_corpus_folder_deleted_during_a_reload(start_bot: StartBot, corpus: Path):
    bot = start_bot()
    (corpus / "005_olive_festival.txt").write_text(NEW_DOCUMENT, encoding="utf-8")
    gate = bot.hold_reloads()
    since = bot.send(bot.api.private_message(ADMIN, "/reload"))
    try:
        assert gate.reached.wait(timeout=10)
        shutil.rmtree(corpus)  # the files were read; the index is being built
        assert "الإمبريالية" in bot.ask(MEMBER, QUESTION).result["text"]
    finally:
        gate.release()
    summary = bot.reply(ADMIN, since, "اكتملت إعادة التحميل", timeout=30).result["text"]
    assert "005_olive_festival.txt" in summary, "built from what was read before the deletion"
    failure = reload_reply(bot, "فشلت إعادة التحميل")
    assert "does not exist" in failure and "ما زال الفهرس السابق في الخدمة (6 وثيقة" in failure
    assert "الإمبريالية" in bot.ask(MEMBER, QUESTION).result["text"]


def test_an_index_cache_that_cannot_be_written_is_reported_and_the_bot_serves(
    start_bot: StartBot, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # Root writes through permissions, so "cannot write" is a file where a folder must be.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be", encoding="utf-8")
    monkeypatch.setenv("COVERAGE_BOT_INDEX_DIR", str(blocker / "index"))
    bot = start_bot()
    assert "الإمبريالية" in bot.ask(MEMBER, QUESTION).result["text"]
    (corpus / "005_olive_festival.txt").write_text(NEW_DOCUMENT, encoding="utf-8")
    summary = reload_reply(bot, "اكتملت إعادة التحميل")
    assert texts.RELOAD_NOT_CACHED in summary
    assert "not cached" in summary and "Not a directory" in summary
    assert "مهرجان الزيتون" in bot.ask(MEMBER, "مهرجان الزيتون في جرش").result["text"]


def test_a_corrupt_index_cache_is_rebuilt_on_reload(start_bot: StartBot, tmp_path: Path):
    bot = start_bot()
    (version,) = (tmp_path / "index").iterdir()
    (version / "post_docs.npy").write_bytes(b"\x00garbage")
    summary = reload_reply(bot, "اكتملت إعادة التحميل")
    assert "لم يتغير أي ملف" in summary
    assert not bot.engine.snapshot.from_cache, "the corrupt version was not trusted"
    assert "الإمبريالية" in bot.ask(MEMBER, QUESTION).result["text"]
    assert cache_entries(tmp_path / "index") == {version.name: True}, "rewritten whole"


def _limit_file_size() -> None:
    """A full disk, as far as this process can tell: writes past 64 KB fail (EFBIG)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))


def test_a_full_disk_while_caching_leaves_no_partial_index(tmp_path: Path):
    corpus = generate_corpus(tmp_path / "corpus", files=40)
    cache = tmp_path / "cache"
    script = textwrap.dedent(
        f"""
        from retrieval.engine import Engine
        snapshot = Engine({str(corpus)!r}, {str(cache)!r}).open()
        print(snapshot.index.n_sentences, snapshot.cache_error)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limit_file_size,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("1600 index not cached in"), done.stdout
    assert "written" in done.stdout or "File too large" in done.stdout
    assert cache_entries(cache) == {}, "the half-written version was removed"


def test_killed_while_saving_the_index_leaves_only_complete_versions(tmp_path: Path):
    corpus = generate_corpus(tmp_path / "corpus", files=400)
    cache = tmp_path / "cache"
    config = tmp_path / "config.yaml"
    config.write_text(f"corpus:\n  path: {corpus}\n  index_dir: {cache}\n", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "index", "--config", str(config)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not any(name.startswith(".") for name in cache_entries(cache)):
            assert process.poll() is None, "finished before it was caught writing"
            assert time.monotonic() < deadline
            time.sleep(0.001)
        process.send_signal(signal.SIGKILL)  # no handler, no cleanup: the worst case
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    leftovers = cache_entries(cache)
    assert leftovers and all(name.startswith(".") for name in leftovers), leftovers
    assert not any(leftovers.values()), "no version that looks complete"
    snapshot = Engine(corpus, cache).open()
    assert not snapshot.from_cache, "the half-written folder is never read"
    assert list(cache_entries(cache).values()) == [True], "and the next save clears it away"


def test_sigterm_during_a_reload_exits_cleanly_without_a_partial_index(
    api: FakeBotAPI, corpus: Path, tmp_path: Path
):
    config = write_config(tmp_path, corpus, api)
    process = serve_process(config)
    try:
        api.wait_for("deleteWebhook", timeout=30)
        generate_corpus(corpus / "generated", files=400)  # a rebuild of a second or more
        since = api.mark()
        api.push_update(api.private_message(ADMIN, "/reload"))
        api.wait_for("sendMessage", lambda p: "بدأت" in p["text"], since=since, timeout=10)
        time.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "Traceback" not in err and TOKEN not in err
    # The stop waits for the running reload (its worker thread cannot be interrupted),
    # which finishes and saves its index whole before the process exits.
    stopping = err.index("Application is stopping")
    assert err.index("reload by user") > stopping, "SIGTERM arrived while the reload ran"
    entries = cache_entries(tmp_path / "index")
    assert list(entries.values()) == [True], f"one complete version: {entries}"
    (version,) = entries
    saved = json.loads((tmp_path / "index" / version / "documents.json").read_text())
    assert len(saved["sources"]) == 405, "the reloaded corpus, not the one before"
