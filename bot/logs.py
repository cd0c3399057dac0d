"""Logging set-up for the bot, with the one rule that matters most: the token never shows.

python-telegram-bot and httpx put the token in request URLs (`…/bot<TOKEN>/getMe`),
and `InvalidToken` quotes it. httpx and httpcore are raised to WARNING so routine
requests stay out of the log, and a record factory rewrites every log record that
holds a registered secret (message, arguments and traceback) before any handler,
ours or a test's, sees it.
"""

from __future__ import annotations

import logging
import threading

REDACTED = "<redacted-token>"
_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False
_base_factory = logging.getLogRecordFactory()
_formatter = logging.Formatter()


def configure_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def redact(text: str) -> str:
    """`text` with every registered secret replaced."""
    for secret in _secrets:
        text = text.replace(secret, REDACTED)
    return text


def hide_secret(secret: str) -> None:
    """Keep `secret` out of every log record from now on (idempotent)."""
    global _installed
    if len(secret) < 8:
        raise ValueError("a secret to hide should be at least 8 characters")
    with _lock:
        _secrets.add(secret)
        if not _installed:
            logging.setLogRecordFactory(_redacting_factory)
            _installed = True


def forget_secret(secret: str) -> None:
    """Stop redacting `secret` (tests run several bots with different tokens)."""
    with _lock:
        _secrets.discard(secret)


def _redacting_factory(*args: object, **kwargs: object) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    if _secrets:
        _scrub(record)
    return record


def _scrub(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a malformed format string: leave it to logging's own error path
        message = str(record.msg)
    if _holds_secret(message):
        record.msg, record.args = redact(message), None
    if record.exc_info and record.exc_info[0] is not None:
        trace = _formatter.formatException(record.exc_info)
        if _holds_secret(trace):
            record.exc_text = redact(trace)
    if record.stack_info and _holds_secret(record.stack_info):
        record.stack_info = redact(record.stack_info)


def _holds_secret(text: str) -> bool:
    return any(secret in text for secret in _secrets)
