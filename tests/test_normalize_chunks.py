"""The builder's cached analysis is the query analysis, word for word.

`analyze_keyed` analyzes a sentence chunk by chunk (whitespace-separated pieces,
cached); it must give exactly what `analyze` and `fingerprint` give on the whole
sentence, or a question would not find the sentence it quotes.
"""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retrieval import normalize
from retrieval.index import analyze_chunk
from retrieval.normalize import analyze, analyze_keyed, fingerprint
from retrieval.segment import split_sentences

SEEDS = Path(__file__).resolve().parent.parent / "seeds"

TRICKY = [
    "قال «كيم» للرئيس: سندعم روسيا… دائما!",
    "الكــبيرة كَتَبَ نصرًا عام ٢٠٢٣",  # tatweel, diacritics, Arabic-Indic digits
    "صلى الله عليه ﷺ وسلم",  # one ligature that normalizes to four words
    "ﻻ تنسى",  # a presentation-form ligature
    "كيم\u200bجونغ و\u200fبوتين",  # format controls inside and between words
    "سطر\x1cآخر\x85ثالث",  # control characters that break words
    "، . ؟ ! – —",  # punctuation only: no terms, empty key
    "KCNA Watch: Kim-Putin 2023.9.13",
    "",
]


def _seed_sentences() -> list[str]:
    sentences = []
    for path in sorted(SEEDS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        sentences += [text[a:b] for a, b in split_sentences(text)]
    return sentences


@pytest.mark.parametrize("text", TRICKY)
def test_chunked_analysis_equals_whole_text_analysis_on_tricky_text(text: str) -> None:
    assert analyze_keyed(text) == (analyze(text), fingerprint(text))


def test_chunked_analysis_equals_whole_text_analysis_on_every_seed_sentence() -> None:
    sentences = _seed_sentences()
    assert len(sentences) > 50
    for sentence in sentences:
        assert analyze_keyed(sentence) == (analyze(sentence), fingerprint(sentence)), sentence


def test_the_cache_gives_the_same_answer_the_second_time() -> None:
    sentence = "وتعهد كيم جونغ أون بدعم روسيا فيما وصفه بـ”الحرب ضد الإمبريالية”."
    assert (
        analyze_keyed(sentence)
        == analyze_keyed(sentence)
        == (
            analyze(sentence),
            fingerprint(sentence),
        )
    )


_WORDS = ["كيم", "بوتين", "الإمبريالية", "ﷺ", "ﻻ", "\u200f", "\x1c", "،", "«", "»", "٢٠٢٣", "ـ"]
_PIECES = st.sampled_from([*_WORDS, "َ", " ", "  ", "\n", "\t", "\u00a0", ".", "-", "A", "é"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=12).map("".join))
def test_chunked_analysis_equals_whole_text_analysis_on_random_mixtures(text: str) -> None:
    assert analyze_keyed(text) == (analyze(text), fingerprint(text))


def test_a_build_on_a_fresh_form_table_gives_the_same_chunk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The builder counts form-table numbers and names the terms at the end; a table
    started afresh (too many terms numbered) numbers differently, same chunk out."""
    texts = [path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt"))]
    offsets = [0] * len(texts)
    warm = analyze_chunk(0, texts[::-1], offsets)  # numbers terms in another order first
    warm = analyze_chunk(0, texts, offsets)
    monkeypatch.setattr(normalize, "_TERMS_LIMIT", -1)
    fresh = analyze_chunk(0, texts, offsets)
    assert normalize.form_table() is not normalize.form_table()
    assert fresh.vocab == warm.vocab == sorted(fresh.vocab)
    for name in ("n_terms", "post_term", "post_row", "post_tf", "sent_start", "sent_pos"):
        np.testing.assert_array_equal(getattr(fresh, name), getattr(warm, name), err_msg=name)
    assert fresh.keys == warm.keys and fresh.text_blob == warm.text_blob
    first_row = fresh.post_term[fresh.post_row == 0]
    first_sentence = texts[0][slice(*split_sentences(texts[0])[0])]
    assert [fresh.vocab[t] for t in first_row] == sorted(set(analyze(first_sentence)))
