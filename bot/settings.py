"""Settings: the YAML config read once at start-up into frozen records, validated there.

Every error names the file, the key and what was expected, in one line, so an
operator can fix a config without reading code. Relative paths resolve against
the config file's folder (so a config and its corpus can move together);
environment variables override a few keys for containers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from retrieval.index import COMPILED_ENV
from retrieval.ingest.models import DEFAULT_EVERY, MIN_EVERY, Feed

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "config.yaml"

ENV_CONFIG = "COVERAGE_BOT_CONFIG"
ENV_CORPUS = "COVERAGE_BOT_CORPUS"
ENV_INDEX_DIR = "COVERAGE_BOT_INDEX_DIR"
ENV_API_URL = "TELEGRAM_API_URL"
ENV_HEARTBEAT = "COVERAGE_BOT_HEARTBEAT"
ENV_UPLOADS = "COVERAGE_BOT_UPLOADS"
ENV_DB = "COVERAGE_BOT_DB"
DB_NAME = "coverage-bot.sqlite3"
ENV_REDIS_URL = "COVERAGE_BOT_REDIS_URL"
DEFAULT_API_URL = "https://api.telegram.org"


class ConfigError(Exception):
    """The config file is missing, unreadable or invalid; the message says where and why."""


@dataclass(frozen=True, slots=True)
class CorpusSettings:
    path: Path
    index_dir: Path | None
    # Documents admins add from Telegram (writable; part of the corpus for every command).
    # Default: `uploads` beside the index folder; None (no index folder, or `null`): off.
    uploads: Path | None = None


@dataclass(frozen=True, slots=True)
class RetrievalSettings:
    top_k: int = 5
    min_coverage: float = 0.3


@dataclass(frozen=True, slots=True)
class AccessSettings:
    admins: frozenset[int] = frozenset()
    allowed_users: frozenset[int] = frozenset()
    allowed_chats: frozenset[int] = frozenset()
    allow_everyone: bool = False
    questions_per_minute: int = 20  # per user; admins are not limited


@dataclass(frozen=True, slots=True)
class TelegramSettings:
    api_url: str = DEFAULT_API_URL
    heartbeat_file: Path | None = None
    heartbeat_max_age: float = 120.0


@dataclass(frozen=True, slots=True)
class IngestSettings:
    max_bytes: int = 20 * 1024 * 1024  # largest upload or page accepted
    # Let /add fetch loopback, private and link-local addresses (README: why not by default).
    allow_private_addresses: bool = False
    fetch_timeout: float = 20.0  # seconds for a whole /add download


@dataclass(frozen=True, slots=True)
class StorageSettings:
    """The question log (bot/storage/): where it lives and what it keeps."""

    # Default: coverage-bot.sqlite3 beside the index folder (in Docker: /data), else
    # beside the config file. load_settings always fills it in.
    path: Path | None = None
    keep_days: int = 90  # questions (and their votes) older than this are deleted daily
    # Store user ids, and the chat id of private chats (the user's id). Off: privacy.
    log_user_ids: bool = False


@dataclass(frozen=True, slots=True)
class StateSettings:
    # Redis shared by replicas behind a load balancer (bot/fleet.py); None: this process
    # keeps limits, buttons and the reload guard in memory (one replica).
    redis_url: str | None = field(default=None, repr=False)  # may hold a password


@dataclass(frozen=True, slots=True)
class Settings:
    source: Path  # the config file these came from
    corpus: CorpusSettings
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    access: AccessSettings = field(default_factory=AccessSettings)
    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    # "key from ENV_VAR" for each environment variable that replaced the file's value,
    # so `serve` can say so (a container's environment must never override silently).
    overrides: tuple[str, ...] = ()
    ingest: IngestSettings = field(default_factory=IngestSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    state: StateSettings = field(default_factory=StateSettings)
    # RSS/Atom feeds polled into the uploads folder (retrieval/ingest/feeds.py).
    feeds: tuple[Feed, ...] = ()


_FEED_KEYS = ("url", "outlet", "every")
MAX_EVERY = 7 * 86400

# key -> (kind, required); kinds are checked by _check below.
_SCHEMA: dict[str, dict[str, str]] = {
    "corpus": {"path": "path", "index_dir": "path?", "uploads": "path?"},
    "retrieval": {"top_k": "int:1..50", "min_coverage": "float:0..1"},
    "access": {
        "admins": "ids",
        "allowed_users": "ids",
        "allowed_chats": "ids",
        "allow_everyone": "bool",
        "questions_per_minute": "int:1..600",
    },
    "telegram": {
        "api_url": "url",
        "heartbeat_file": "path?",
        "heartbeat_max_age": "float:1..86400",
    },
    "ingest": {
        "max_bytes": "int:1024..1073741824",
        "allow_private_addresses": "bool",
        "fetch_timeout": "float:1..600",
    },
    "storage": {"path": "path?", "keep_days": "int:1..3650", "log_user_ids": "bool"},
    "state": {"redis_url": "redis?"},
}
_EXPECTED = {
    "path": "a folder path (text)",
    "path?": "a folder path (text) or null",
    "ids": "a list of Telegram ids (whole numbers)",
    "bool": "true or false",
    "url": "an http(s) URL such as https://api.telegram.org",
    "redis?": "a Redis URL such as redis://redis:6379/0 (redis://, rediss:// or unix://) or null",
}


def config_path(cli_value: str | None = None) -> Path:
    """The config file to read: --config, else $COVERAGE_BOT_CONFIG, else the bundled one."""
    return Path(cli_value or os.environ.get(ENV_CONFIG) or DEFAULT_CONFIG)


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read and validate the config file; raises ConfigError naming file and key."""
    file = config_path(str(path) if path is not None else None)
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{file}: config file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read config file: {exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or exc
        raise ConfigError(f"{file}:{where} not valid YAML: {problem}") from exc
    if raw is None:
        raw = {}
    compiled = os.environ.get(COMPILED_ENV, "").strip()
    if compiled not in ("", "0", "1"):
        raise ConfigError(
            f"{COMPILED_ENV}={compiled!r}: use 1 (compiled search at any size), "
            "0 (numpy at any size), or leave it unset"
        )
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: expected a mapping of sections ({', '.join(_SCHEMA)})")
    feeds = _feeds(file, raw.pop("feeds", None))
    values = _validate(file, raw)
    base = file.resolve().parent
    corpus = values.get("corpus", {})
    if "path" not in corpus:
        raise ConfigError(f"{file}: key 'corpus.path' is required (the folder of documents)")
    env_corpus = os.environ.get(ENV_CORPUS)
    env_index = os.environ.get(ENV_INDEX_DIR)
    index_dir = env_index if env_index else corpus.get("index_dir")
    index_path = _resolve(base, index_dir) if index_dir else None
    telegram = values.get("telegram", {})
    heartbeat = os.environ.get(ENV_HEARTBEAT) or telegram.get("heartbeat_file")
    overrides = tuple(
        f"{key} from {env}"
        for key, env in (
            ("corpus.path", ENV_CORPUS),
            ("corpus.index_dir", ENV_INDEX_DIR),
            ("corpus.uploads", ENV_UPLOADS),
            ("telegram.heartbeat_file", ENV_HEARTBEAT),
            ("telegram.api_url", ENV_API_URL),
            ("storage.path", ENV_DB),
            ("state.redis_url", ENV_REDIS_URL),
        )
        if os.environ.get(env)
    )
    access = values.get("access", {})
    uploads = _uploads(base, corpus, index_path)
    if feeds and uploads is None:
        raise ConfigError(
            f"{file}: key 'feeds' needs an uploads folder to store items in "
            "(set corpus.uploads, or corpus.index_dir for the default)"
        )
    return Settings(
        source=file,
        corpus=CorpusSettings(
            path=_resolve(base, env_corpus or corpus["path"]),
            index_dir=index_path,
            uploads=uploads,
        ),
        ingest=IngestSettings(**values.get("ingest", {})),
        retrieval=RetrievalSettings(**values.get("retrieval", {})),
        access=AccessSettings(**{k: _ids_or(v) for k, v in access.items()}),
        telegram=TelegramSettings(
            **{k: v for k, v in telegram.items() if k not in ("heartbeat_file", "api_url")},
            api_url=(
                os.environ.get(ENV_API_URL) or telegram.get("api_url") or DEFAULT_API_URL
            ).rstrip("/"),
            heartbeat_file=_resolve(base, heartbeat) if heartbeat else None,
        ),
        overrides=overrides,
        storage=_storage(base, file, values.get("storage", {}), index_path),
        state=StateSettings(
            redis_url=_redis_url(file, os.environ.get(ENV_REDIS_URL))
            or values.get("state", {}).get("redis_url")
        ),
        feeds=feeds,
    )


def _redis_url(file: Path, value: str | None) -> str | None:
    """$COVERAGE_BOT_REDIS_URL, checked like the file's key (named as the variable)."""
    if not value:
        return None
    return _check(file, f"state.redis_url (from {ENV_REDIS_URL})", "redis?", value)


def _feeds(file: Path, value: Any) -> tuple[Feed, ...]:
    """The `feeds:` list: each entry {url, outlet (optional), every (seconds, optional)}."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError(f"{file}: key 'feeds' must be a list of {{url, outlet, every}}")
    feeds = []
    for n, entry in enumerate(value, 1):
        where = f"feeds[{n}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{file}: key '{where}' must be a mapping with url, outlet, every")
        unknown = sorted(set(entry) - set(_FEED_KEYS))
        if unknown:
            raise ConfigError(
                f"{file}: unknown key '{where}.{unknown[0]}' (known: {', '.join(_FEED_KEYS)})"
            )
        url = _check(file, f"{where}.url", "url", entry.get("url"))
        outlet = entry.get("outlet")
        if outlet is not None and (not isinstance(outlet, str) or not outlet.strip()):
            raise ConfigError(f"{file}: key '{where}.outlet' must be text, got {outlet!r}")
        every = entry.get("every", DEFAULT_EVERY)
        every = _check(file, f"{where}.every", f"float:{MIN_EVERY:g}..{MAX_EVERY}", every)
        feeds.append(Feed(url, outlet.strip() if outlet else None, every))
    urls = [feed.url for feed in feeds]
    twice = next((url for url in urls if urls.count(url) > 1), None)
    if twice is not None:
        raise ConfigError(f"{file}: key 'feeds' lists {twice} twice")
    return tuple(feeds)


def _uploads(base: Path, corpus: dict[str, Any], index_dir: Path | None) -> Path | None:
    """$COVERAGE_BOT_UPLOADS, else corpus.uploads (null: off), else `uploads` beside the
    index folder, so uploads live with the other data the bot writes (in Docker: /data)."""
    value = os.environ.get(ENV_UPLOADS)
    if value:
        return _resolve(base, value)
    if "uploads" in corpus:
        return _resolve(base, corpus["uploads"]) if corpus["uploads"] else None
    return index_dir.parent / "uploads" if index_dir is not None else None


def _storage(
    base: Path, file: Path, storage: dict[str, Any], index_dir: Path | None
) -> StorageSettings:
    """$COVERAGE_BOT_DB, else storage.path, else beside the index folder, else beside the
    config file: the log lives with the other data the bot writes (in Docker: /data)."""
    value = os.environ.get(ENV_DB) or storage.get("path")
    if value:
        path = _resolve(base, value)
    elif index_dir is not None:
        path = index_dir.parent / DB_NAME
    else:
        path = file.resolve().parent / DB_NAME
    return StorageSettings(path=path, **{k: v for k, v in storage.items() if k != "path"})


def _ids_or(value: Any) -> Any:
    return frozenset(value) if isinstance(value, list) else value


def _resolve(base: Path, value: str) -> Path:
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() else (base / path).resolve()


def _validate(file: Path, raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    values: dict[str, dict[str, Any]] = {}
    for section, body in raw.items():
        if section not in _SCHEMA:
            known = ", ".join([*_SCHEMA, "feeds"])
            raise ConfigError(f"{file}: unknown section {section!r} (expected one of: {known})")
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise ConfigError(f"{file}: key {section!r} must be a mapping of settings")
        schema = _SCHEMA[section]
        values[section] = {}
        for key, value in body.items():
            if key not in schema:
                known = ", ".join(f"{section}.{k}" for k in schema)
                raise ConfigError(f"{file}: unknown key '{section}.{key}' (known: {known})")
            values[section][key] = _check(file, f"{section}.{key}", schema[key], value)
    return values


def _check(file: Path, key: str, kind: str, value: Any) -> Any:
    def bad(expected: str) -> ConfigError:
        return ConfigError(f"{file}: key '{key}' must be {expected}, got {value!r}")

    if kind.startswith(("int:", "float:")):
        name, bounds = kind.split(":")
        low, high = (float(b) for b in bounds.split(".."))
        numeric = isinstance(value, int) if name == "int" else isinstance(value, int | float)
        expected = f"{'a whole number' if name == 'int' else 'a number'} from {bounds}"
        if isinstance(value, bool) or not numeric or not low <= value <= high:
            raise bad(expected.replace("..", " to "))
        return int(value) if name == "int" else float(value)
    if kind in ("path", "path?"):
        if value is None and kind == "path?":
            return None
        if not isinstance(value, str) or not value.strip():
            raise bad(_EXPECTED[kind])
        return value
    if kind == "ids":
        if value is None:
            return []
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise bad(_EXPECTED[kind])
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise bad(_EXPECTED[kind])
        return value
    if kind == "redis?":
        if value is None:
            return None
        parsed = urlparse(value) if isinstance(value, str) else None
        if (
            parsed is None
            or parsed.scheme not in ("redis", "rediss", "unix")
            or (parsed.scheme != "unix" and not parsed.hostname)
        ):
            # Not the value itself: a Redis URL may carry a password.
            shown = f"a URL starting {parsed.scheme}://" if parsed and parsed.scheme else "that"
            raise ConfigError(f"{file}: key '{key}' must be {_EXPECTED[kind]}, got {shown}")
        return value
    if kind == "url":
        parsed = urlparse(value) if isinstance(value, str) else None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise bad(_EXPECTED[kind])
        return value
    raise AssertionError(f"unknown schema kind {kind}")
