"""`coverage-bot serve` and `health` from the outside: token handling, webhook mode, signals."""

from __future__ import annotations

import json
import signal
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from bot_runner import MEMBER, TOKEN, RunningBot, copy_seeds, free_port, serve_process, write_config
from fake_bot_api import FakeBotAPI

from bot.app import Webhook
from bot.cli import main as cli_main
from bot.settings import load_settings

QUESTION = "ماذا قال كيم عن الإمبريالية؟"


@pytest.fixture
def config(api: FakeBotAPI, tmp_path: Path) -> Path:
    return write_config(tmp_path, copy_seeds(tmp_path / "corpus"), api)


def test_serve_without_a_token_is_a_one_line_error(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert cli_main(["serve", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "TELEGRAM_BOT_TOKEN is not set" in err


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--port", "8443"], "need --webhook-url"),
        (["--webhook-url", "ftp://bot.example.org/hook"], "must be an http(s) URL"),
        (
            ["--webhook-url", "https://bot.example.org/hook", "--secret-token", "s3cret"],
            "--secret-token is not accepted (other local users can read the command line); "
            "set TELEGRAM_WEBHOOK_SECRET instead",
        ),
    ],
)
def test_serve_rejects_inconsistent_webhook_options(
    config: Path,
    arguments: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    assert cli_main(["serve", "--config", str(config), *arguments]) == 2
    assert message in capsys.readouterr().err


def test_a_rejected_token_is_reported_without_showing_it(
    config: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
):
    wrong = "918273:WRONG-token-never-printed"
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", wrong)
    assert cli_main(["serve", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "rejected TELEGRAM_BOT_TOKEN" in err and "127.0.0.1" in err
    assert wrong not in err and wrong not in caplog.text


def test_serve_answers_questions_and_stops_cleanly_on_sigterm(api: FakeBotAPI, config: Path):
    process = serve_process(config)
    try:
        api.wait_for("deleteWebhook", timeout=30)
        since = api.mark()
        api.push_update(api.private_message(MEMBER, QUESTION))
        reply = api.wait_for("sendMessage", lambda p: p["chat_id"] == MEMBER, since=since)
        assert "الإمبريالية" in reply.result["text"]
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "serving @coverage_test_bot: 5 documents, 98 sentences" in err
    assert "Application.stop() complete" in err or "Application is stopping" in err
    assert TOKEN not in err


def _post_update(url: str, update: dict, secret: str | None) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(update).encode(),
        headers={"Content-Type": "application/json"}
        | ({"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}),
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_webhook_mode_registers_the_url_and_answers_updates_posted_with_the_secret(
    api: FakeBotAPI, config: Path
):
    port = free_port()
    webhook = Webhook("https://bot.example.org/telegram/hook", "127.0.0.1", port, "s3cret_Token-1")
    with RunningBot(api, load_settings(config), webhook=webhook):
        registered = api.calls_of("setWebhook")[-1].params
        assert registered["url"] == webhook.url
        assert registered["secret_token"] == "s3cret_Token-1"
        local = f"http://127.0.0.1:{port}/telegram/hook"
        update = {"update_id": 9001, **api.private_message(MEMBER, QUESTION)}
        assert _post_update(local, update, "wrong-secret") == 403
        since = api.mark()
        assert _post_update(local, {**update, "update_id": 9002}, "s3cret_Token-1") == 200
        reply = api.wait_for("sendMessage", lambda p: p["chat_id"] == MEMBER, since=since)
        assert "الإمبريالية" in reply.result["text"]
    answered = [c for c in api.calls_of("sendMessage") if c.params["chat_id"] == MEMBER]
    assert len(answered) == 1, "the update with the wrong secret was not handled"
