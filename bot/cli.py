"""`coverage-bot`: the one command line: answers from the terminal and serves the bot."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from tqdm import tqdm

from bot import heartbeat
from bot.logs import configure_logging, hide_secret, redact
from bot.settings import ConfigError, Settings, load_settings
from retrieval.corpus import load_corpus
from retrieval.display import printable
from retrieval.engine import Engine, ReloadFailed, Snapshot
from retrieval.evaluate import (
    Outcome,
    QuestionFileError,
    dump_record,
    golds_for,
    judge_hits,
    load_questions,
    metrics,
    render_metrics,
)
from retrieval.models import Hit
from retrieval.search import SearchResult

if TYPE_CHECKING:
    from bot.app import Webhook

ENV_TOKEN = "TELEGRAM_BOT_TOKEN"
ENV_SECRET = "TELEGRAM_WEBHOOK_SECRET"
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")

log = logging.getLogger(__name__)


class ExitStatus(IntEnum):
    OK = 0
    ERROR = 1  # the corpus, the index or the Bot API failed; or `health` found the bot down
    USAGE = 2  # bad arguments or config


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    chatty = getattr(args, "verbose", False) or args.command == "serve"
    configure_logging(logging.INFO if chatty else logging.WARNING)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"coverage-bot: {exc}", file=sys.stderr)
        return ExitStatus.USAGE
    try:
        return args.run(args, settings)
    except ReloadFailed as exc:  # its reasons name corpus files
        print(f"coverage-bot: {printable(str(exc))}", file=sys.stderr)
        return ExitStatus.ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): not an error worth a traceback.
        sys.stderr.close()
        return ExitStatus.OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coverage-bot",
        description="Answer Arabic questions about news coverage with cited sentences.",
    )
    config = argparse.ArgumentParser(add_help=False)
    config.add_argument(
        "--config", help="config file (default: $COVERAGE_BOT_CONFIG or config/config.yaml)"
    )
    common = argparse.ArgumentParser(add_help=False, parents=[config])
    common.add_argument("--corpus", type=Path, help="corpus folder (overrides the config)")
    common.add_argument("-v", "--verbose", action="store_true", help="log progress")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ask = commands.add_parser("ask", parents=[common], help="answer one question")
    ask.add_argument("question", help="the question, in Arabic")
    ask.add_argument("--k", type=_positive, help="number of sentences (default: top_k)")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.set_defaults(run=_ask)

    index = commands.add_parser("index", parents=[common], help="build or refresh the index")
    index.add_argument(
        "--verify",
        action="store_true",
        help="read and hash every corpus file even if sizes and mtimes are unchanged",
    )
    index.set_defaults(run=_index)

    serve = commands.add_parser(
        "serve",
        parents=[common],
        help="run the Telegram bot (long polling, or a webhook with --webhook-url)",
        description=f"Run the Telegram bot. The token is read from ${ENV_TOKEN} only.",
    )
    serve.add_argument("--webhook-url", help="public HTTPS URL Telegram posts updates to")
    serve.add_argument("--listen", help="webhook mode: address to listen on (default 0.0.0.0)")
    serve.add_argument("--port", type=_port, help="webhook mode: port to listen on (default 8443)")
    serve.add_argument(
        "--secret-token",
        help=f"webhook mode: secret Telegram sends with every update (default ${ENV_SECRET})",
    )
    serve.set_defaults(run=_serve)

    health = commands.add_parser(
        "health",
        parents=[config],
        help="exit 0 if the running bot's heartbeat is fresh (for a container HEALTHCHECK)",
    )
    health.add_argument(
        "--max-age", type=float, help="seconds (default: telegram.heartbeat_max_age)"
    )
    health.set_defaults(run=_health)

    evaluate = commands.add_parser(
        "eval", parents=[common], help="score retrieval on a question file (JSON Lines)"
    )
    evaluate.add_argument("--questions", type=Path, required=True, help="question file")
    evaluate.add_argument(
        "--k", type=_positive, default=10, help="sentences retrieved per question (default: 10)"
    )
    evaluate.add_argument("--dump", type=Path, help="write each question's hits to this file")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    evaluate.set_defaults(run=_eval)
    return parser


def _port(value: str) -> int:
    number = int(value)
    if not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 1 to 65535, got {value}")
    return number


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return number


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here: python-telegram-bot takes a second to import, which `ask` need not pay.
    from telegram.error import InvalidToken, TelegramError

    from bot.app import build_application, run

    token = os.environ.get(ENV_TOKEN, "").strip()
    if not token:
        return _fail(
            f"{ENV_TOKEN} is not set; export the token @BotFather gave you", ExitStatus.USAGE
        )
    if len(token) < 8 or any(c.isspace() for c in token):
        return _fail(f"{ENV_TOKEN} does not look like a bot token", ExitStatus.USAGE)
    hide_secret(token)
    try:
        webhook = _webhook(args)
    except ValueError as exc:
        return _fail(str(exc), ExitStatus.USAGE)
    if webhook is not None and webhook.secret_token:
        hide_secret(webhook.secret_token)
    engine = engine_for(settings, args.corpus)
    overrides = [*settings.overrides, *(["corpus.path from --corpus"] if args.corpus else [])]
    log.info(
        "settings from %s: corpus %s, index %s%s",
        settings.source,
        engine.corpus_dir,
        engine.index_dir or "in memory only",
        "".join(f"; {override}" for override in overrides),
    )
    engine.open(_progress_bar(sys.stderr.isatty()))
    application = build_application(settings, token, engine)
    api = settings.telegram.api_url
    try:
        run(application, webhook)
    except InvalidToken:
        return _fail(f"the Bot API server at {api} rejected {ENV_TOKEN}", ExitStatus.ERROR)
    except TelegramError as exc:
        return _fail(
            f"cannot use the Bot API server at {api}: {redact(str(exc))}", ExitStatus.ERROR
        )
    return ExitStatus.OK


def _webhook(args: argparse.Namespace) -> Webhook | None:
    from bot.app import Webhook

    secret = args.secret_token or os.environ.get(ENV_SECRET) or None
    if not args.webhook_url:
        if args.listen or args.port or args.secret_token:
            raise ValueError("--listen, --port and --secret-token need --webhook-url")
        return None
    url = urlparse(args.webhook_url)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise ValueError(f"--webhook-url must be an http(s) URL, got {args.webhook_url!r}")
    if secret is not None and not _SECRET_TOKEN.fullmatch(secret):
        raise ValueError(
            "the webhook secret token must be 1-256 characters of A-Z, a-z, 0-9, _ and -"
        )
    return Webhook(args.webhook_url, args.listen or "0.0.0.0", args.port or 8443, secret)


def _health(args: argparse.Namespace, settings: Settings) -> int:
    max_age = args.max_age if args.max_age is not None else settings.telegram.heartbeat_max_age
    healthy, reason = heartbeat.check(settings.telegram.heartbeat_file, max_age)
    print(reason, file=sys.stdout if healthy else sys.stderr)
    return ExitStatus.OK if healthy else ExitStatus.ERROR


def _fail(message: str, status: ExitStatus) -> int:
    print(f"coverage-bot: {message}", file=sys.stderr)
    return status


def engine_for(settings: Settings, corpus: Path | None = None) -> Engine:
    return Engine(
        corpus or settings.corpus.path,
        settings.corpus.index_dir,
        top_k=settings.retrieval.top_k,
        min_coverage=settings.retrieval.min_coverage,
    )


def _progress_bar(enabled: bool) -> Callable[[int], Callable[[int], None]] | None:
    """A tqdm bar on stderr for large corpora; silent for small ones and non-terminals."""
    if not enabled:
        return None

    def start(total: int) -> Callable[[int], None]:
        bar = tqdm(total=total, unit="doc", desc="indexing", disable=total < 200, leave=False)
        return bar.update

    return start


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    engine = engine_for(settings, args.corpus)
    engine.open(_progress_bar(sys.stderr.isatty()))
    result = engine.search(args.question, k=args.k)
    if args.json:
        print(json.dumps(result_json(result), ensure_ascii=False, indent=2))
    else:
        print(render_terminal(result))
    return ExitStatus.OK


def _index(args: argparse.Namespace, settings: Settings) -> int:
    engine = engine_for(settings, args.corpus)
    snapshot = engine.open(_progress_bar(True), verify=args.verify)
    print(describe_snapshot(snapshot, engine))
    return ExitStatus.OK


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    try:
        questions = load_questions(args.questions)
    except QuestionFileError as exc:
        print(f"coverage-bot: {exc}", file=sys.stderr)
        return ExitStatus.USAGE
    engine = engine_for(settings, args.corpus)
    snapshot = engine.open(_progress_bar(True))
    documents = load_corpus(engine.corpus_dir).documents
    known = {s.doc for s in snapshot.index.sources}
    strangers = sorted({q.doc for q in questions if q.doc and q.doc not in known})
    if strangers:
        print(
            f"coverage-bot: warning: {len(strangers)} document(s) named by {args.questions} "
            f"are not in {engine.corpus_dir} (e.g. {printable(strangers[0])}); "
            "their spans cannot match",
            file=sys.stderr,
        )
    golds = golds_for(questions, snapshot.index, documents)
    outcomes = []
    dump = args.dump.open("w", encoding="utf-8") if args.dump else None
    try:
        bar = tqdm(questions, unit="q", desc="eval", disable=len(questions) < 50, leave=False)
        for question, gold in zip(bar, golds, strict=True):
            started = time.perf_counter()
            result = engine.search(question.question, k=args.k)
            seconds = time.perf_counter() - started
            # Related hits are listed, but they are not presented as the answer.
            answered = result.hits if result.outcome == "answer" else []
            outcomes.append(
                Outcome(
                    question, len(result.hits), judge_hits(gold, answered), seconds, result.outcome
                )
            )
            if dump is not None:
                record = dump_record(question, result.hits, result.outcome)
                dump.write(json.dumps(record, ensure_ascii=False))
                dump.write("\n")
    finally:
        if dump is not None:
            dump.close()
    scores = metrics(outcomes)
    if args.json:
        print(json.dumps(scores.as_dict(), ensure_ascii=False, indent=2))
    else:
        print(render_metrics(scores))
    return ExitStatus.OK


def describe_snapshot(snapshot: Snapshot, engine: Engine) -> str:
    """The `index` summary. Names and reasons come from corpus files, so each line is
    made printable: a file named with ESC ] 0 ; … BEL would retitle the terminal."""
    index = snapshot.index
    how = "read from cache" if snapshot.from_cache else "built"
    lines = [
        f"corpus: {engine.corpus_dir}",
        f"documents: {len(index.sources)}  sentences: {index.n_sentences}  "
        f"unique sentences: {index.n_docs}  terms: {len(index.vocab)}",
        f"index: {how} in {snapshot.seconds:.2f} s"
        + (f" ({engine.index_dir})" if engine.index_dir else " (not persisted)"),
    ]
    if snapshot.cache_error:
        lines.append(f"warning: {snapshot.cache_error}")
    if snapshot.problems:
        lines.append(f"problems ({len(snapshot.problems)}):")
        lines += [f"  {p}" for p in snapshot.problems]
    return "\n".join(printable(line) for line in lines)


def result_json(result: SearchResult) -> dict:
    return {
        "question": result.question,
        "terms": list(result.terms),
        "outcome": result.outcome,
        "hits": [_hit_json(hit) for hit in result.hits],
        "has_more": result.has_more,
    }


def _hit_json(hit: Hit) -> dict:
    return {
        "rank": hit.rank,
        "score": round(hit.score, 6),
        "text": hit.text,
        "doc": hit.source.doc,
        "title": hit.source.title,
        "position": hit.sentence.position,
        "span": [hit.sentence.start, hit.sentence.end],
        "sources": [
            {"doc": s.doc, "title": s.title, "url": s.url, "outlet": s.outlet, "date": s.date}
            for s in hit.sources
        ],
    }


RELATED_HEADER = "لا توجد إجابة مباشرة — جمل ذات صلة:"


def render_terminal(result: SearchResult) -> str:
    """The answer for a terminal: sentences, names and titles without control or bidi
    characters, which a corpus file could use to rewrite the screen."""
    if not result.hits:
        return "لم أجد جملة تجيب عن هذا السؤال في المصادر. جرّب صياغة أخرى أو كلمات أقل."
    lines = [] if result.outcome == "answer" else [RELATED_HEADER]
    for hit in result.hits:
        lines.append(f"{hit.rank}. {printable(hit.text)}")
        for source in hit.sources:
            cite = source.title + (f" — {source.url}" if source.url else "")
            lines.append(f"   [{printable(source.doc)}] {printable(cite)}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
