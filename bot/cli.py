"""`coverage-bot`: the one command line: answers from the terminal and serves the bot."""

from __future__ import annotations

import argparse
import datetime as dt
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

from bot import texts
from bot.logs import configure_logging, hide_secret, redact
from bot.progress import terminal_bar
from bot.settings import ConfigError, Settings, load_settings
from retrieval.display import printable
from retrieval.engine import Engine, ReloadFailed, Snapshot
from retrieval.filters import (
    REASONS,
    FilterError,
    Filters,
    Selection,
    outlet_names,
    parse_date,
    parse_filters,
    select,
)
from retrieval.models import Hit
from retrieval.neardup import (
    MAX_CANDIDATES,
    MAX_CHARACTERS,
    MIN_WORDS,
    THRESHOLD,
    WhoRan,
    find_near_duplicates,
    word_count,
)
from retrieval.search import SearchResult

if TYPE_CHECKING:
    from bot.webhook import Webhook

log = logging.getLogger(__name__)

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
    ask.add_argument(
        "--outlet",
        action="append",
        default=[],
        metavar="NAME",
        help="only documents of this outlet (repeatable; like outlet:NAME in the question)",
    )
    ask.add_argument(
        "--from", dest="date_from", type=_filter_date, help="only documents dated from YYYY-MM-DD"
    )
    ask.add_argument(
        "--to", dest="date_to", type=_filter_date, help="only documents dated up to YYYY-MM-DD"
    )
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
        description=(
            f"Run the Telegram bot. The token is read from ${ENV_TOKEN} only; in webhook "
            f"mode the secret Telegram must send is read from ${ENV_SECRET} only (never "
            "from the command line, which other local users can read)."
        ),
    )
    serve.add_argument(
        "--webhook-url",
        help=(
            "public HTTPS URL Telegram posts updates to; Telegram must send the secret in "
            f"${ENV_SECRET} with every post (unset: a random secret is made at each start)"
        ),
    )
    serve.add_argument("--listen", help="webhook mode: address to listen on (default 0.0.0.0)")
    serve.add_argument("--port", type=_port, help="webhook mode: port to listen on (default 8443)")
    # Refused with a message: any local user can read a process's arguments
    # (/proc/PID/cmdline), so the secret comes from the environment only.
    serve.add_argument("--secret-token", help=argparse.SUPPRESS)
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
    _add_feedback_commands(commands, config)
    _add_feeds_command(commands, config)
    _add_timeline_command(commands, common)
    _add_who_command(commands, common)
    return parser


def _port(value: str) -> int:
    number = int(value)
    if not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 1 to 65535, got {value}")
    return number


def _filter_date(value: str) -> dt.date:
    try:
        return parse_date(value)
    except FilterError as exc:
        raise argparse.ArgumentTypeError(f"{value!r}: {REASONS[exc.reason]}") from None


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return number


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here: python-telegram-bot takes a second to import, which `ask` need not pay.
    from telegram.error import InvalidToken, TelegramError

    from bot.app import build_application, run
    from bot.fleet import FleetMismatch
    from bot.state import state_of
    from bot.storage import SchemaTooNew

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
    if webhook is not None:
        hide_secret(webhook.secret_token)
    if webhook is not None and settings.state.redis_url and not os.environ.get(ENV_SECRET):
        # Each replica would register its own random secret and refuse the others' posts.
        return _fail(
            f"a fleet (state.redis_url) needs {ENV_SECRET} set, the same on every replica",
            ExitStatus.USAGE,
        )
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
    engine.snapshot.index.kernels()  # a large index's compiled search code, loaded before questions
    log.info("search warmed up in %.2f s", engine.warm())
    application = build_application(settings, token, engine)
    api = settings.telegram.api_url
    try:
        run(application, webhook)
    except SchemaTooNew as exc:
        return _fail(str(exc), ExitStatus.ERROR)
    except FleetMismatch as exc:
        return _fail(f"not serving: {exc}", ExitStatus.ERROR)
    except InvalidToken:
        return _fail(f"the Bot API server at {api} rejected {ENV_TOKEN}", ExitStatus.ERROR)
    except TelegramError as exc:
        return _fail(
            f"cannot use the Bot API server at {api}: {redact(str(exc))}", ExitStatus.ERROR
        )
    except OSError as exc:
        if webhook is None:
            raise
        where = f"{webhook.listen}:{webhook.port}"
        return _fail(f"cannot listen for the webhook on {where}: {exc.strerror}", ExitStatus.ERROR)
    fleet = state_of(application).fleet
    if fleet is not None and fleet.fatal:
        return _fail(f"stopped serving: {fleet.fatal}", ExitStatus.ERROR)
    return ExitStatus.OK


def _webhook(args: argparse.Namespace) -> Webhook | None:
    """The webhook settings, always with a secret: the configured one or a random one."""
    from bot.webhook import Webhook

    if args.secret_token is not None:
        raise ValueError(
            f"--secret-token is not accepted (other local users can read the command line); "
            f"set {ENV_SECRET} instead, or leave it unset for a random secret"
        )
    if not args.webhook_url:
        if args.listen or args.port:
            raise ValueError("--listen and --port need --webhook-url")
        return None
    url = urlparse(args.webhook_url)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise ValueError(f"--webhook-url must be an http(s) URL, got {args.webhook_url!r}")
    listen, port = args.listen or "0.0.0.0", args.port or 8443
    secret = os.environ.get(ENV_SECRET, "")
    if not secret:
        log.info("webhook: %s is not set; using a random secret", ENV_SECRET)
        return Webhook(args.webhook_url, listen, port)
    if not _SECRET_TOKEN.fullmatch(secret):
        raise ValueError(f"{ENV_SECRET} must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
    return Webhook(args.webhook_url, listen, port, secret)


def _health(args: argparse.Namespace, settings: Settings) -> int:
    from bot import heartbeat  # imported here: it brings asyncio, which `ask` need not pay

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
        uploads_dir=settings.corpus.uploads,
    )


def _progress_bar(enabled: bool) -> Callable[[int], Callable[[int], None]] | None:
    """A tqdm bar on stderr for large corpora; silent for small ones and non-terminals."""
    if not enabled:
        return None

    def start(total: int) -> Callable[[int], None]:
        from tqdm import tqdm  # imported here: a small corpus never shows a bar

        bar = tqdm(total=total, unit="doc", desc="indexing", disable=total < 200, leave=False)
        return bar.update

    return start


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    try:
        question, filters = _ask_filters(args)
    except FilterError as exc:
        return _fail(f"filter {printable(exc.token)!r}: {REASONS[exc.reason]}", ExitStatus.USAGE)
    engine = engine_for(settings, args.corpus)
    snapshot = engine.open(_progress_bar(sys.stderr.isatty()))
    # One question: numpy answers it in milliseconds even at a million sentences,
    # where loading the compiled kernels (numba) would add ~0.6 s (benchmarks/README.md).
    snapshot.index.compiled = False
    selection = select(snapshot.index.sources, filters) if filters else None
    if selection is not None and selection.empty:
        known = outlet_names(snapshot.index.sources) if selection.unknown_outlets else []
        if args.json:
            print(json.dumps(_empty_json(question, filters, selection, known), ensure_ascii=False))
        else:
            print(filter_empty_terminal(filters, selection, known))
        return ExitStatus.OK
    allowed = selection.allowed if selection is not None else None
    result = engine.search(question, k=args.k, allowed=allowed)
    if args.json:
        out = result_json(result)
        out["filters"] = _filters_json(filters, selection)
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        head = filters_terminal(filters, selection)
        print((head + "\n" if head else "") + render_terminal(result))
    return ExitStatus.OK


def _ask_filters(args: argparse.Namespace) -> tuple[str, Filters]:
    """The question's own filter tokens joined with --outlet/--from/--to (an option wins
    over the same date written in the question)."""
    question, inline = parse_filters(args.question)
    outlets = tuple(dict.fromkeys(inline.outlets + tuple(" ".join(o.split()) for o in args.outlet)))
    if any(not name for name in outlets):
        raise FilterError("--outlet ''", "empty")
    filters = Filters(outlets, args.date_from or inline.date_from, args.date_to or inline.date_to)
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise FilterError(f"from:{filters.date_from} to:{filters.date_to}", "order")
    return question, filters


def _filters_json(filters: Filters, selection: Selection | None) -> dict:
    out = filters.as_dict()
    out["documents"] = int(selection.allowed.sum()) if selection is not None else None
    out["undated_excluded"] = selection.undated if selection is not None else 0
    out["unknown_outlets"] = list(selection.unknown_outlets) if selection is not None else []
    return out


def _empty_json(question: str, filters: Filters, selection: Selection, known: list[str]) -> dict:
    return {
        "question": question,
        "terms": [],
        "outcome": "none",
        "hits": [],
        "has_more": False,
        "filters": _filters_json(filters, selection) | {"known_outlets": known},
    }


def filters_terminal(filters: Filters, selection: Selection | None) -> str:
    """«المرشّحات: الوسيلة: «…»، من: …، إلى: …» for a terminal; "" without filters."""
    if not filters:
        return ""
    parts = []
    if filters.outlets:
        names = texts.FILTER_OR.join(f"«{printable(n)}»" for n in filters.outlets)
        parts.append(texts.FILTER_OUTLETS.format(names=names))
    if filters.date_from:
        parts.append(texts.FILTER_FROM.format(date=filters.date_from.isoformat()))
    if filters.date_to:
        parts.append(texts.FILTER_TO.format(date=filters.date_to.isoformat()))
    line = "المرشّحات: " + texts.FILTER_SEPARATOR.join(parts)
    if selection is not None and selection.undated:
        line += " " + texts.FILTER_UNDATED.format(count=selection.undated)
    return line


def filter_empty_terminal(filters: Filters, selection: Selection, known: list[str]) -> str:
    """What the terminal says when the filters select no document."""
    lines = [filters_terminal(filters, selection)]
    if selection.unknown_outlets:
        names = texts.FILTER_OR.join(f"«{printable(n)}»" for n in selection.unknown_outlets)
        lines.append(texts.FILTER_UNKNOWN_OUTLET.format(names=names))
        if known:
            shown = texts.FILTER_SEPARATOR.join(f"«{printable(n)}»" for n in known)
            lines.append(texts.FILTER_KNOWN_OUTLETS.format(names=shown))
    else:
        lines.append(texts.FILTER_NO_MATCH)
    return "\n".join(lines)


def _index(args: argparse.Namespace, settings: Settings) -> int:
    engine = engine_for(settings, args.corpus)
    snapshot = engine.open(_progress_bar(True), verify=args.verify, serve=False)
    print(describe_snapshot(snapshot, engine))
    return ExitStatus.OK


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from retrieval.evaluate import (  # imported here: `ask` need not pay for it
        Outcome,
        QuestionFileError,
        dump_record,
        golds_for,
        judge_hits,
        load_questions,
        metrics,
        render_metrics,
    )

    try:
        questions = load_questions(args.questions)
    except QuestionFileError as exc:
        print(f"coverage-bot: {exc}", file=sys.stderr)
        return ExitStatus.USAGE
    engine = engine_for(settings, args.corpus)
    snapshot = engine.open(_progress_bar(sys.stderr.isatty()))
    known = {s.doc for s in snapshot.index.sources}
    strangers = sorted({q.doc for q in questions if q.doc and q.doc not in known})
    if strangers:
        print(
            f"coverage-bot: warning: {len(strangers)} document(s) named by {args.questions} "
            f"are not in {engine.corpus_dir} (e.g. {printable(strangers[0])}); "
            "their spans cannot match",
            file=sys.stderr,
        )
    golds = golds_for(questions, snapshot.index, engine.corpus_dir)
    outcomes = []
    dump = args.dump.open("w", encoding="utf-8") if args.dump else None
    try:
        bar = terminal_bar(questions, unit="q", desc="eval", minimum=50)
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
        f"uploads: {engine.uploads_dir if engine.uploads_dir else 'off (corpus.uploads)'}",
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


# -- `feedback export`: the question log's rated questions as an evaluation file ----------


def _add_feedback_commands(
    commands: argparse._SubParsersAction, config: argparse.ArgumentParser
) -> None:
    feedback = commands.add_parser("feedback", help="use the question log's votes")
    actions = feedback.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = actions.add_parser(
        "export",
        parents=[config],
        help="write rated questions as an eval question file (JSON Lines)",
        description="Questions whose 👍 or chosen sentence identifies the answer become "
        "evaluation rows; those marked 'none of them' become unanswerable rows.",
    )
    export.add_argument("--out", type=Path, required=True, help="the JSON Lines file to write")
    export.add_argument(
        "--since", type=_since, help="only questions asked from this date (UTC), e.g. 2026-11-01"
    )
    export.add_argument(
        "--db", type=Path, help="question log (default: $COVERAGE_BOT_DB, else beside the index)"
    )
    export.set_defaults(run=_feedback_export)


def _since(value: str) -> float:
    from bot.storage.export import parse_since

    try:
        return parse_since(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _feedback_export(args: argparse.Namespace, settings: Settings) -> int:
    import sqlite3

    from bot.storage import SchemaTooNew, Storage
    from bot.storage.export import default_db_path, evaluation_rows

    path = args.db or default_db_path(settings)
    if not path.is_file():
        return _fail(
            f"no question log at {path} (give --db or set $COVERAGE_BOT_DB)", ExitStatus.ERROR
        )
    try:
        with Storage(path, keep_days=None) as storage:
            rated = storage.rated_questions(args.since)
    except SchemaTooNew as exc:
        return _fail(str(exc), ExitStatus.ERROR)
    except sqlite3.Error as exc:
        return _fail(f"{path}: cannot read the question log: {exc}", ExitStatus.ERROR)
    rows = evaluation_rows(rated)
    try:
        with args.out.open("w", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
    except OSError as exc:
        return _fail(f"{args.out}: cannot write: {exc.strerror or exc}", ExitStatus.ERROR)
    unanswerable = sum(1 for row in rows if not row["answers"])
    print(
        f"{args.out}: {len(rows)} questions ({len(rows) - unanswerable} answerable, "
        f"{unanswerable} unanswerable) from {len(rated)} rated in {path}"
    )
    return ExitStatus.OK


# -- `feeds --once`: one poll of every configured feed, for cron --------------------------


def _add_feeds_command(
    commands: argparse._SubParsersAction, config: argparse.ArgumentParser
) -> None:
    feeds = commands.add_parser(
        "feeds",
        parents=[config],
        help="poll every configured feed once into the uploads folder (for cron)",
        description="Fetch each feed of the config's `feeds:` list once and store its new "
        "items in the uploads folder, as the running bot does on its schedule. Prints one "
        "line per feed; exits 0 even when feeds fail (each line says why), 2 for a bad config.",
    )
    feeds.add_argument("--once", action="store_true", required=True, help="poll once and exit")
    feeds.add_argument("-v", "--verbose", action="store_true", help="log each item")
    feeds.set_defaults(run=_feeds_once)


def _feeds_once(args: argparse.Namespace, settings: Settings) -> int:
    from retrieval.ingest.feeds import FeedPoller, summary
    from retrieval.ingest.fetch import FetchLimits

    if not settings.feeds:
        print(f"no feeds configured (key 'feeds' in {settings.source})")
        return ExitStatus.OK
    assert settings.corpus.uploads is not None  # load_settings refuses feeds without it
    ingest = settings.ingest
    limits = FetchLimits(
        max_bytes=ingest.max_bytes,
        timeout=ingest.fetch_timeout,
        allow_private=ingest.allow_private_addresses,
    )
    poller = FeedPoller(settings.feeds, settings.corpus.uploads, limits)
    for result in poller.poll_all():
        print(printable(summary(result)))
    return ExitStatus.OK


# -- `timeline TOPIC --out FILE.png`: the /timeline chart from the terminal ----------------


def _add_timeline_command(
    commands: argparse._SubParsersAction, common: argparse.ArgumentParser
) -> None:
    timeline = commands.add_parser(
        "timeline",
        parents=[common],
        help="chart how many relevant sentences each outlet ran per day (PNG)",
    )
    timeline.add_argument("topic", help="the topic, in Arabic")
    timeline.add_argument("--out", type=Path, required=True, help="the PNG file to write")
    timeline.set_defaults(run=_timeline)


def _timeline(args: argparse.Namespace, settings: Settings) -> int:
    from bot.chart import render_png
    from bot.timeline import caption
    from retrieval.timeline import timeline_for

    engine = engine_for(settings, args.corpus)
    engine.open(_progress_bar(sys.stderr.isatty()))
    timeline = timeline_for(engine, args.topic)
    if timeline is None:
        print(f"no dated sentence in the corpus matches {printable(args.topic)!r}; nothing written")
        return ExitStatus.OK
    try:
        args.out.write_bytes(render_png(timeline))
    except OSError as exc:
        return _fail(f"{args.out}: cannot write: {exc.strerror or exc}", ExitStatus.ERROR)
    print(printable(caption(timeline)))
    print(f"written to {args.out}")
    return ExitStatus.OK


# -- `who "TEXT"`: the outlets that ran a sentence, as «من نشر هذا؟» answers ---------------


def _add_who_command(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    who = commands.add_parser(
        "who",
        parents=[common],
        help="list every document that ran a sentence or a near-duplicate of it, by outlet",
    )
    who.add_argument("text", help="the sentence or claim, in Arabic (3 words at least)")
    who.add_argument("--json", action="store_true", help="print one JSON object")
    who.set_defaults(run=_who)


def _who(args: argparse.Namespace, settings: Settings) -> int:
    text = " ".join(args.text.split())
    if len(text) > MAX_CHARACTERS:
        return _fail(
            f"the text has {len(text)} characters; give one sentence or claim "
            f"(at most {MAX_CHARACTERS})",
            ExitStatus.USAGE,
        )
    words = word_count(text)
    if words < MIN_WORDS:
        return _fail(
            f"the text has {words} word(s); give at least {MIN_WORDS} "
            "(a shorter one matches too much to tell who ran it)",
            ExitStatus.USAGE,
        )
    engine = engine_for(settings, args.corpus)
    snapshot = engine.open(_progress_bar(sys.stderr.isatty()))
    who = find_near_duplicates(snapshot.index, text)
    if args.json:
        out = {
            "text": who.text,
            "terms": list(who.terms),
            "threshold": THRESHOLD,
            "candidates": who.candidates,
            "truncated": who.truncated,
            "outlets": [
                {
                    "outlet": group.outlet,
                    "copies": [
                        {
                            "doc": c.doc,
                            "title": c.source.title,
                            "url": c.url,
                            "date": c.date,
                            "similarity": round(c.similarity, 4),
                            "text": c.sentence.text,
                        }
                        for c in group.copies
                    ],
                }
                for group in who.by_outlet()
            ],
        }
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        print(render_who_terminal(who))
    return ExitStatus.OK


def render_who_terminal(who: WhoRan) -> str:
    """The copies by outlet, first to run it on top, every one listed; corpus text made
    printable (a file could otherwise rewrite the terminal)."""
    if not who.copies:
        return texts.WHO_NONE
    groups = who.by_outlet()
    first = next((c.date for c in who.copies if c.day is not None), None)
    header = (
        texts.WHO_HEADER.format(outlets=len(groups), documents=len(who.copies), first=first)
        if first
        else texts.WHO_HEADER_UNDATED.format(outlets=len(groups), documents=len(who.copies))
    )
    lines = [printable(header.replace("<b>", "").replace("</b>", ""))]
    for group in groups:
        lines.append(f"• {printable(group.outlet or texts.WHO_NO_OUTLET)}")
        for c in group.copies:
            closeness = (
                texts.WHO_SAME
                if c.similarity >= 1.0
                else texts.WHO_SIMILAR.format(percent=int(c.similarity * 100))
            )
            parts = [c.date or texts.WHO_NO_DATE, f"«{c.source.title}»", c.url or "", f"[{c.doc}]"]
            lines.append("   " + printable("  ".join(p for p in parts if p)) + f"  {closeness}")
            if c.similarity < 1.0:
                lines.append(f"     {printable(c.sentence.text)}")
    if who.truncated:
        lines.append(texts.WHO_TRUNCATED.format(limit=MAX_CANDIDATES))
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
