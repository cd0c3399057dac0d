"""Compiled loops of the search hot path: scoring, top-k and the evidence look-ups.

Each kernel takes and returns plain numpy arrays and does exactly what the numpy
code it replaces does (retrieval/index.py, retrieval/search.py), in the same
floating-point order, so scores are equal to the bit and rankings identical
(tests/test_kernels.py runs both on random corpora). numpy spends ~18 ns per
posting on fancy-indexed scatter-adds plus a temporary array per step; a loop
compiled by numba reads each posting once at 1–3 ns and allocates only its result.

Importing numba costs 0.2–0.4 s, a loss for a corpus small enough that numpy
answers in a millisecond, so this module is imported only for an index of at
least `retrieval.index.COMPILED_FROM` sentences. Compiled code is cached on disk
(`cache=True`): in `__pycache__` beside this file when that folder is writable,
else in `NUMBA_CACHE_DIR`, else in the user's cache folder; the Docker image ships
it warm (Dockerfile). Without any writable cache folder the kernels are compiled
in each process (a few seconds on the first large question) instead of failing.
"""

from __future__ import annotations

import logging
import warnings

import numba
import numpy as np

log = logging.getLogger(__name__)


def _jit(function):  # type: ignore[no-untyped-def]
    """`numba.njit(cache=True, nogil=True)`, or uncached when no cache folder is writable.

    `nogil` lets the bot's worker threads answer two questions on two cores.
    """
    try:
        return numba.njit(cache=True, nogil=True)(function)
    except RuntimeError as error:  # "cannot cache function …: no locator available"
        log.warning("compiled search kernels are not cached (%s)", error)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return numba.njit(cache=False, nogil=True)(function)


# Sentences per block of the scatter-add: 64k float64 sums (512 KB) and flags stay in
# a core's L2 cache. At 5M sentences the whole buffer (39 MB) outgrew the caches and
# each posting cost ~28 ns instead of ~6 (benchmarks/RESULTS.md, "A 5M point").
SCORE_BLOCK = 1 << 16


@_jit
def score_terms(
    indptr: np.ndarray,
    post_docs: np.ndarray,
    post_weights: np.ndarray,
    term_ids: np.ndarray,
    weights: np.ndarray,
    buffer: np.ndarray,
    seen: np.ndarray,
    block: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(docs, scores) of every doc in the terms' postings: `SentenceIndex.score`.

    Sentence ids are taken in blocks of `block` (`SCORE_BLOCK`): each term's postings (sorted
    by id) are read up to the block's end, so the sums being added to stay in cache.
    Within a block each posting adds weight × impact into `buffer`, term after term
    as numpy does, so every sum is rounded alike. A doc not yet `seen` is listed
    once. Both buffers are all zero before and after (each block's sums are read
    out and cleared before the next): a one-byte flag, not a generation stamp,
    keeps the flags small enough to stay in cache.
    """
    n_terms = len(term_ids)
    cursor = np.empty(n_terms, dtype=np.int64)
    total = 0
    for i in range(n_terms):
        t = term_ids[i]
        total += indptr[t + 1] - indptr[t]
        cursor[i] = indptr[t]
    touched = np.empty(total, dtype=np.int32)
    sums = np.empty(total, dtype=np.float64)
    n = 0
    for lo in range(0, len(buffer), block):
        hi = lo + block
        first = n
        for i in range(n_terms):
            end = indptr[term_ids[i] + 1]
            weight = weights[i]
            p = cursor[i]
            while p < end:
                doc = post_docs[p]
                if doc >= hi:
                    break
                buffer[doc] += weight * post_weights[p]
                if not seen[doc]:
                    seen[doc] = 1
                    touched[n] = doc
                    n += 1
                p += 1
            cursor[i] = p
        for j in range(first, n):
            doc = touched[j]
            sums[j] = buffer[doc]
            buffer[doc] = 0.0
            seen[doc] = 0
    return touched[:n].copy(), sums[:n].copy()


@_jit
def top_positions(docs: np.ndarray, scores: np.ndarray, n: int) -> np.ndarray:
    """Positions of the `n` best of (docs, scores), best first, ties by doc id: `best_first`.

    One pass keeping the best so far in order (insertion into at most `n` slots);
    meant for small `n`, where a candidate rarely beats the n-th best.
    """
    m = min(n, len(docs))
    best = np.empty(max(m, 0), dtype=np.int64)
    if m <= 0:
        return best
    count = 0
    for i in range(len(docs)):
        score = scores[i]
        doc = docs[i]
        if count == m:
            worst = best[m - 1]
            if score < scores[worst] or (score == scores[worst] and doc > docs[worst]):
                continue
            j = m - 1
        else:
            j = count
            count += 1
        while j > 0:
            above = best[j - 1]
            if score > scores[above] or (score == scores[above] and doc < docs[above]):
                best[j] = above
                j -= 1
            else:
                break
        best[j] = i
    return best


@_jit
def _first_at_least(values: np.ndarray, lo: int, hi: int, x: int) -> int:
    """The first place in ascending values[lo:hi] holding x or more (hi if none), as
    np.searchsorted finds it."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if values[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@_jit
def _sorted_has(values: np.ndarray, lo: int, hi: int, x: int) -> bool:
    """Whether ascending values[lo:hi] holds x (a binary search; negative x never)."""
    if x < 0:
        return False
    at = _first_at_least(values, lo, hi, x)
    return at < hi and values[at] == x


@_jit
def _bits(n: int) -> int:
    bits = 0
    while n > 0:
        bits += 1
        n >>= 1
    return bits


@_jit
def evidence(
    indptr: np.ndarray,
    post_docs: np.ndarray,
    docs: np.ndarray,
    term_ids: np.ndarray,
    term_group: np.ndarray,
    term_dice: np.ndarray,
    n_groups: int,
    use_context: bool,
    prev_doc: np.ndarray,
    next_doc: np.ndarray,
    doc_source: np.ndarray,
    title_indptr: np.ndarray,
    title_sources: np.ndarray,
    marks: np.ndarray,
    source_marks: np.ndarray,
    slots: np.ndarray,
    bits: np.ndarray,
    source_bits: np.ndarray,
    generation: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(own, ctx, alike, last generation) for candidates `docs`, (groups × docs) each.

    A term with `term_dice` < 0 is one of its group's own spellings: `own` says the
    sentence holds it, `ctx` that its previous or next sentence or its document's
    title does (`ContextIndex.lookup`; `ctx` stays False without `use_context`). A
    term with a Dice ≥ 0 is a look-alike: `alike` keeps the largest Dice of those
    the sentence holds, where it does not hold one of the group's own spellings
    (else 0; own spellings must come first in `term_ids`). Per term, few probes
    against long postings binary-search them; many probes mark the postings once
    with a new generation in `marks` (shifted by one, so -1 reads the never-marked
    slot 0) and read one slot each, as `SentenceIndex.contains` does. Titles
    likewise, with `source_marks`. Many candidates and many look-alike terms (a slow
    question: 70,000 × 120) are answered the other way round: each candidate's
    place is written in `slots` under a fresh mark, then the look-alike postings
    are read once, n + postings instead of n × terms probes. Likewise, up to 64 own
    spellings looked up with their context for many candidates set one bit each in
    `bits` (per doc, shifted by one) and `source_bits` (per document, for titles),
    so each candidate reads three doc words and one document word in all, not three
    probes per term; both are all zero before and after (cleared from the postings).
    """
    n = len(docs)
    own = np.zeros((n_groups, n), dtype=np.bool_)
    ctx = np.zeros((n_groups, n), dtype=np.bool_)
    alike = np.zeros((n_groups, n), dtype=np.float64)
    probe_cost = 0
    scatter_cost = n
    for k in range(len(term_ids)):
        if term_dice[k] >= 0:
            length = indptr[term_ids[k] + 1] - indptr[term_ids[k]]
            scatter_cost += length
            probe_cost += min(length + n, n * _bits(length))
    scatter = scatter_cost < probe_cost
    own_terms = np.empty(len(term_ids), dtype=np.int64)
    n_own = 0
    mask_cost = 3 * n
    term_cost = 0
    for k in range(len(term_ids)):
        if term_dice[k] < 0:
            own_terms[n_own] = k
            n_own += 1
            length = indptr[term_ids[k] + 1] - indptr[term_ids[k]]
            titles = title_indptr[term_ids[k] + 1] - title_indptr[term_ids[k]] if use_context else 0
            mask_cost += 2 * (length + titles)
            term_cost += min(length + 3 * n, 3 * n * _bits(length))
            term_cost += min(titles + n, n * _bits(titles))
    masked = use_context and 0 < n_own <= 64 and mask_cost < term_cost
    if masked:
        for j in range(n_own):
            t = term_ids[own_terms[j]]
            bit = np.uint64(1) << np.uint64(j)
            for p in range(indptr[t], indptr[t + 1]):
                bits[post_docs[p] + 1] |= bit
            for p in range(title_indptr[t], title_indptr[t + 1]):
                source_bits[title_sources[p]] |= bit
        for i in range(n):
            doc = docs[i]
            held = bits[doc + 1]
            near = bits[prev_doc[doc] + 1] | bits[next_doc[doc] + 1] | source_bits[doc_source[doc]]
            if held == 0 and near == 0:
                continue
            for j in range(n_own):
                bit = np.uint64(1) << np.uint64(j)
                g = term_group[own_terms[j]]
                if held & bit:
                    own[g, i] = True
                if near & bit:
                    ctx[g, i] = True
        for j in range(n_own):
            t = term_ids[own_terms[j]]
            for p in range(indptr[t], indptr[t + 1]):
                bits[post_docs[p] + 1] = 0
            for p in range(title_indptr[t], title_indptr[t + 1]):
                source_bits[title_sources[p]] = 0
    for k in range(len(term_ids)):
        t = term_ids[k]
        g = term_group[k]
        dice = term_dice[k]
        if (dice >= 0 and scatter) or (dice < 0 and masked):
            continue
        lo = indptr[t]
        hi = indptr[t + 1]
        length = hi - lo
        around = use_context and dice < 0
        if length > 0:
            probes = 3 * n if around else n
            marked = probes * _bits(length) >= 4 * length
            if marked:
                generation += 1
                for p in range(lo, hi):
                    marks[post_docs[p] + 1] = generation
            for i in range(n):
                if dice >= 0 and own[g, i]:
                    continue  # a look-alike counts only where the term itself is missing
                doc = docs[i]
                if marked:
                    held = marks[doc + 1] == generation
                else:
                    held = _sorted_has(post_docs, lo, hi, doc)
                if dice >= 0:
                    if held and dice > alike[g, i]:
                        alike[g, i] = dice
                    continue
                if held:
                    own[g, i] = True
                if around and not ctx[g, i]:
                    before = prev_doc[doc]
                    after = next_doc[doc]
                    if marked:
                        near = marks[before + 1] == generation or marks[after + 1] == generation
                    else:
                        near = _sorted_has(post_docs, lo, hi, before) or _sorted_has(
                            post_docs, lo, hi, after
                        )
                    if near:
                        ctx[g, i] = True
        if not around:
            continue
        lo = title_indptr[t]
        hi = title_indptr[t + 1]
        length = hi - lo
        if length == 0:
            continue
        marked = n * _bits(length) >= 4 * length
        if marked:
            generation += 1
            for p in range(lo, hi):
                source_marks[title_sources[p]] = generation
        for i in range(n):
            if ctx[g, i]:
                continue
            source = doc_source[docs[i]]
            if marked:
                ctx[g, i] = source_marks[source] == generation
            else:
                ctx[g, i] = _sorted_has(title_sources, lo, hi, source)
    if scatter:
        generation += 1
        for i in range(n):
            marks[docs[i] + 1] = generation
            slots[docs[i]] = i
        for k in range(len(term_ids)):
            dice = term_dice[k]
            if dice < 0:
                continue
            t = term_ids[k]
            g = term_group[k]
            for p in range(indptr[t], indptr[t + 1]):
                doc = post_docs[p]
                if marks[doc + 1] == generation:
                    i = slots[doc]
                    if not own[g, i] and dice > alike[g, i]:
                        alike[g, i] = dice
    return own, ctx, alike, generation


@_jit
def neighbour_marked(
    candidates: np.ndarray,
    docs: np.ndarray,
    prev_doc: np.ndarray,
    next_doc: np.ndarray,
    marks: np.ndarray,
    generation: int,
) -> np.ndarray:
    """Which of `docs` have their previous or next sentence among `candidates`."""
    for doc in candidates:
        marks[doc + 1] = generation
    out = np.empty(len(docs), dtype=np.bool_)
    for i in range(len(docs)):
        doc = docs[i]
        out[i] = marks[prev_doc[doc] + 1] == generation or marks[next_doc[doc] + 1] == generation
    return out


def readonly(array: np.ndarray) -> np.ndarray:
    """A read-only view of `array` (no copy).

    numba compiles one version per argument type, and a writable array is another
    type than a read-only one: an index mapped from disk has read-only arrays, one
    built or edited in this process writable ones. Passing every index array
    read-only keeps it to one version of each kernel, the one `warm` caches.
    """
    if not array.flags.writeable:
        return array
    view = array.view()
    view.flags.writeable = False
    return view


def warm() -> None:
    """Load (or compile and cache) every kernel for the argument types search passes."""
    ints = readonly(np.array([0, 1], dtype=np.int32))
    offsets = readonly(np.array([0, 1, 2], dtype=np.int64))
    impacts = readonly(np.array([1.0, 2.0]))
    term_ids = np.array([0, 1], dtype=np.int64)
    buffer, seen = np.zeros(2), np.zeros(2, dtype=np.uint8)
    ones = np.ones(2)
    docs, scores = score_terms(offsets, ints, impacts, term_ids, ones, buffer, seen, SCORE_BLOCK)
    top_positions(docs, scores, 1)
    longs = np.array([0, 1], dtype=np.int64)
    candidate_evidence(offsets, ints, impacts, longs, term_ids, term_ids, 1, ints, ints, ints,
                       offsets, ints, term_ids, term_ids, ones)  # fmt: skip
    block_max_top(offsets, ints, impacts, 1, offsets, impacts, ints, impacts, term_ids,
                  ones, 1, -np.inf)  # fmt: skip
    marks = np.zeros(3, dtype=np.int32)
    neighbour_marked(docs, docs, ints, ints, marks, 1)
    dice = np.array([-1.0, 0.5])
    context_weight(offsets, ints, docs, term_ids, term_ids, np.ones(2), ints, ints, ints, offsets,
                   ints, np.zeros(3, dtype=np.uint64), np.zeros(2, dtype=np.uint64))  # fmt: skip
    evidence(offsets, ints, docs, term_ids, term_ids, dice, 1, True, ints, ints, ints, offsets,
             ints, marks, np.zeros(2, dtype=np.int32), np.zeros(2, dtype=np.int32),
             np.zeros(3, dtype=np.uint64), np.zeros(2, dtype=np.uint64), 1)  # fmt: skip


@_jit
def context_weight(
    indptr: np.ndarray,
    post_docs: np.ndarray,
    docs: np.ndarray,
    term_ids: np.ndarray,
    term_group: np.ndarray,
    group_weight: np.ndarray,
    prev_doc: np.ndarray,
    next_doc: np.ndarray,
    doc_source: np.ndarray,
    title_indptr: np.ndarray,
    title_sources: np.ndarray,
    bits: np.ndarray,
    source_bits: np.ndarray,
) -> np.ndarray:
    """Per candidate, the summed weight of the groups with a term in its context (the
    previous or next sentence, or its document's title), for at most 64 terms.

    A bound for search, not a score: the sum's order is not `_weighted`'s. Each term
    sets one bit in `bits` (per doc, shifted by one) and `source_bits` (per document),
    both all zero before and after.
    """
    n_terms = len(term_ids)
    group_bits = np.zeros(len(group_weight), dtype=np.uint64)
    for j in range(n_terms):
        t = term_ids[j]
        bit = np.uint64(1) << np.uint64(j)
        group_bits[term_group[j]] |= bit
        for p in range(indptr[t], indptr[t + 1]):
            bits[post_docs[p] + 1] |= bit
        for p in range(title_indptr[t], title_indptr[t + 1]):
            source_bits[title_sources[p]] |= bit
    out = np.zeros(len(docs), dtype=np.float64)
    for i in range(len(docs)):
        doc = docs[i]
        near = bits[prev_doc[doc] + 1] | bits[next_doc[doc] + 1] | source_bits[doc_source[doc]]
        if near == 0:
            continue
        total = 0.0
        for g in range(len(group_weight)):
            if near & group_bits[g]:
                total += group_weight[g]
        out[i] = total
    for j in range(n_terms):
        t = term_ids[j]
        for p in range(indptr[t], indptr[t + 1]):
            bits[post_docs[p] + 1] = 0
        for p in range(title_indptr[t], title_indptr[t + 1]):
            source_bits[title_sources[p]] = 0
    return out


# Relative slack on a bound before it may rule a sentence out: a bound is summed in
# another order than the score, so its last bit may round the other way.
BOUND_SLACK = 1e-12


@_jit
def _advance(
    post_docs: np.ndarray,
    p: int,
    end: int,
    target: int,
    block: int,
    first_post: int,
    first_block: int,
    end_block: int,
    block_last: np.ndarray,
) -> tuple[int, int]:
    """(the first posting at or after `p`, up to `end`, of a sentence ≥ `target`;
    postings compared on the way): whole blocks ending before `target` are skipped
    by their last id, then the rest of the block is scanned."""
    b = first_block + (p - first_post) // block
    moved = False
    while b < end_block and block_last[b] < target:
        b += 1
        moved = True
    if b == end_block:
        return end, 0
    if moved:
        p = max(p, first_post + (b - first_block) * block)
    scanned = 0
    while p < end and post_docs[p] < target:
        p += 1
        scanned += 1
    return p, scanned


@_jit
def _move_up_to_pivot(
    terms: np.ndarray,
    target: int,
    pos: np.ndarray,
    end: np.ndarray,
    doc: np.ndarray,
    done: int,
    term_ids: np.ndarray,
    indptr: np.ndarray,
    post_docs: np.ndarray,
    block: int,
    block_indptr: np.ndarray,
    block_last: np.ndarray,
) -> int:
    """Move each of `terms` still before `target` to its first sentence ≥ `target`;
    returns the postings compared."""
    read = 0
    for i in terms:
        if doc[i] >= target:
            continue
        t = term_ids[i]
        p, scanned = _advance(post_docs, pos[i], end[i], target, block, indptr[t],
                              block_indptr[t], block_indptr[t + 1], block_last)  # fmt: skip
        read += scanned
        pos[i] = p
        doc[i] = post_docs[p] if p < end[i] else done
    return read


@_jit
def block_max_top(
    indptr: np.ndarray,
    post_docs: np.ndarray,
    post_weights: np.ndarray,
    block: int,
    block_indptr: np.ndarray,
    block_high: np.ndarray,
    block_last: np.ndarray,
    term_high: np.ndarray,
    term_ids: np.ndarray,
    weights: np.ndarray,
    n: int,
    floor: float,
) -> tuple[np.ndarray, np.ndarray, int]:
    """The `n` best (docs, scores), best first, ties by doc id, and the postings read:
    `best_first(*score(term_ids, weights), n)` by Block-Max WAND (Ding & Suel, 2011),
    of the sentences scoring above `floor` (-inf: all).

    Sentences are visited in id order. With the terms sorted by their next sentence,
    the *pivot* is the first sentence where the terms' largest weighted impacts add
    up past the n-th best score so far; no sentence before it can enter. If the
    block maxima of the terms up to the pivot cannot pass it either, every sentence
    up to the end of the shortest of those blocks is skipped unread. A sentence that
    is scored sums its terms in `term_ids` order, as `score_terms` does, so scores
    are equal to the bit. Weights must be ≥ 0 (look-alike terms have Dice > 0).
    """
    n_terms = len(term_ids)
    out_docs = np.empty(max(n, 0), dtype=np.int32)
    out_scores = np.empty(max(n, 0), dtype=np.float64)
    count = 0
    read = 0
    if n <= 0 or n_terms == 0:
        return out_docs[:0], out_scores[:0], read
    done = np.int64(1) << np.int64(40)
    pos = np.empty(n_terms, dtype=np.int64)
    end = np.empty(n_terms, dtype=np.int64)
    doc = np.empty(n_terms, dtype=np.int64)
    upper = np.empty(n_terms, dtype=np.float64)
    order = np.empty(n_terms, dtype=np.int64)
    for i in range(n_terms):
        t = term_ids[i]
        pos[i] = indptr[t]
        end[i] = indptr[t + 1]
        doc[i] = post_docs[pos[i]] if pos[i] < end[i] else done
        upper[i] = weights[i] * term_high[t]
        order[i] = i
    for i in range(1, n_terms):  # insertion sort by next sentence
        j = i
        while j > 0 and doc[order[j - 1]] > doc[order[j]]:
            order[j - 1], order[j] = order[j], order[j - 1]
            j -= 1
    while True:
        threshold = out_scores[count - 1] if count == n else floor
        pivot = -1
        total = 0.0
        for j in range(n_terms):
            i = order[j]
            if doc[i] >= done:
                break
            total += upper[i]
            if total * (1.0 + BOUND_SLACK) > threshold:
                pivot = j
                break
        if pivot < 0:
            break
        target = doc[order[pivot]]
        while pivot + 1 < n_terms and doc[order[pivot + 1]] == target:
            pivot += 1
        # Block maxima of the terms up to the pivot, at the blocks that could hold it.
        bound = 0.0
        skip_to = done
        if pivot + 1 < n_terms:
            skip_to = doc[order[pivot + 1]]
        for j in range(pivot + 1):
            i = order[j]
            t = term_ids[i]
            b = block_indptr[t] + (pos[i] - indptr[t]) // block
            while b < block_indptr[t + 1] and block_last[b] < target:
                b += 1
            if b == block_indptr[t + 1]:
                continue  # no posting left at or past the pivot
            bound += weights[i] * block_high[b]
            if block_last[b] + 1 < skip_to:
                skip_to = block_last[b] + 1
        if bound * (1.0 + BOUND_SLACK) <= threshold:
            # nothing in [target, skip_to) can enter
            read += _move_up_to_pivot(
                order[: pivot + 1], skip_to, pos, end, doc, done, term_ids, indptr, post_docs,
                block, block_indptr, block_last,
            )  # fmt: skip
        elif doc[order[0]] == target:
            score = 0.0
            for i in range(n_terms):  # term_ids order: the sum rounds as score_terms'
                if doc[i] == target:
                    score += weights[i] * post_weights[pos[i]]
            if score > threshold:  # a tie loses: its smaller id came first
                j = count if count < n else n - 1
                if count < n:
                    count += 1
                while j > 0 and score > out_scores[j - 1]:
                    out_docs[j] = out_docs[j - 1]
                    out_scores[j] = out_scores[j - 1]
                    j -= 1
                out_docs[j] = target
                out_scores[j] = score
            for i in range(n_terms):
                if doc[i] == target:
                    pos[i] += 1
                    read += 1
                    doc[i] = post_docs[pos[i]] if pos[i] < end[i] else done
        else:
            # no sentence before the pivot can enter
            read += _move_up_to_pivot(
                order[: pivot + 1], target, pos, end, doc, done, term_ids, indptr, post_docs,
                block, block_indptr, block_last,
            )  # fmt: skip
        for a in range(1, n_terms):  # nearly sorted: insertion sort is linear
            j = a
            while j > 0 and doc[order[j - 1]] > doc[order[j]]:
                order[j - 1], order[j] = order[j], order[j - 1]
                j -= 1
    return out_docs[:count].copy(), out_scores[:count].copy(), read


@_jit
def candidate_evidence(
    indptr: np.ndarray,
    post_docs: np.ndarray,
    post_weights: np.ndarray,
    docs: np.ndarray,
    term_ids: np.ndarray,
    term_group: np.ndarray,
    n_groups: int,
    prev_doc: np.ndarray,
    next_doc: np.ndarray,
    doc_source: np.ndarray,
    title_indptr: np.ndarray,
    title_sources: np.ndarray,
    alike_ids: np.ndarray,
    alike_group: np.ndarray,
    alike_dice: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(own, title, near, bm25, alike) of the re-ranker's few candidates
    (retrieval/features.py), each term's postings binary-searched per candidate.

    Per group × candidate: the sentence holds one of the group's spellings (`own`),
    its document's title does (`title`), how many of its two neighbours do (`near`,
    0–2), the largest Dice of the group's look-alike terms it holds (`alike`);
    per candidate, the summed impacts of the spellings it holds (`bm25`), added
    term after term as the numpy code adds them.
    """
    n = len(docs)
    own = np.zeros((n_groups, n), dtype=np.bool_)
    title = np.zeros((n_groups, n), dtype=np.bool_)
    before = np.zeros((n_groups, n), dtype=np.bool_)
    after = np.zeros((n_groups, n), dtype=np.bool_)
    bm25 = np.zeros(n, dtype=np.float64)
    for k in range(len(term_ids)):
        t = term_ids[k]
        g = term_group[k]
        lo = indptr[t]
        hi = indptr[t + 1]
        if lo == hi:
            continue  # a term whose last sentence an edit removed
        title_lo = title_indptr[t]
        title_hi = title_indptr[t + 1]
        for i in range(n):
            doc = docs[i]
            a = _first_at_least(post_docs, lo, hi, doc)
            if a < hi and post_docs[a] == doc:
                own[g, i] = True
                bm25[i] += post_weights[a]
            else:
                bm25[i] += 0.0
            if _sorted_has(post_docs, lo, hi, prev_doc[doc]):
                before[g, i] = True
            if _sorted_has(post_docs, lo, hi, next_doc[doc]):
                after[g, i] = True
            if title_lo < title_hi and _sorted_has(
                title_sources, title_lo, title_hi, doc_source[doc]
            ):
                title[g, i] = True
    near = np.zeros((n_groups, n), dtype=np.float64)
    for g in range(n_groups):
        for i in range(n):
            near[g, i] = (1.0 if before[g, i] else 0.0) + (1.0 if after[g, i] else 0.0)
    alike = np.zeros((n_groups, n), dtype=np.float64)
    for k in range(len(alike_ids)):
        t = alike_ids[k]
        g = alike_group[k]
        for i in range(n):
            held = _sorted_has(post_docs, indptr[t], indptr[t + 1], docs[i])
            value = alike_dice[k] * (1.0 if held else 0.0)
            if value > alike[g, i]:
                alike[g, i] = value
    return own, title, near, bm25, alike
