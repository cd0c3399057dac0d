"""Config validation: one clear error naming the file and the key."""

from pathlib import Path

import pytest

from bot.settings import DEFAULT_CONFIG, ConfigError, load_settings


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def test_the_bundled_config_points_at_the_seeds() -> None:
    settings = load_settings(DEFAULT_CONFIG)
    assert settings.corpus.path == DEFAULT_CONFIG.parent.parent / "seeds"
    assert settings.retrieval.top_k == 5
    assert settings.access.allow_everyone is False


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "corpus:\n  path: docs\n  index_dir: cache\n"))
    assert settings.corpus.path == tmp_path / "docs"
    assert settings.corpus.index_dir == tmp_path / "cache"


def test_environment_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COVERAGE_BOT_CORPUS", "/data/corpus")
    monkeypatch.setenv("COVERAGE_BOT_INDEX_DIR", "/data/index")
    monkeypatch.setenv("TELEGRAM_API_URL", "http://127.0.0.1:8081/")
    settings = load_settings(write(tmp_path, "corpus:\n  path: docs\n"))
    assert settings.corpus.path == Path("/data/corpus")
    assert settings.corpus.index_dir == Path("/data/index")
    assert settings.telegram.api_url == "http://127.0.0.1:8081"


def test_an_unknown_compiled_search_setting_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COVERAGE_BOT_COMPILED", "yes")
    with pytest.raises(ConfigError, match=r"COVERAGE_BOT_COMPILED='yes': use 1 .*, 0 .*unset"):
        load_settings(write(tmp_path, "corpus:\n  path: docs\n"))
    monkeypatch.setenv("COVERAGE_BOT_COMPILED", "0")
    settings = load_settings(write(tmp_path, "corpus:\n  path: docs\n"))
    assert settings.corpus.path == tmp_path / "docs"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("corpus:\n  path: s\n  colour: red\n", "unknown key 'corpus.colour'"),
        ("corpus:\n  path: s\nsearch: {}\n", "unknown section 'search'"),
        ("corpus:\n  path: 5\n", "key 'corpus.path' must be a folder path"),
        ("corpus:\n  path: s\nretrieval:\n  top_k: 0\n", "key 'retrieval.top_k' must be a whole"),
        ("corpus:\n  path: s\nretrieval:\n  top_k: true\n", "key 'retrieval.top_k'"),
        ("corpus:\n  path: s\nretrieval:\n  min_coverage: 2\n", "'retrieval.min_coverage'"),
        ("corpus:\n  path: s\naccess:\n  admins: 42\n", "key 'access.admins' must be a list"),
        ("corpus:\n  path: s\naccess:\n  admins: ['x']\n", "key 'access.admins' must be a list"),
        ("corpus:\n  path: s\naccess:\n  allow_everyone: 'yes'\n", "'access.allow_everyone'"),
        ("corpus:\n  path: s\ntelegram:\n  api_url: ftp://x\n", "'telegram.api_url' must be an"),
        ("corpus:\n  path: s\naccess: [1]\n", "key 'access' must be a mapping"),
        ("retrieval:\n  top_k: 3\n", "key 'corpus.path' is required"),
        ("corpus: [\n", "not valid YAML"),
        ("- 1\n", "expected a mapping of sections"),
    ],
)
def test_bad_values_are_one_clear_error(tmp_path: Path, body: str, message: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    assert str(error.value).startswith(f"{path}:")
    assert message in str(error.value)


def test_a_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "none.yaml")
