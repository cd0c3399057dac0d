"""Scoring retrieval against a question file: reading questions, judging hits, metrics.

Question files are JSON Lines, one question per line:
`{"id": str, "question": str, "answers": [str, ...]}`, with optional `doc` (file
name in the corpus) and `answer_spans` (`[[paragraph, start, end], ...]`: a
character range inside that paragraph of `doc`, paragraphs counted from 0 and
separated by blank lines). Other keys are ignored. `answers: []` (and no spans)
marks a question the corpus cannot answer.

Judging rule (built in, so `eval` needs no external scorer): a returned
sentence is *correct* when
1. its text, lightly normalized (`fingerprint`: the index's character
   normalization, punctuation dropped, words joined by one space), contains one
   of the lightly normalized answers as whole words; or
2. the question has `doc` and `answer_spans`, and the sentence has the same
   normalized text as a sentence of that document overlapping one of the spans
   (text, not position, so an identical copy elsewhere counts too).

Judging needs the index, not the corpus: rule 2 reads only the documents named
with spans (see `golds_for`). This module only judges and counts; `bot/cli.py`
runs the questions through `Engine.search`, the same path as `ask` and the bot.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from retrieval.corpus import read_documents
from retrieval.index import SentenceIndex
from retrieval.models import Hit
from retrieval.normalize import fingerprint

RECALL_AT = (1, 5, 10)
OUTCOMES = ("answer", "related", "none")
MRR_AT = 10
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r]*\n")


class QuestionFileError(ValueError):
    """The question file cannot be used; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    question: str
    answers: tuple[str, ...]
    doc: str | None = None
    answer_spans: tuple[tuple[int, int, int], ...] = ()

    @property
    def answerable(self) -> bool:
        return bool(self.answers or self.answer_spans)


def load_questions(path: str | os.PathLike[str]) -> list[Question]:
    """Questions of a JSON Lines file; raises QuestionFileError naming file:line on bad input."""
    file = Path(path)
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionFileError(f"{file}: cannot be read: {exc}") from exc
    questions: list[Question] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{file}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QuestionFileError(f"{where}: not JSON: {exc.msg}") from exc
        question = _question(record, where)
        if question.id in seen:
            raise QuestionFileError(f"{where}: duplicate id {question.id!r}")
        seen.add(question.id)
        questions.append(question)
    if not questions:
        raise QuestionFileError(f"{file}: no questions")
    return questions


def _question(record: object, where: str) -> Question:
    if not isinstance(record, dict):
        raise QuestionFileError(f"{where}: expected a JSON object")
    qid, text, answers = record.get("id"), record.get("question"), record.get("answers")
    if not isinstance(qid, str | int) or isinstance(qid, bool) or str(qid) == "":
        raise QuestionFileError(f"{where}: 'id' must be a non-empty string")
    if not isinstance(text, str) or not text.strip():
        raise QuestionFileError(f"{where}: 'question' must be a non-empty string")
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise QuestionFileError(f"{where}: 'answers' must be a list of strings")
    doc = record.get("doc")
    if doc is not None and not isinstance(doc, str):
        raise QuestionFileError(f"{where}: 'doc' must be a string")
    spans = record.get("answer_spans") or []
    if not isinstance(spans, list) or not all(_is_span(s) for s in spans):
        raise QuestionFileError(
            f"{where}: 'answer_spans' must be a list of [paragraph, start, end] integers"
        )
    if spans and doc is None:
        raise QuestionFileError(f"{where}: 'answer_spans' needs 'doc'")
    return Question(
        id=str(qid),
        question=text,
        answers=tuple(a for a in answers if fingerprint(a)),
        doc=doc,
        answer_spans=tuple((int(p), int(s), int(e)) for p, s, e in spans),
    )


def _is_span(span: object) -> bool:
    return (
        isinstance(span, list)
        and len(span) == 3
        and all(isinstance(x, int) and not isinstance(x, bool) for x in span)
    )


def paragraph_offsets(text: str) -> list[int]:
    """Start offset in `text` of each paragraph (blank-line separated, blank ones skipped)."""
    starts = []
    position = 0
    for match in [*_PARAGRAPH_BREAK.finditer(text), None]:
        end = match.start() if match else len(text)
        piece = text[position:end]
        if piece.strip():
            starts.append(position + len(piece) - len(piece.lstrip("\r\n")))
        position = match.end() if match else end
    return starts


@dataclass(frozen=True, slots=True)
class Gold:
    """What counts as correct for one question, precomputed in normalized form."""

    answers: tuple[str, ...]  # fingerprints, padded with spaces for whole-word search
    sentences: frozenset[str] = frozenset()  # fingerprints of the span's sentences

    def judge(self, text: str) -> bool:
        key = fingerprint(text)
        if not key:
            return False
        if key in self.sentences:
            return True
        padded = f" {key} "
        return any(answer in padded for answer in self.answers)


def golds_for(
    questions: Sequence[Question], index: SentenceIndex, corpus_dir: str | os.PathLike[str]
) -> list[Gold]:
    """The judging rule of the module docstring for each question, against one index.

    The index holds every sentence's text and file span, but not the blank lines
    between paragraphs that `answer_spans` count, nor paragraphs without a
    sentence. So only the documents questions name with spans are read, one at
    a time, to find where their paragraphs start; the corpus is not loaded again.
    A document whose bytes changed since the index was built (its digest differs)
    cannot place its spans and is judged by answer text alone.
    """
    source_of = {s.doc: i for i, s in enumerate(index.sources)}
    golds = [Gold(tuple(f" {fingerprint(a)} " for a in q.answers)) for q in questions]
    spanned: dict[str, list[int]] = {}
    for i, question in enumerate(questions):
        if question.answer_spans and question.doc in source_of:
            spanned.setdefault(question.doc, []).append(i)
    for doc, numbers in spanned.items():
        source = source_of[doc]
        starts = _paragraph_starts(Path(corpus_dir), doc, index.digests[source])
        if starts is None:
            continue
        rows = index.document_rows(source)
        spans = list(
            zip(index.sent_start[rows].tolist(), index.sent_end[rows].tolist(), strict=True)
        )
        for i in numbers:
            keys = _span_sentences(questions[i].answer_spans, starts, rows, spans, index)
            golds[i] = Gold(golds[i].answers, frozenset(keys))
    return golds


def _paragraph_starts(corpus_dir: Path, doc: str, digest: str) -> list[int] | None:
    """File offsets of one document's paragraphs, or None if it is gone or changed."""
    documents, _ = read_documents(corpus_dir, [doc])
    if not documents or documents[0].digest != digest:
        return None
    document = documents[0]
    return [document.body_offset + start for start in paragraph_offsets(document.text)]


def _span_sentences(
    answer_spans: Sequence[tuple[int, int, int]],
    starts: list[int],
    rows: np.ndarray,
    spans: list[tuple[int, int]],
    index: SentenceIndex,
) -> set[str]:
    """Fingerprints of the document's sentences overlapping any of the answer spans."""
    ranges = [
        (starts[p] + start, starts[p] + end)
        for p, start, end in answer_spans
        if 0 <= p < len(starts)
    ]
    keys = {
        fingerprint(index.texts[int(row)])
        for row, (lo, hi) in zip(rows, spans, strict=True)
        if any(lo < end and hi > start for start, end in ranges)
    }
    keys.discard("")
    return keys


@dataclass(frozen=True, slots=True)
class Outcome:
    """One question's result: the rank of the first correct hit (None if none).

    Hits of a "related" outcome are shown as related, not as the answer, so a
    caller counts them as no answer (`first_correct` None).
    """

    question: Question
    n_hits: int
    first_correct: int | None
    seconds: float
    outcome: str = "answer"  # "answer" | "related" | "none" (retrieval/answerability.py)


def judge_hits(gold: Gold, hits: Sequence[Hit]) -> int | None:
    """1-based rank of the first correct hit, or None."""
    for rank, hit in enumerate(hits, 1):
        if gold.judge(hit.text):
            return rank
    return None


@dataclass(frozen=True, slots=True)
class Metrics:
    questions: int
    answerable: int
    unanswerable: int
    recall: dict[int, float]  # over answerable questions
    mrr: float  # MRR@10 over answerable questions
    no_hits: float  # share of all questions with no hit
    unanswerable_no_hits: float | None  # share of unanswerable questions left without hits
    answerable_no_hits: float | None  # share of answerable questions that lost every hit
    outcomes: dict[str, float]  # share of all questions per outcome: answer, related, none
    unanswerable_answered: float | None  # share of unanswerable questions given an "answer"
    latency_p50_ms: float
    latency_p95_ms: float
    misses: list[str] = field(default_factory=list)  # ids answerable but not in the top 10

    def as_dict(self) -> dict:
        return {
            "questions": self.questions,
            "answerable": self.answerable,
            "unanswerable": self.unanswerable,
            **{f"recall@{k}": round(v, 4) for k, v in self.recall.items()},
            f"mrr@{MRR_AT}": round(self.mrr, 4),
            "no_hits": round(self.no_hits, 4),
            "unanswerable_no_hits": _round(self.unanswerable_no_hits),
            "answerable_no_hits": _round(self.answerable_no_hits),
            **{f"outcome_{name}": round(v, 4) for name, v in self.outcomes.items()},
            "unanswerable_answered": _round(self.unanswerable_answered),
            "latency_p50_ms": round(self.latency_p50_ms, 3),
            "latency_p95_ms": round(self.latency_p95_ms, 3),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def metrics(outcomes: Sequence[Outcome]) -> Metrics:
    """Recall@1/5/10 and MRR@10 over answerable questions, no-hit shares, latency."""
    answerable = [o for o in outcomes if o.question.answerable]
    unanswerable = [o for o in outcomes if not o.question.answerable]
    n = len(answerable)
    recall = {
        k: sum(o.first_correct is not None and o.first_correct <= k for o in answerable) / n
        if n
        else 0.0
        for k in RECALL_AT
    }
    mrr = (
        sum(
            1 / o.first_correct for o in answerable if o.first_correct and o.first_correct <= MRR_AT
        )
        / n
        if n
        else 0.0
    )
    times = sorted(o.seconds * 1000 for o in outcomes)
    return Metrics(
        questions=len(outcomes),
        answerable=n,
        unanswerable=len(unanswerable),
        recall=recall,
        mrr=mrr,
        no_hits=_share(o.n_hits == 0 for o in outcomes),
        unanswerable_no_hits=_share(o.n_hits == 0 for o in unanswerable) if unanswerable else None,
        answerable_no_hits=(_share(o.n_hits == 0 for o in answerable) if unanswerable else None),
        outcomes={name: _share(o.outcome == name for o in outcomes) for name in OUTCOMES},
        unanswerable_answered=(
            _share(o.outcome == "answer" for o in unanswerable) if unanswerable else None
        ),
        latency_p50_ms=percentile(times, 50),
        latency_p95_ms=percentile(times, 95),
        misses=[o.question.id for o in answerable if o.first_correct is None],
    )


def _share(flags: Iterable[bool]) -> float:
    values = list(flags)
    return sum(values) / len(values) if values else 0.0


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (0 for none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return float(sorted_values[rank - 1])


def dump_record(question: Question, hits: Sequence[Hit], outcome: str = "answer") -> dict:
    """One line of `--dump`: the form ../shared/eval/arcd_score.py reads, plus the outcome."""
    return {
        "id": question.id,
        "outcome": outcome,
        "hits": [{"text": h.text, "doc": h.source.doc, "score": round(h.score, 6)} for h in hits],
    }


def render_metrics(m: Metrics) -> str:
    lines = [
        f"questions: {m.questions}  answerable: {m.answerable}  unanswerable: {m.unanswerable}",
        "  ".join(f"R@{k}: {v:.3f}" for k, v in m.recall.items()) + f"  MRR@{MRR_AT}: {m.mrr:.3f}",
        f"no hits: {m.no_hits:.1%} of all questions",
        "outcomes: " + "  ".join(f"{name} {share:.1%}" for name, share in m.outcomes.items()),
    ]
    if m.unanswerable_no_hits is not None and m.answerable_no_hits is not None:
        lines.append(
            f"unanswerable with no hits: {m.unanswerable_no_hits:.1%}  "
            f"answerable that lost every hit: {m.answerable_no_hits:.1%}"
        )
    if m.unanswerable_answered is not None:
        lines.append(f"unanswerable given an answer: {m.unanswerable_answered:.1%}")
    lines.append(f"latency: p50 {m.latency_p50_ms:.2f} ms  p95 {m.latency_p95_ms:.2f} ms")
    return "\n".join(lines)
