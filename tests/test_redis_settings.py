"""`state.redis_url`: from the file or COVERAGE_BOT_REDIS_URL, checked, never echoed."""

from __future__ import annotations

from pathlib import Path

import pytest
from bot_runner import serve_process, write_config
from fake_bot_api import FakeBotAPI

from bot.settings import ENV_REDIS_URL, ConfigError, load_settings


def _config(tmp_path: Path, corpus: Path, api: FakeBotAPI, url: str | None) -> Path:
    return write_config(tmp_path, corpus, api, state={"redis_url": url})


def test_unset_keeps_the_state_in_the_process(
    tmp_path: Path, corpus: Path, api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_REDIS_URL, raising=False)
    settings = load_settings(_config(tmp_path, corpus, api, None))
    assert settings.state.redis_url is None
    assert settings.overrides == ()


def test_the_environment_wins_over_the_file_and_says_so(
    tmp_path: Path, corpus: Path, api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_REDIS_URL, "redis://:pw@redis.internal:6380/2")
    settings = load_settings(_config(tmp_path, corpus, api, "redis://127.0.0.1:6379/0"))
    assert settings.state.redis_url == "redis://:pw@redis.internal:6380/2"
    assert settings.overrides == ("state.redis_url from COVERAGE_BOT_REDIS_URL",)
    assert "pw" not in repr(settings.state)


@pytest.mark.parametrize(
    "url", ["http://:hunter2@redis.internal:6379", "redis://", "127.0.0.1:6379"]
)
def test_a_bad_url_is_named_without_its_password(
    tmp_path: Path, corpus: Path, api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.delenv(ENV_REDIS_URL, raising=False)
    config = _config(tmp_path, corpus, api, url)
    with pytest.raises(ConfigError) as refused:
        load_settings(config)
    message = str(refused.value)
    assert message.startswith(f"{config}: key 'state.redis_url' must be a Redis URL")
    assert "hunter2" not in message


def test_a_fleet_replica_needs_the_shared_webhook_secret(
    tmp_path: Path, corpus: Path, api: FakeBotAPI
) -> None:
    config = _config(tmp_path, corpus, api, "redis://127.0.0.1:1/0")
    process = serve_process(
        config,
        *("--webhook-url", "https://bot.example.org/hook", "--port", "18443"),
        env={"TELEGRAM_WEBHOOK_SECRET": ""},
    )
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "a fleet (state.redis_url) needs TELEGRAM_WEBHOOK_SECRET set" in stderr
    assert not api.calls_of("setWebhook"), "nothing registered"
