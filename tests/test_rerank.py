"""The second ranking stage: a learned model re-orders the first stage's best sentences."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from retrieval.features import FEATURES, _compactness
from retrieval.index import SentenceIndex, build_index
from retrieval.models import Document, Source
from retrieval.rerank import MODEL_PATH, LinearRanker, ModelFileError, default_ranker
from retrieval.search import DEFAULT_RANKING, search

QUESTIONS = [
    "أين عقدت القمة بين كيم وبوتين؟",
    "كم ثانية استمرت المصافحة بين بوتين وكيم؟",
    "ماذا قال كيم عن الإمبريالية؟",
    "كوريا الشمالية",
]


def _only(feature: str, weight: float = 1.0, depth: int = 20) -> LinearRanker:
    """A model that scores by one feature alone."""
    weights = np.zeros(len(FEATURES))
    weights[FEATURES.index(feature)] = weight
    return LinearRanker(depth, np.zeros(len(FEATURES)), np.ones(len(FEATURES)), weights)


def test_the_shipped_model_matches_the_features_this_code_computes() -> None:
    model = default_ranker()
    data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    assert tuple(data["features"]) == FEATURES
    assert model.depth >= 5
    assert LinearRanker.from_json(model.to_json()).to_json() == model.to_json()


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"kind": "trees"}, "kind must be 'linear'"),
        ({"features": ["score_rel"]}, "retrain with benchmarks/train_ranker.py"),
        ({"scale": [0.0] * len(FEATURES)}, "one number per feature"),
        ({"weights": [1.0]}, "one number per feature"),
        ({"related_under": "low"}, "related_under must be a number"),
    ],
)
def test_a_broken_model_file_is_refused_naming_it(change: dict, complaint: str) -> None:
    data = {**default_ranker().to_json(), **change}
    with pytest.raises(ModelFileError, match=complaint) as caught:
        LinearRanker.from_json(data, "somewhere/ranker.json")
    assert "somewhere/ranker.json" in str(caught.value)


@pytest.mark.parametrize("question", QUESTIONS)
def test_reranking_only_reorders_the_relevant_sentences(
    seed_index: SentenceIndex, question: str
) -> None:
    first_stage = replace(DEFAULT_RANKING, rerank=False)
    plain = search(seed_index, question, k=1000, ranking=first_stage).hits
    reranked = search(seed_index, question, k=1000).hits
    assert sorted(h.text for h in reranked) == sorted(h.text for h in plain)
    scores = [h.score for h in reranked]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("question", QUESTIONS)
def test_pages_of_a_reranked_list_continue_each_other(
    seed_index: SentenceIndex, question: str
) -> None:
    """Pages cut one list, also past the re-ranked head (depth 3 here)."""
    model = _only("log_len", depth=3)
    whole = search(seed_index, question, k=12, reranker=model).hits
    pages = [search(seed_index, question, k=4, offset=o, reranker=model).hits for o in (0, 4, 8)]
    assert [h.text for page in pages for h in page] == [h.text for h in whole]


def test_the_model_decides_the_order_of_the_head() -> None:
    """A model that only likes a document's opening sentence puts it first."""
    index = build_index(
        [
            Document(
                Source("olives.txt", "موسم الزيتون"),
                "بدأ موسم قطف الزيتون في جرش. قطف المزارعون الزيتون الزيتون في الخريف قرب جرش.",
            )
        ]
    )
    question = "قطف الزيتون في جرش"
    assert search(index, question, reranker=_only("first")).hits[0].sentence.position == 0
    assert search(index, question, reranker=_only("first", -1.0)).hits[0].sentence.position == 1


def test_a_doubted_best_sentence_is_shown_as_related(seed_index: SentenceIndex) -> None:
    question = "كم ثانية استمرت المصافحة بين بوتين وكيم؟"
    sure = search(seed_index, question)
    assert sure.outcome == "answer"
    model = default_ranker()
    doubting = replace(model, related_under=sure.hits[0].score + 1.0)
    result = search(seed_index, question, reranker=doubting)
    assert result.outcome == "related"
    assert [h.text for h in result.hits] == [h.text for h in sure.hits]


@pytest.mark.parametrize(
    ("positions", "expected"),
    [
        ([], 0.0),
        ([(3, 0)], 0.0),  # one term: no span to measure
        ([(3, 0), (4, 1)], 1.0),  # side by side
        ([(0, 0), (9, 1), (10, 0)], 1.0),  # the later pair is adjacent
        ([(0, 0), (4, 1)], 0.4),  # two terms over five positions
        ([(0, 0), (2, 1), (4, 2), (5, 0)], 0.75),  # three terms, best span 2..5
    ],
)
def test_window_is_terms_over_their_shortest_span(
    positions: list[tuple[int, int]], expected: float
) -> None:
    assert _compactness(positions) == pytest.approx(expected)


def test_model_file_is_small_and_deterministic_json() -> None:
    text = Path(MODEL_PATH).read_text(encoding="utf-8")
    assert len(text) < 10_000
    assert json.loads(text)["kind"] == "linear"
