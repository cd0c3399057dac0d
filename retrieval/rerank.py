"""Second stage of ranking: a small learned model re-orders the first stage's best few dozen.

The first stage (retrieval/search.py) decides which sentences are relevant at all
and ranks them by hand-weighted evidence. This stage re-scores its `depth` best
with a linear model over the features of retrieval/features.py, trained on ARCD
dev and the seed questions with cross-validation by
`benchmarks/train_ranker.py` (folds and numbers in benchmarks/quality.md). It
only re-orders: the set of hits, the relevance cut-off and BM25 itself are the
first stage's. Hits past `depth` keep their first-stage order after the head, so
every page of a question comes from the same re-ordered list.

The model is a JSON file (`ranker.json` beside this module): feature names,
their training mean and scale, and one weight each. Scoring is a dot product.
It also holds `related_under`: on ARCD dev, out of fold, lists whose best
re-ranked score was that low almost never had the answer first, so search shows
such a list as related sentences, not as the answer (benchmarks/quality.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np

from retrieval.features import FEATURES, Candidates, features

MODEL_PATH = Path(__file__).with_name("ranker.json")


class ModelFileError(ValueError):
    """The ranker model file cannot be used; the message names the file."""


class Reranker(Protocol):
    depth: int
    related_under: float  # a best re-ranked score under this makes an answer "related"

    def rerank(self, candidates: Candidates) -> tuple[np.ndarray, np.ndarray]:
        """(docs, scores) of the candidates' head, best first."""
        ...


@dataclass(frozen=True, slots=True)
class LinearRanker:
    """score = weights · (features - mean) / scale over the first `depth` candidates."""

    depth: int
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    related_under: float = -np.inf

    def score(self, matrix: np.ndarray) -> np.ndarray:
        return ((matrix - self.mean) / self.scale) @ self.weights

    def rerank(self, candidates: Candidates) -> tuple[np.ndarray, np.ndarray]:
        scores = self.score(features(candidates))
        order = np.lexsort((candidates.docs, -scores))
        return candidates.docs[order], scores[order]

    def to_json(self) -> dict:
        return {
            "kind": "linear",
            "depth": self.depth,
            "features": list(FEATURES),
            "mean": self.mean.round(10).tolist(),
            "scale": self.scale.round(10).tolist(),
            "weights": self.weights.round(10).tolist(),
            "related_under": None if np.isinf(self.related_under) else self.related_under,
        }

    @classmethod
    def from_json(cls, data: dict, where: str = "model") -> LinearRanker:
        if data.get("kind") != "linear":
            raise ModelFileError(f"{where}: kind must be 'linear', not {data.get('kind')!r}")
        if tuple(data.get("features", ())) != FEATURES:
            raise ModelFileError(
                f"{where}: trained on features {data.get('features')}, this code computes "
                f"{list(FEATURES)}; retrain with benchmarks/train_ranker.py"
            )
        arrays = [np.asarray(data[key], dtype=np.float64) for key in ("mean", "scale", "weights")]
        if any(a.shape != (len(FEATURES),) for a in arrays) or (arrays[1] <= 0).any():
            raise ModelFileError(f"{where}: mean, scale and weights need one number per feature")
        related_under = data.get("related_under")
        if related_under is not None and not isinstance(related_under, int | float):
            raise ModelFileError(f"{where}: related_under must be a number or null")
        return cls(
            int(data["depth"]),
            *arrays,
            -np.inf if related_under is None else float(related_under),
        )


def rerank_head(ranker: Reranker, candidates: Candidates) -> tuple[np.ndarray, np.ndarray]:
    """Every candidate, the first `ranker.depth` re-ordered by the model, the rest after them.

    Scores of the rest are shifted under the head's lowest so the list stays sorted.
    """
    docs, scores = candidates.docs, candidates.scores
    depth = min(ranker.depth, len(docs))
    head = Candidates(**{**_fields(candidates), "docs": docs[:depth], "scores": scores[:depth]})
    head_docs, head_scores = ranker.rerank(head)
    if depth == len(docs):
        return head_docs, head_scores
    tail = scores[depth:]
    tail_scores = float(head_scores.min()) - 1.0 - (float(tail[0]) - tail)
    return np.concatenate((head_docs, docs[depth:])), np.concatenate((head_scores, tail_scores))


def _fields(candidates: Candidates) -> dict:
    return {name: getattr(candidates, name) for name in Candidates.__slots__}


@cache
def default_ranker() -> LinearRanker:
    """The shipped model, read once per process."""
    try:
        data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{MODEL_PATH}: cannot be read: {exc}") from exc
    return LinearRanker.from_json(data, str(MODEL_PATH))
