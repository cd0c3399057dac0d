"""Properties of the text pipeline over arbitrary text (hypothesis)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from retrieval.normalize import analyze, normalize
from retrieval.segment import split_sentences

# Arabic letters, marks, digits, Latin, punctuation, controls and odd code points.
CHARS = "كيمبوتنجغاأإآىةـًٌٍَُِّْ٠١٢٣0123456789abcXYZ .!?؟…،؛:\"'“”«»()-\n\t"
ODD = [
    "\u200f",
    "\u200b",
    "\u202e",
    "\u2067",
    "\u2069",
    "\x00",
    "\ufeff",
    "ﻻ",
    "😀",
    "<b>",
    "&amp;",
]
ALPHABET = st.sampled_from([*CHARS, *ODD])
TEXT = st.lists(ALPHABET, max_size=300).map("".join) | st.text(max_size=200)


@given(TEXT)
@settings(max_examples=300, deadline=None)
def test_normalization_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@given(TEXT)
@settings(max_examples=300, deadline=None)
def test_segmentation_covers_the_text_in_order_without_overlap(text: str) -> None:
    previous_end = 0
    for start, end in split_sentences(text):
        assert previous_end <= start < end <= len(text)
        assert not any(ch.isalnum() for ch in text[previous_end:start])
        previous_end = end
    assert not any(ch.isalnum() for ch in text[previous_end:])


@given(TEXT)
@settings(max_examples=300, deadline=None)
def test_analysis_never_fails_and_yields_clean_terms(text: str) -> None:
    for term in analyze(text):
        assert term and not any(ch.isspace() for ch in term)
        assert normalize(term) == term
