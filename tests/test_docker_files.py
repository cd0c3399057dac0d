"""What the Docker files promise, checked without Docker.

tests/docker/e2e.sh builds and runs the image for real (root, ~1 min cold);
these checks pin the properties a careless edit could silently break: the
build-time base image argument, the token never being baked in, the non-root
user, the health check and a build context that leaves secrets out.
"""

import fnmatch
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


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


def test_runtime_settings_point_into_the_image_and_the_data_volume() -> None:
    env = " ".join(_args_of("ENV"))
    for setting in (
        "COVERAGE_BOT_CONFIG=/app/config/config.yaml",
        "COVERAGE_BOT_CORPUS=/app/seeds",
        "COVERAGE_BOT_INDEX_DIR=/data/index",
        "COVERAGE_BOT_HEARTBEAT=/data/heartbeat",
        "PATH=/app/.venv/bin:$PATH",
    ):
        assert setting in env
    assert _args_of("VOLUME") == ['["/data"]']


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
    for needed in ("pyproject.toml", "uv.lock", "bot/__init__.py", "seeds/000_x.txt"):
        assert _sent_to_the_daemon(needed), needed
    private_paths = (".env", ".git/config", ".venv/bin/python", "tests/x.py", "benchmarks/out/x")
    for private in private_paths:
        assert not _sent_to_the_daemon(private), private
    assert not _sent_to_the_daemon("bot/__pycache__/cli.cpython-311.pyc")


def test_compose_reads_the_token_from_an_env_file_and_keeps_data_in_a_volume() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
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
