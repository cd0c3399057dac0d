"""What the Docker files promise, checked without Docker.

tests/docker/e2e.sh builds and runs the image for real (root, ~1 min cold);
these checks pin the properties a careless edit could silently break: the
build-time base image argument, the token never being baked in, the non-root
user, the health check, a build context that leaves secrets out, settings that
come from the config file the container reads (no environment default
overriding it) and compose's hardening.
"""

import fnmatch
import re
from pathlib import Path

import pytest
import yaml

from bot import settings as settings_module
from bot.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
DOCKER_CONFIG = ROOT / "config" / "docker.yaml"
# The environment variables bot/settings.py lets override a config key.
OVERRIDING_ENV = (
    settings_module.ENV_CORPUS,
    settings_module.ENV_INDEX_DIR,
    settings_module.ENV_HEARTBEAT,
    settings_module.ENV_UPLOADS,
    settings_module.ENV_API_URL,
    settings_module.ENV_DB,
    settings_module.ENV_REDIS_URL,
)


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    lines = [
        line for line in dockerfile.read_text().splitlines() if not line.lstrip().startswith("#")
    ]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    pairs = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, args = line.strip().partition(" ")
            pairs.append((keyword.upper(), args.strip()))
    return pairs


INSTRUCTIONS = _instructions(ROOT / "Dockerfile")


def _args_of(keyword: str) -> list[str]:
    return [args for kw, args in INSTRUCTIONS if kw == keyword]


def test_both_stages_start_from_the_base_image_argument() -> None:
    assert INSTRUCTIONS[0] == ("ARG", "BASE_IMAGE=python:3.12-slim")
    froms = _args_of("FROM")
    assert len(froms) == 2
    assert all(f.startswith("${BASE_IMAGE}") for f in froms)


def test_no_other_image_is_pulled() -> None:
    copies_from = [a for a in _args_of("COPY") if a.startswith("--from=")]
    assert copies_from == ["--from=build /app/.venv /app/.venv"]


def test_the_token_is_never_part_of_the_image() -> None:
    for keyword in ("ARG", "ENV", "LABEL"):
        for args in _args_of(keyword):
            assert "TELEGRAM_BOT_TOKEN" not in args, f"{keyword} {args}"


def test_runs_as_a_fixed_non_root_uid() -> None:
    assert _args_of("ARG")[-1] == "APP_UID=10001"
    assert _args_of("USER") == ["${APP_UID}:${APP_UID}"]


def test_serves_by_default_and_reports_health_from_the_heartbeat() -> None:
    assert _args_of("CMD") == ['["coverage-bot", "serve"]']
    (healthcheck,) = _args_of("HEALTHCHECK")
    assert healthcheck.endswith('CMD ["coverage-bot", "health"]')
    assert _args_of("STOPSIGNAL") == ["SIGTERM"]


def test_the_image_reads_its_settings_from_the_docker_config_file() -> None:
    env = " ".join(_args_of("ENV"))
    assert "COVERAGE_BOT_CONFIG=/app/config/config.yaml" in env
    assert "PATH=/app/.venv/bin:$PATH" in env
    assert "COPY config/docker.yaml /app/config/config.yaml" in [
        f"COPY {args}" for args in _args_of("COPY")
    ]
    assert _args_of("VOLUME") == ['["/data"]']


def test_no_environment_default_overrides_a_config_key() -> None:
    # An image ENV such as COVERAGE_BOT_CORPUS=/app/seeds silently beat the
    # corpus.path of a config file mounted over /app/config/config.yaml.
    for keyword in ("ENV", "ARG"):
        for args in _args_of(keyword):
            for name in OVERRIDING_ENV:
                assert f"{name}=" not in args, f"{keyword} {args}"


def test_the_docker_config_holds_the_image_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OVERRIDING_ENV:
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(DOCKER_CONFIG)
    assert settings.corpus.path == Path("/app/seeds")
    assert settings.corpus.index_dir == Path("/data/index")
    assert settings.telegram.heartbeat_file == Path("/data/heartbeat")
    assert settings.corpus.uploads == Path("/data/uploads")
    assert settings.storage.path == Path("/data/coverage-bot.sqlite3")
    assert settings.state.redis_url is None, "one replica, state in memory, unless a fleet"
    assert settings.overrides == ()


def test_the_docker_config_offers_every_setting_of_the_bundled_config() -> None:
    def keys(path: Path) -> set[str]:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return {f"{section}.{key}" for section, body in raw.items() for key in body}

    assert keys(DOCKER_CONFIG) == keys(ROOT / "config" / "config.yaml")


def test_dependencies_are_installed_from_the_lock_before_the_code_is_copied() -> None:
    runs_and_copies = [(kw, a) for kw, a in INSTRUCTIONS if kw in ("RUN", "COPY")]
    deps = runs_and_copies.index(
        ("RUN", next(a for kw, a in runs_and_copies if "--no-install-project" in a))
    )
    code = runs_and_copies.index(("COPY", "bot/ ./bot/"))
    assert runs_and_copies[deps - 1] == ("COPY", "pyproject.toml uv.lock ./")
    assert deps < code
    assert "--frozen --no-dev" in runs_and_copies[deps][1]


def _sent_to_the_daemon(path: str) -> bool:
    """Whether .dockerignore lets `path` into the build context (last matching rule wins)."""
    included = True
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        rule = raw.strip()
        if not rule or rule.startswith("#"):
            continue
        negated = rule.startswith("!")
        pattern = rule.lstrip("!").rstrip("/")
        parts = Path(path).parts
        # A rule matches a path or one of its parent directories; "**/" at any depth.
        candidates = [str(Path(*parts[: i + 1])) for i in range(len(parts))]
        if pattern.startswith("**/"):
            pattern = pattern.removeprefix("**/")
            candidates += list(parts)
        if any(fnmatch.fnmatchcase(c, pattern) for c in candidates):
            included = negated
    return included


def test_build_context_holds_the_package_and_nothing_private() -> None:
    needed_paths = ("pyproject.toml", "uv.lock", "bot/__init__.py", "seeds/000_x.txt")
    for needed in (*needed_paths, "config/docker.yaml"):
        assert _sent_to_the_daemon(needed), needed
    private_paths = (".env", ".git/config", ".venv/bin/python", "tests/x.py", "benchmarks/out/x")
    for private in private_paths:
        assert not _sent_to_the_daemon(private), private
    assert not _sent_to_the_daemon("bot/__pycache__/cli.cpython-311.pyc")


COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_compose_reads_the_token_from_an_env_file_and_keeps_data_in_a_volume() -> None:
    compose = COMPOSE
    bot = compose["services"]["bot"]
    assert bot["env_file"] == ".env"
    assert "TELEGRAM_BOT_TOKEN" not in str(bot.get("environment", ""))
    assert "coverage-bot-data:/data" in bot["volumes"]
    assert "coverage-bot-data" in compose["volumes"]
    assert bot["restart"] == "unless-stopped"
    assert bot["init"] is True
    assert bot["healthcheck"]["test"] == ["CMD", "coverage-bot", "health"]
    example = (ROOT / ".env.example").read_text()
    assert re.search(r"^TELEGRAM_BOT_TOKEN=", example, re.MULTILINE)


def test_local_env_file_is_never_committed() -> None:
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()


def test_compose_mounts_the_docker_config_and_sets_no_overriding_environment() -> None:
    bot = COMPOSE["services"]["bot"]
    assert "./config/docker.yaml:/app/config/config.yaml:ro" in bot["volumes"]
    environment = str(bot.get("environment", ""))
    for name in OVERRIDING_ENV:
        assert name not in environment


def test_compose_hardens_the_container() -> None:
    bot = COMPOSE["services"]["bot"]
    assert bot["cap_drop"] == ["ALL"]
    assert bot["security_opt"] == ["no-new-privileges:true"]
    assert bot["read_only"] is True
    assert bot["tmpfs"] == ["/tmp"]
    assert re.fullmatch(r"[1-9][0-9]*[mg]", bot["mem_limit"])
    assert bot["logging"] == {
        "driver": "json-file",
        "options": {"max-size": "10m", "max-file": "3"},
    }
    assert "cap_add" not in bot and "privileged" not in bot
