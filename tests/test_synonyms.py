"""Corpus word vectors: words used in the same company come out near each other."""

from dataclasses import replace

import numpy as np

from retrieval.index import SentenceIndex, build_index
from retrieval.models import Document, Source
from retrieval.normalize import analyze
from retrieval.search import DEFAULT_RANKING, search
from retrieval.synonyms import build_vectors, synonyms_of

# "زيارة" and "جولة" (visit, tour) never meet in one sentence but keep the same company;
# "مباراة" (match) keeps another.
PLACES = ["باريس", "روما", "لندن", "برلين", "مدريد", "أثينا"]
VISITS = [f"بدأ الرئيس {{}} رسمية إلى {p} والتقى رئيس الحكومة ووزير الخارجية." for p in PLACES]
MATCHES = [f"فاز الفريق في {{}} الدوري على ملعب {p} وسجل اللاعب هدفين." for p in PLACES]


def _corpus() -> str:
    lines = [v.format("زيارة") for v in VISITS] + [v.format("جولة") for v in VISITS]
    lines += [m.format("مباراة") for m in MATCHES]
    return "\n\n".join(lines)


def _index(text: str) -> SentenceIndex:
    return build_index([Document(Source("a.txt", "أخبار"), text)])


def _term(word: str) -> str:
    return analyze(word)[0]


def test_words_that_keep_the_same_company_are_nearest() -> None:
    index = _index(_corpus())
    vectors = build_vectors(index, min_df=2)
    terms = {i: t for t, i in index.vocab.items()}
    tour = index.vocab[_term("جولة")]
    nearest = [terms[i] for i, _ in vectors.similar(tour, 0.0, 3)]
    assert nearest[0] == _term("زيارة")
    assert _term("مباراة") not in nearest


def test_the_vectors_are_deterministic_and_kept_with_the_index() -> None:
    index = _index(_corpus())
    first, second = build_vectors(index), build_vectors(index)
    assert np.array_equal(first.nearest, second.nearest)
    assert np.array_equal(first.cosines, second.cosines)
    assert synonyms_of(index) is synonyms_of(index)


def test_a_corpus_too_small_for_statistics_has_no_neighbours() -> None:
    index = _index("زار الوزير القرية.\n\nكتب الشاعر قصيدة.")
    vectors = build_vectors(index)
    assert all(vectors.similar(i, 0.0, 5) == [] for i in index.vocab.values())
    ranking = replace(DEFAULT_RANKING, synonym_similarity=0.7)
    assert [h.text for h in search(index, "زار الوزير", ranking=ranking).hits] == [
        "زار الوزير القرية."
    ]


def test_a_neighbour_counts_as_a_look_alike_when_asked() -> None:
    """Asked about a "جولة", a sentence that says "زيارة" instead scores higher with
    the neighbours on (first stage only, so the scores compare)."""
    index = _index(_corpus())
    index.derived["synonyms"] = build_vectors(index, min_df=2)
    question = "جولة الرئيس إلى مدريد"
    visit = VISITS[PLACES.index("مدريد")].format("زيارة")
    scores = {}
    for similarity in (0.0, 0.7):
        ranking = replace(
            DEFAULT_RANKING, synonym_similarity=similarity, synonym_min_cosine=0.5, rerank=False
        )
        hits = search(index, question, k=20, ranking=ranking).hits
        scores[similarity] = {h.text: h.score for h in hits}
    assert scores[0.7][visit] > scores[0.0][visit]
    match = MATCHES[PLACES.index("مدريد")].format("مباراة")
    assert scores[0.7][match] == scores[0.0][match]
