"""Answering a question: analyze it, score sentences, keep the relevant ones, cite them.

Relevance rule: a sentence is returned only if it holds enough of the question.
Each distinct question term weighs its IDF (a term no sentence holds weighs the
most a term can); a sentence's *coverage* is the share of that weight its terms
match. Sentences under `min_coverage` are dropped, so a question about something
the corpus never mentions gets no hits instead of the best of the noise, and a
sentence matching only a common word ("روسيا") does not answer a question about
the interpreter's name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from retrieval.index import SentenceIndex, missing_term_idf
from retrieval.models import Hit
from retrieval.normalize import analyze, iter_word_spans, normalize, term_of, tokenize
from retrieval.variants import spelling_variants

DEFAULT_MIN_COVERAGE = 0.4


@dataclass(frozen=True, slots=True)
class SearchResult:
    question: str
    terms: tuple[str, ...]  # the analyzed question, as searched
    hits: list[Hit]
    has_more: bool  # more relevant hits exist past this page


@dataclass(frozen=True, slots=True)
class _TermGroup:
    """A question term and the spellings of it the corpus uses (جونج / جونغ)."""

    term_ids: tuple[int, ...]
    weight: float


def search(
    index: SentenceIndex,
    question: str,
    k: int = 5,
    offset: int = 0,
    min_coverage: float = DEFAULT_MIN_COVERAGE,
) -> SearchResult:
    """The relevant hits ranked offset+1 … offset+k for `question`."""
    terms = analyze(question)
    groups = _term_groups(index, terms)
    query_ids = [tid for term in terms for tid in _ids_for(index, term)]
    docs, scores = index.score(query_ids)
    if len(docs) == 0:
        return SearchResult(question, tuple(terms), [], False)
    order = np.lexsort((docs, -scores))  # best first; ties by corpus order, stable
    docs, scores = docs[order], scores[order]
    coverage = _coverage(index, groups, docs)
    keep = coverage >= min_coverage
    docs, scores = docs[keep], scores[keep]
    page_docs = docs[offset : offset + k]
    matched = _highlight_terms(index, terms)
    hits = [
        _hit(index, offset + i + 1, float(scores[offset + i]), int(doc), matched)
        for i, doc in enumerate(page_docs)
    ]
    return SearchResult(question, tuple(terms), hits, len(docs) > offset + k)


def _ids_for(index: SentenceIndex, term: str) -> list[int]:
    ids = index.term_ids([term])
    ids += index.term_ids(v for v in spelling_variants(term) if v != term)
    return ids


def _term_groups(index: SentenceIndex, terms: list[str]) -> list[_TermGroup]:
    groups = []
    for term in dict.fromkeys(terms):
        ids = tuple(_ids_for(index, term))
        weight = max((float(index.idf[i]) for i in ids), default=missing_term_idf(index.n_docs))
        groups.append(_TermGroup(ids, max(weight, 0.0)))
    return groups


def _coverage(index: SentenceIndex, groups: list[_TermGroup], docs: np.ndarray) -> np.ndarray:
    total = sum(g.weight for g in groups)
    if total <= 0:
        return np.ones(len(docs))
    covered = np.zeros(len(docs))
    for group in groups:
        held = np.zeros(len(docs), dtype=bool)
        for term_id in group.term_ids:
            held |= index.contains(term_id, docs)
        covered += held * group.weight
    return covered / total


def _highlight_terms(index: SentenceIndex, terms: list[str]) -> set[str]:
    """The question's terms plus the corpus spellings they were matched through."""
    matched = set(terms)
    for term in terms:
        matched.update(v for v in spelling_variants(term) if v in index.vocab)
    return matched


def _hit(index: SentenceIndex, rank: int, score: float, doc: int, matched: set[str]) -> Hit:
    rows = index.rows_of(doc)
    sentence = index.sentence(int(rows[0]))
    sources = tuple(dict.fromkeys(index.sources[int(index.sent_doc[r])] for r in rows))
    return Hit(
        rank=rank,
        score=score,
        sentence=sentence,
        sources=sources,
        highlights=highlight_spans(sentence.text, matched),
    )


def highlight_spans(text: str, terms: set[str]) -> tuple[tuple[int, int], ...]:
    """Character spans of the words of `text` whose index term is one of `terms`."""
    spans = []
    for start, end, word in iter_word_spans(text):
        for token in tokenize(normalize(word)):
            if term_of(token) in terms:
                spans.append((start, end))
                break
    return tuple(spans)
