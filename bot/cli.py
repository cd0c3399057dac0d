"""`coverage-bot`: the one command line: answers from the terminal and serves the bot."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from enum import IntEnum
from pathlib import Path

from tqdm import tqdm

from bot.settings import ConfigError, Settings, load_settings
from retrieval.corpus import load_corpus
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


class ExitStatus(IntEnum):
    OK = 0
    ERROR = 1  # the corpus or the index could not be loaded
    USAGE = 2  # bad arguments or config


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"coverage-bot: {exc}", file=sys.stderr)
        return ExitStatus.USAGE
    try:
        return args.run(args, settings)
    except ReloadFailed as exc:
        print(f"coverage-bot: {exc}", file=sys.stderr)
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
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", help="config file (default: $COVERAGE_BOT_CONFIG or config/config.yaml)"
    )
    common.add_argument("--corpus", type=Path, help="corpus folder (overrides the config)")
    common.add_argument("-v", "--verbose", action="store_true", help="log progress")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ask = commands.add_parser("ask", parents=[common], help="answer one question")
    ask.add_argument("question", help="the question, in Arabic")
    ask.add_argument("--k", type=_positive, help="number of sentences (default: top_k)")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.set_defaults(run=_ask)

    index = commands.add_parser("index", parents=[common], help="build or refresh the index")
    index.set_defaults(run=_index)

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


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return number


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
    snapshot = engine.open(_progress_bar(True))
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
            f"are not in {engine.corpus_dir} (e.g. {strangers[0]}); their spans cannot match",
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
            outcomes.append(
                Outcome(question, len(result.hits), judge_hits(gold, result.hits), seconds)
            )
            if dump is not None:
                dump.write(json.dumps(dump_record(question, result.hits), ensure_ascii=False))
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
    return "\n".join(lines)


def result_json(result: SearchResult) -> dict:
    return {
        "question": result.question,
        "terms": list(result.terms),
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


def render_terminal(result: SearchResult) -> str:
    if not result.hits:
        return "لم أجد جملة تجيب عن هذا السؤال في المصادر. جرّب صياغة أخرى أو كلمات أقل."
    lines = []
    for hit in result.hits:
        lines.append(f"{hit.rank}. {hit.text}")
        for source in hit.sources:
            cite = source.title + (f" — {source.url}" if source.url else "")
            lines.append(f"   [{source.doc}] {cite}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
