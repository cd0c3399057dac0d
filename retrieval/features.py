"""What the re-ranker knows about a (question, candidate sentence) pair.

The first stage (retrieval/search.py) adds up its evidence with hand-set weights.
The second stage (retrieval/rerank.py) sees the same evidence split into parts,
plus what the first stage cannot afford over every candidate: where the
question's words sit inside the sentence, where the sentence stands in its
document and how much of the rest of the list comes from the same document.
Every feature is a plain number per candidate, computed for the few dozen best
candidates only, from the index's arrays and the candidate's own text (numpy
only, deterministic).

Weights are IDF weights of the question's distinct terms as search sets them
(`_TermGroup.weight`); shares are fractions of their sum.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

import numpy as np

from retrieval.context import ContextIndex, context_of, member
from retrieval.index import SentenceIndex
from retrieval.normalize import current_form_table
from retrieval.qtype import Asks, evidence_flags

# Order of the columns of `features()`; the model file names them (retrieval/rerank.py).
FEATURES = (
    "score_rel",  # first-stage score / the best one's
    "score_gap",  # (best score - this one) / question weight
    "inv_rank",  # 1 / first-stage rank
    "held",  # share of the weight the sentence itself holds
    "held_count",  # share of the distinct terms it holds, unweighted
    "bm25",  # BM25 of the question's own terms in the sentence / question weight
    "alike",  # share held only through a look-alike or same-root term, × its Dice
    "title",  # share held by the document's title
    "neighbours",  # share held by the previous or next sentence
    "context_only",  # share held by title or neighbours but not the sentence
    "context_field",  # title and neighbours as one field, saturated per term (BM25F-like)
    "missing",  # heaviest term held nowhere (sentence, title, neighbours) / weight
    "kind",  # asks where/when/how many and the sentence names a place/date/number
    "log_len",  # log of the sentence's number of terms
    "first",  # the sentence opens its document
    "log_pos",  # log(1 + position in its document)
    "doc_share",  # share of the list's score mass held by the same document
    "doc_top",  # same document as the first-stage best
    "window",  # terms held / shortest span of the sentence holding them all
)
# How much one neighbour counts against the title in `context_field`, and its saturation.
NEIGHBOUR_SHARE = 0.5
FIELD_K = 1.0


@dataclass(frozen=True, slots=True)
class Candidates:
    """The first stage's best candidates of one question, best first, and the question."""

    index: SentenceIndex
    terms: tuple[str, ...]  # the analyzed question
    group_terms: tuple[str, ...]  # distinct question terms, in order
    group_ids: tuple[tuple[int, ...], ...]  # corpus spellings (term ids) of each
    weights: np.ndarray  # float64 per distinct term: its IDF weight
    alike: tuple[tuple[int, int, float], ...]  # (term, look-alike term id, Dice)
    docs: np.ndarray  # bm25 doc ids, first-stage order
    scores: np.ndarray  # first-stage scores
    kind: Asks | None  # what the question asks for, if it says


def features(c: Candidates) -> np.ndarray:
    """(len(docs), len(FEATURES)) float64 matrix, columns in FEATURES order."""
    index, docs, weights = c.index, c.docs, c.weights
    n, n_groups = len(docs), len(weights)
    if not n:
        return np.zeros((0, len(FEATURES)))
    total = float(weights.sum()) or 1.0
    context = context_of(index)
    source = context.doc_source[docs]
    kernels = index.kernels()
    if kernels is not None:
        own, title, near, bm25, partial = _compiled_evidence(kernels, c, context)
    else:
        own, title, near, bm25, partial = _evidence(c, context, source)
    partial[own] = 0.0
    around = title | (near > 0)
    field = title + NEIGHBOUR_SHARE * near
    saturated = field / (field + FIELD_K)
    anywhere = own | around | (partial > 0)
    unmatched = np.where(anywhere, 0.0, weights[:, None])

    scores = c.scores
    best = float(scores[0]) if scores[0] > 0 else 1.0
    rel = scores / best
    mass = np.zeros(len(index.sources))
    np.add.at(mass, source, rel)
    flags = evidence_flags(index)[c.kind][docs] if c.kind is not None else np.zeros(n, dtype=bool)
    rows = index.doc_rows[docs]
    position = index.sent_pos[rows].astype(np.float64)
    window = _windows(c, rows, own.sum(axis=0) >= 2)
    columns = {
        "score_rel": rel,
        "score_gap": (best - scores) / total,
        "inv_rank": 1.0 / np.arange(1, n + 1),
        "held": weights @ own / total,
        "held_count": own.mean(axis=0) if n_groups else np.zeros(n),
        "bm25": bm25 / total,
        "alike": weights @ partial / total,
        "title": weights @ title / total,
        "neighbours": weights @ (near > 0) / total,
        "context_only": weights @ (around & ~own) / total,
        "context_field": weights @ saturated / total,
        "missing": unmatched.max(axis=0, initial=0.0) / total,
        "kind": flags.astype(np.float64),
        "log_len": np.log(np.maximum(index.doc_len[docs], 1)),
        "first": (position == 0).astype(np.float64),
        "log_pos": np.log1p(position),
        "doc_share": mass[source] / max(float(mass.sum()), 1e-12),
        "doc_top": (source == source[0]).astype(np.float64),
        "window": window,
    }
    return np.column_stack([columns[name] for name in FEATURES])


def _evidence(
    c: Candidates, context: ContextIndex, source: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(own, title, near, bm25, alike) of the candidates, as `kernels.candidate_evidence`."""
    index, docs = c.index, c.docs
    n, n_groups = len(docs), len(c.weights)
    own = np.zeros((n_groups, n), dtype=bool)
    title = np.zeros_like(own)
    near = np.zeros((n_groups, n), dtype=np.float64)  # neighbours holding it: 0, 1 or 2
    bm25 = np.zeros(n)
    neighbours = np.concatenate((context.prev_doc[docs], context.next_doc[docs]))
    for g, ids in enumerate(c.group_ids):
        before = np.zeros(n, dtype=bool)
        after = np.zeros(n, dtype=bool)
        for term_id in ids:
            post, impacts = index.postings(term_id)
            if not len(post):  # a term whose last sentence an edit removed
                continue
            at = np.minimum(np.searchsorted(post, docs), len(post) - 1)
            holds = post[at] == docs
            own[g] |= holds
            bm25 += np.where(holds, impacts[at], 0.0)
            around_found = index.contains(term_id, neighbours)
            before |= around_found[:n]
            after |= around_found[n:]
            titles = context.title_postings(term_id)
            if len(titles):
                title[g] |= member(titles, source)
        near[g] = before.astype(np.float64) + after
    partial = np.zeros((n_groups, n))
    for g, term_id, dice in c.alike:
        partial[g] = np.maximum(partial[g], dice * index.contains(term_id, docs))
    return own, title, near, bm25, partial


def _compiled_evidence(
    kernels: ModuleType, c: Candidates, context: ContextIndex
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    index = c.index
    ro = kernels.readonly
    pairs = [(g, t) for g, ids in enumerate(c.group_ids) for t in ids]
    return kernels.candidate_evidence(
        ro(index.indptr),
        ro(index.post_docs),
        ro(index.post_weights),
        np.asarray(c.docs, dtype=np.int64),
        np.array([t for _, t in pairs], dtype=np.int64),
        np.array([g for g, _ in pairs], dtype=np.int64),
        len(c.weights),
        ro(context.prev_doc),
        ro(context.next_doc),
        ro(context.doc_source),
        ro(context.title_indptr),
        ro(context.title_sources),
        np.array([t for _, t, _ in c.alike], dtype=np.int64),
        np.array([g for g, _, _ in c.alike], dtype=np.int64),
        np.array([d for _, _, d in c.alike], dtype=np.float64),
    )


def _windows(c: Candidates, rows: np.ndarray, several: np.ndarray) -> np.ndarray:
    """Per candidate: distinct question terms held / the shortest span of its terms holding
    them all (1.0 when they stand side by side; 0 when it holds fewer than two, which
    `several` already tells without reading the sentence).

    Sentences are analyzed into the form table's term numbers (`analyze` with the
    strings left out), and each number's question term is looked up once per question.
    """
    wanted = {term: g for g, term in enumerate(c.group_terms)}
    by_id = {i: g for g, ids in enumerate(c.group_ids) for i in ids}
    vocab = c.index.vocab
    table = current_form_table()
    group_of: dict[int, int] = {}  # term number -> question term, or -1
    window = np.zeros(len(rows))
    for i in np.flatnonzero(several):
        numbers: list[int] = []
        table.analyze(c.index.texts[int(rows[i])], numbers)
        positions = []
        for p, number in enumerate(numbers):
            g = group_of.get(number)
            if g is None:
                term = table.terms[number]
                g = wanted.get(term)
                if g is None:
                    g = by_id.get(vocab.get(term, -1), -1)
                group_of[number] = g
            if g >= 0:
                positions.append((p, g))
        window[i] = _compactness(positions)
    return window


def _compactness(positions: list[tuple[int, int]]) -> float:
    """Distinct terms / length of the shortest run of positions holding every matched term."""
    distinct = len({g for _, g in positions})
    if distinct < 2:
        return 0.0
    best = None
    counts: dict[int, int] = {}
    have = 0
    lo = 0
    for hi in range(len(positions)):
        g = positions[hi][1]
        counts[g] = counts.get(g, 0) + 1
        if counts[g] == 1:
            have += 1
        while have == distinct:
            span = positions[hi][0] - positions[lo][0] + 1
            best = span if best is None else min(best, span)
            h = positions[lo][1]
            counts[h] -= 1
            if counts[h] == 0:
                have -= 1
            lo += 1
    return distinct / best if best else 0.0
