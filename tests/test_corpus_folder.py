"""Which corpus folder the bot reads is never a secret.

A container's environment once overrode the mounted config's `corpus.path`
without a word: an admin added files to the folder the config named, `/reload`
answered "no file changed", and nothing said which folder it had read. Now
`serve` logs the config file, the corpus folder and every environment override
at start-up, and the `/reload` report names the folder it read.
"""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

import pytest
from bot_runner import ADMIN, RunningBot, copy_seeds, write_config
from fake_bot_api import FakeBotAPI

from bot.cli import main as cli_main
from bot.settings import load_settings

WRONG_TOKEN = "918273:WRONG-token-so-serve-stops-after-start-up"
ENV_NAMES = (
    "COVERAGE_BOT_CORPUS",
    "COVERAGE_BOT_INDEX_DIR",
    "COVERAGE_BOT_HEARTBEAT",
    "TELEGRAM_API_URL",
)


@pytest.fixture(autouse=True)
def no_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


def test_settings_name_each_environment_variable_that_replaced_a_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    config = tmp_path / "config.yaml"
    config.write_text("corpus:\n  path: /corpus\n  index_dir: /data/index\n", encoding="utf-8")
    assert load_settings(config).overrides == ()
    monkeypatch.setenv("COVERAGE_BOT_CORPUS", "/app/seeds")
    monkeypatch.setenv("COVERAGE_BOT_HEARTBEAT", "/data/heartbeat")
    settings = load_settings(config)
    assert settings.corpus.path == Path("/app/seeds")
    assert settings.overrides == (
        "corpus.path from COVERAGE_BOT_CORPUS",
        "telegram.heartbeat_file from COVERAGE_BOT_HEARTBEAT",
    )


def _serve_start_up_log(config: Path, caplog: pytest.LogCaptureFixture) -> str:
    """serve's log up to the Bot API's refusal of a wrong token (it reads the corpus first)."""
    # python-telegram-bot closes the thread's event loop when serve ends; give it its own.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        with caplog.at_level(logging.INFO, logger="bot.cli"):
            assert cli_main(["serve", "--config", str(config)]) == 1
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    return caplog.text


def test_serve_logs_the_config_file_and_the_corpus_folder_it_reads(
    api: FakeBotAPI,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", WRONG_TOKEN)
    corpus = copy_seeds(tmp_path / "أخبار & تقارير")
    config = write_config(tmp_path, corpus, api)
    log = _serve_start_up_log(config, caplog)
    assert f"settings from {config}: corpus {corpus}, index {tmp_path / 'index'}\n" in log
    # One search is answered and thrown away before the first user's question.
    assert re.search(r"search warmed up in \d+\.\d\d s\n", log)


def test_serve_logs_an_environment_override_of_the_corpus_folder(
    api: FakeBotAPI,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", WRONG_TOKEN)
    named = tmp_path / "named-in-config"
    config = write_config(tmp_path, named, api)
    other = copy_seeds(tmp_path / "from-environment")
    monkeypatch.setenv("COVERAGE_BOT_CORPUS", str(other))
    log = _serve_start_up_log(config, caplog)
    assert (
        f"settings from {config}: corpus {other}, index {tmp_path / 'index'}; "
        "corpus.path from COVERAGE_BOT_CORPUS\n"
    ) in log


def test_the_reload_report_names_the_corpus_folder_it_read(api: FakeBotAPI, tmp_path: Path):
    corpus = copy_seeds(tmp_path / "news & <reports>")
    config = write_config(tmp_path, corpus, api)
    with RunningBot.from_config(api, config) as bot:
        since = bot.send(api.private_message(ADMIN, "/reload"))
        report = bot.reply(ADMIN, since, "اكتملت إعادة التحميل", timeout=30)
    escaped = str(corpus).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # As sent (HTML, the path escaped) and as shown (the path as written).
    assert f"مجلد المصادر المقروء: \u2068<code>{escaped}</code>\u2069\n" in report.params["text"]
    assert f"مجلد المصادر المقروء: \u2068{corpus}\u2069\n" in report.result["text"]
