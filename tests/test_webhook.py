"""The webhook's request checks and its secret, without a network (bot/webhook.py, serve)."""

from __future__ import annotations

import argparse
import re

import pytest

from bot.cli import _webhook
from bot.webhook import (
    MAX_BODY,
    Refused,
    RequestHead,
    Webhook,
    check_head,
    parse_head,
    parse_update,
)

SECRET = "s3cret_Token-1"
PATH = "/telegram/hook"


def head(*lines: str, request: str = f"POST {PATH} HTTP/1.1") -> RequestHead:
    return parse_head("\r\n".join([request, *lines]).encode("latin-1"))


def refusal(request: RequestHead) -> tuple[int, str]:
    with pytest.raises(Refused) as caught:
        check_head(request, PATH, SECRET)
    return caught.value.status, caught.value.reason


def test_an_authentic_post_is_read_for_its_declared_length():
    request = head(
        "Host: bot.example.org",
        "Content-Type: application/json",
        f"X-Telegram-Bot-Api-Secret-Token: {SECRET}",
        "Content-Length: 312",
    )
    assert check_head(request, PATH, SECRET) == 312


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["Content-Length: 312"], (403, "wrong or missing secret")),
        (
            ["X-Telegram-Bot-Api-Secret-Token: s3cret_Token-2", "Content-Length: 312"],
            (403, "wrong or missing secret"),
        ),
        (
            [f"X-Telegram-Bot-Api-Secret-Token: {SECRET}x", "Content-Length: 312"],
            (403, "wrong or missing secret"),
        ),
        (
            [f"X-Telegram-Bot-Api-Secret-Token: {SECRET}", f"Content-Length: {MAX_BODY + 1}"],
            (413, "body over 1 MB"),
        ),
        (
            [f"X-Telegram-Bot-Api-Secret-Token: {SECRET}", "Content-Length: 99999999999999999"],
            (400, "bad Content-Length"),
        ),
        (
            [f"X-Telegram-Bot-Api-Secret-Token: {SECRET}", "Content-Length: -1"],
            (400, "bad Content-Length"),
        ),
        ([f"X-Telegram-Bot-Api-Secret-Token: {SECRET}"], (411, "no Content-Length")),
        (
            [f"X-Telegram-Bot-Api-Secret-Token: {SECRET}", "Transfer-Encoding: chunked"],
            (501, "chunked body"),
        ),
    ],
)
def test_posts_without_the_secret_or_with_an_unbounded_body_are_refused_from_the_head(
    lines: list[str], expected: tuple[int, str]
):
    assert refusal(head(*lines)) == expected


def test_the_secret_is_checked_before_the_body_size():
    # 95 MB announced without the secret: 403, so a stranger learns nothing of the limits.
    assert refusal(head("Content-Length: 99614720")) == (403, "wrong or missing secret")


def test_other_paths_and_methods_are_refused():
    secret = f"X-Telegram-Bot-Api-Secret-Token: {SECRET}"
    assert refusal(head(secret, request="POST /other HTTP/1.1"))[0] == 404
    assert refusal(head(secret, request=f"GET {PATH} HTTP/1.1"))[0] == 405


@pytest.mark.parametrize(
    "raw",
    [
        b"POST /telegram/hook\r\nContent-Length: 2",
        b"POST /telegram/hook SPDY/3\r\nContent-Length: 2",
        b"POST /telegram/hook HTTP/1.1\r\nContent-Length 2",
        b"POST /telegram/hook HTTP/1.1\r\nX-Telegram-Bot-Api-Secret-Token: a\r\n"
        b"X-Telegram-Bot-Api-Secret-Token: b",
        b"POST /telegram/hook HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 200",
    ],
)
def test_malformed_or_ambiguous_heads_are_refused(raw: bytes):
    with pytest.raises(Refused) as caught:
        parse_head(raw)
    assert caught.value.status == 400


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"message": {}}', b"[" * 100_000])
def test_a_body_that_is_not_an_update_is_refused(body: bytes):
    with pytest.raises(Refused) as caught:
        parse_update(body)
    assert caught.value.status == 400


def test_an_update_body_is_parsed():
    assert parse_update('{"update_id": 7, "message": {"text": "سؤال"}}'.encode()) == {
        "update_id": 7,
        "message": {"text": "سؤال"},
    }


def serve_args(**overrides: object) -> argparse.Namespace:
    values = {
        "webhook_url": "https://bot.example.org/telegram/hook",
        "listen": None,
        "port": None,
        "secret_token": None,
    }
    return argparse.Namespace(**(values | overrides))


def test_without_a_configured_secret_each_start_gets_a_random_one(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET", raising=False)
    first, second = _webhook(serve_args()), _webhook(serve_args())
    assert first is not None and second is not None
    assert re.fullmatch(r"[A-Za-z0-9_-]{40,256}", first.secret_token)
    assert first.secret_token != second.secret_token


def test_the_secret_comes_from_the_environment_and_never_shows_in_a_repr(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", SECRET)
    webhook = _webhook(serve_args(listen="127.0.0.1", port=8444))
    assert webhook == Webhook("https://bot.example.org/telegram/hook", "127.0.0.1", 8444, SECRET)
    assert webhook.path == PATH
    assert SECRET not in repr(webhook)


def test_a_malformed_secret_in_the_environment_is_named(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "no spaces!")
    with pytest.raises(ValueError, match="TELEGRAM_WEBHOOK_SECRET must be 1-256 characters"):
        _webhook(serve_args())


def test_the_secret_is_refused_on_the_command_line(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET", raising=False)
    with pytest.raises(ValueError, match="set TELEGRAM_WEBHOOK_SECRET instead"):
        _webhook(serve_args(secret_token=SECRET))
