"""The text pipeline shared by indexing and querying."""

from pathlib import Path

import pytest
from camel_tools.tokenizers.word import simple_word_tokenize

from retrieval.arabic_roots import root_of
from retrieval.normalize import analyze, normalize, tokenize
from retrieval.stem import light_stem
from retrieval.variants import spelling_variants

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("إطلاق", "اطلاق"),
        ("أوكرانيا", "اوكرانيا"),
        ("آمل", "امل"),
        ("ٱلله", "الله"),
        ("على", "علي"),
        ("مدرسة", "مدرسه"),
        ("كَتَبَ", "كتب"),
        ("نصرًا", "نصرا"),
        ("الكــبيرة", "الكبيره"),
        ("عام ٢٠٢٣", "عام 2023"),
        ("KCNA Watch", "kcna watch"),
        ("\u200fكيم\u200b", "كيم"),
        ("ﻻ", "لا"),
    ],
)
def test_normalize(raw: str, normalized: str) -> None:
    assert normalize(raw) == normalized


def test_normalize_is_idempotent_on_the_seeds() -> None:
    for path in SEEDS.glob("*.txt"):
        once = normalize(path.read_text(encoding="utf-8"))
        assert normalize(once) == once


def test_tokenize_splits_words_like_camel_tools_without_punctuation() -> None:
    for path in SEEDS.glob("*.txt"):
        text = normalize(path.read_text(encoding="utf-8"))
        camel = [t for t in simple_word_tokenize(text) if any(c.isalnum() for c in t)]
        assert tokenize(text) == camel


def test_a_hyphen_never_glues_two_words() -> None:
    assert tokenize(normalize("كيم جونج-أون")) == ["كيم", "جونج", "اون"]


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("الإمبريالية", "امبريال"),
        ("والصواريخ", "صواريخ"),
        ("بالسلاح", "سلاح"),
        ("للفضاء", "فضاء"),
        ("الصحفيون", "صحف"),
        ("محادثاتهما", "محادثاتهما"),
        ("كوريا", "كوريا"),
        ("kcna", "kcna"),
    ],
)
def test_light_stem(word: str, stem: str) -> None:
    assert light_stem(normalize(word)) == stem


def test_question_words_and_function_words_are_not_terms() -> None:
    assert analyze("ماذا قال كيم عن الإمبريالية؟") == ["قال", "كيم", "امبريال"]
    assert analyze("هل من أين متى كيف لماذا ما") == []


def test_diacritics_and_hamza_do_not_change_the_terms() -> None:
    assert analyze("الإمْبِرْيَالِيَّة") == analyze("الامبريالية")


@pytest.mark.parametrize(
    ("spelling", "other"),
    [("جونج", "جونغ"), ("بيونغ", "بيونج"), ("يانج", "يانغ"), ("فوستوشن", "فوستوتشن")],
)
def test_transliteration_variants(spelling: str, other: str) -> None:
    assert other in spelling_variants(spelling)
    assert spelling in spelling_variants(other)


def test_variant_rules_leave_ordinary_words_alone() -> None:
    assert spelling_variants("غرب") == []
    assert spelling_variants("جرب") == []


@pytest.mark.parametrize(
    ("words", "term"),
    [
        # A و that is the word's first letter stays, with or without the article.
        (("وزير", "الوزير", "والوزير", "وزيرة"), "وزير"),
        (("وكالة", "الوكالة", "والوكالة"), "وكال"),
        (("وزارة", "الوزارة", "وزارته"), "وزار"),
        (("ورقة", "الورقة"), "ورق"),
        (("وصول", "الوصول"), "وصول"),
        (("والد", "الوالد"), "والد"),
        # The conjunction goes where the rest is a word.
        (("قال", "وقال"), "قال"),
        (("أكد", "وأكد"), "اكد"),
        (("كيم", "وكيم"), "كيم"),
        (("روسيا", "وروسيا"), "روسيا"),
        # A name the word list does not know keeps its first letter.
        (("واشنطن",), "واشنطن"),
        # A construct ت before a pronoun is the ة of the bare word.
        (("شقيقة", "شقيقته", "شقيقتها", "شقيقتهم"), "شقيق"),
        (("زيارة", "زيارته", "زيارتنا"), "زيار"),
        # A ت that belongs to the word stays.
        (("بيت", "بيته"), "بيت"),
        (("وقت", "وقته"), "وقت"),
    ],
)
def test_stemming_agrees_with_itself(words: tuple[str, ...], term: str) -> None:
    assert {word: analyze(word) for word in words} == {word: [term] for word in words}


@pytest.mark.parametrize(
    "words",
    [("ولد", "مولود", "ولادة"), ("اكتشف", "اكتشاف"), ("كتب", "كتاب", "مكتبة", "الكاتب", "يكتب")],
)
def test_derivations_of_one_root_share_a_root_key(words: tuple[str, ...]) -> None:
    keys = {root_of(term) for word in words for term in analyze(word)}
    assert len(keys) == 1 and "" not in keys
