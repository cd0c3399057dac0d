"""Block maxima of the postings, so a top-k can skip what cannot reach it.

Each term's postings are cut into blocks of `BLOCK` postings; per block, the
largest impact and the last sentence id it holds. A top-k search
(`kernels.block_max_top`, Block-Max WAND) then skips every run of sentences whose
terms' block maxima together stay under the k-th best score found so far, without
reading those postings. A block of 64 postings is Lucene's and PISA's usual size:
smaller blocks give tighter bounds but more of them to read.

Derived from the postings on first use (a pass over the impacts, ~20 ms a
million sentences), not stored with the index: every edit would have to keep
them in step, and they cost one strided read to make.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BLOCK = 64


@dataclass(frozen=True, slots=True)
class BlockMaxima:
    size: int  # postings per block (the last block of a term may hold fewer)
    indptr: np.ndarray  # int64 per term + 1: the term's blocks
    high: np.ndarray  # float64 per block: its largest impact
    last: np.ndarray  # int32 per block: its last (largest) sentence id
    term_high: np.ndarray  # float64 per term: its largest impact (0 without postings)


def block_maxima(
    indptr: np.ndarray, post_docs: np.ndarray, post_weights: np.ndarray, size: int = BLOCK
) -> BlockMaxima:
    """The block maxima of postings laid out as `SentenceIndex` holds them."""
    lengths = np.diff(indptr)
    counts = (lengths + size - 1) // size
    block_indptr = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=block_indptr[1:])
    n_blocks = int(block_indptr[-1])
    # Block b of term t starts at indptr[t] + size × (b − block_indptr[t]).
    owner = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    starts = indptr[:-1][owner] + size * (np.arange(n_blocks, dtype=np.int64) - block_indptr[owner])
    ends = np.minimum(starts + size, indptr[1:][owner])
    impacts = post_weights[: int(indptr[-1])]
    high = np.maximum.reduceat(impacts, starts) if n_blocks else np.empty(0)
    term_high = np.zeros(len(counts), dtype=np.float64)
    if n_blocks:
        term_high[counts > 0] = np.maximum.reduceat(high, block_indptr[:-1][counts > 0])
    return BlockMaxima(
        size=size,
        indptr=block_indptr,
        high=np.ascontiguousarray(high, dtype=np.float64),
        last=np.ascontiguousarray(post_docs[ends - 1], dtype=np.int32),
        term_high=term_high,
    )
