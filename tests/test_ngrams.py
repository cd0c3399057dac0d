"""Look-alike corpus terms by character 3-grams: forms light stemming leaves apart."""

from retrieval.index import SentenceIndex
from retrieval.ngrams import build_ngrams, grams, ngrams_of
from retrieval.search import Ranking, search


def test_grams_are_distinct_and_mark_the_word_boundaries() -> None:
    assert grams("قمه") == ["#قم", "قمه", "مه#"]
    assert grams("ااا") == ["#اا", "ااا", "اا#"]


def test_transliterations_and_verb_forms_are_alike() -> None:
    vocab = {"فوستوشن": 0, "يزور": 1, "قمر": 2, "حرب": 3}
    ngrams = build_ngrams(vocab)
    assert [t for t, _ in ngrams.similar("فوستوتشن", 0.5, 5)] == [0]
    assert [t for t, _ in ngrams.similar("سيزور", 0.5, 5)] == [1]
    assert ngrams.similar("سلام", 0.5, 5) == []


def test_the_most_alike_come_first_and_the_limit_holds() -> None:
    ngrams = build_ngrams({"كتابه": 0, "كتاب": 1, "كتابات": 2})
    found = ngrams.similar("كتاب", 0.3, 2)
    assert [t for t, _ in found] == [1, 0]
    assert found[0][1] == 1.0


def test_the_map_is_built_once_per_index(seed_index: SentenceIndex) -> None:
    assert ngrams_of(seed_index) is ngrams_of(seed_index)


def test_a_spelling_the_question_does_not_use_is_still_found(seed_index: SentenceIndex) -> None:
    """ "المنشآت" (plural, hamza on alef) finds "منشأة جمع مركبات أنغارا" only through 3-grams."""
    question = "ما المنشآت التي تفقدها الزعيمان في القاعدة الفضائية؟"
    gold = "تفقدا منشأة جمع مركبات"
    with_ngrams = [h.text for h in search(seed_index, question, k=5).hits]
    assert any(gold in text for text in with_ngrams)
    plain = Ranking(ngram_weight=0.0, ngram_coverage=0.0)
    assert not any(gold in h.text for h in search(seed_index, question, k=5, ranking=plain).hits)
