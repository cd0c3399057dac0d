"""Sentence segmentation, specified on the seed articles."""

from pathlib import Path

import pytest

from retrieval.segment import split_sentences

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


def seed(name: str) -> str:
    return (SEEDS / name).read_text(encoding="utf-8")


def test_a_date_with_dots_stays_inside_its_sentence() -> None:
    found = [s for s in sentences(seed("003_60ec432cf999c6a6.txt")) if "2023.9.13" in s]
    assert found == [
        "وذكرت وكالة الأنباء المركزية الكورية أيضًا أن كيم ترك توقيعه في كتاب الزائرين في "
        "المنشأة الفضائية، حيث كتب: “مجد روسيا التي أنتجت أول غزاة للفضاء سيكون خالدًا. "
        "كيم جونغ أون 2023.9.13”"
    ]


def test_a_dot_inside_a_quotation_that_continues_does_not_end_the_sentence() -> None:
    text = "وأضاف أن “زعيم كوريا الديمقراطية يظهر اهتماما كبيرا بتكنولوجيا الصواريخ. وهم يحاولون تطوير الفضاء أيضا”."  # noqa: E501
    assert sentences(text) == [text]


def test_arabic_question_mark_and_full_stop_end_sentences() -> None:
    assert sentences("هل التقى الزعيمان؟ نعم. التقيا في روسيا!") == [
        "هل التقى الزعيمان؟",
        "نعم.",
        "التقيا في روسيا!",
    ]


def test_a_missing_space_after_a_full_stop_still_ends_the_sentence() -> None:
    assert sentences("نظام ديموقراطي.الاقتصاد قوي") == ["نظام ديموقراطي.", "الاقتصاد قوي"]


def test_an_elision_mark_does_not_end_the_sentence() -> None:
    text = 'قال بوتين: "أنا سعيد برؤيتك (...) هذه هي قاعدتنا الفضائية الجديدة".'
    assert sentences(text) == [text]


def test_line_breaks_end_sentences_and_headlines_stand_alone() -> None:
    text = seed("004_2f3a022fdb695d49.txt")
    assert "محاربة الإمبريالية" in sentences(text)
    assert "قلق أميركي" in sentences(text)


def test_abbreviations_and_decimals_are_not_cut() -> None:
    assert sentences("بني عام 300 ق.م في المدينة. نما بنسبة 3.5 بالمئة.") == [
        "بني عام 300 ق.م في المدينة.",
        "نما بنسبة 3.5 بالمئة.",
    ]


def test_punctuation_only_pieces_are_dropped() -> None:
    assert sentences("... !!\n(فرانس برس، رويترز)\n؟") == ["(فرانس برس، رويترز)"]


@pytest.mark.parametrize("name", sorted(p.name for p in SEEDS.glob("*.txt")))
def test_spans_are_ordered_disjoint_and_cover_every_word(name: str) -> None:
    text = seed(name)
    spans = split_sentences(text)
    assert spans, "every seed has sentences"
    previous_end = 0
    for start, end in spans:
        assert previous_end <= start < end
        assert text[start:end] == text[start:end].strip()
        gap = text[previous_end:start]
        assert not any(ch.isalnum() for ch in gap), f"words lost between sentences: {gap!r}"
        previous_end = end
    assert not any(ch.isalnum() for ch in text[previous_end:])


def test_seed_sentence_counts() -> None:
    counts = {p.name[:3]: len(split_sentences(seed(p.name))) for p in sorted(SEEDS.glob("*.txt"))}
    assert counts == {"000": 13, "001": 22, "002": 24, "003": 16, "004": 23}


def test_a_runaway_line_is_cut_into_bounded_sentences() -> None:
    text = "كلمة " * 2000
    pieces = split_sentences(text)
    assert len(pieces) > 1
    assert all(end - start <= 1000 for start, end in pieces)
