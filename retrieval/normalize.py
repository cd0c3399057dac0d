"""Arabic text normalization and analysis: the one pipeline for indexing and querying.

`analyze` is what both the index builder and the query path call, so a sentence and
a question are always reduced the same way:

    text ─ normalize ─▶ tokenize ─▶ drop stop words ─▶ light stem ─▶ terms

Character normalization composes camel-tools' pure functions, restated in
`retrieval.arabic_chars` so that answering one question does not pay for
camel-tools' Unicode tables at import (tests/test_camel_tools_lean.py proves they
are the same functions). Tokenizing uses one compiled pattern with the word
boundaries of camel-tools' `simple_word_tokenize` (whitespace, punctuation and
symbols split words; a hyphen never glues two words), minus the punctuation
tokens we would drop anyway; it is several times faster on large corpora
(tests/test_normalize.py checks the two agree on the seeds). Per-token work
(stop words, stemming) is cached by surface form: a corpus has millions of
tokens but only a few hundred thousand distinct forms.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain

import regex

from retrieval.arabic_chars import (
    dediac_ar,
    normalize_alef_ar,
    normalize_alef_maksura_ar,
    normalize_teh_marbuta_ar,
    normalize_unicode,
)
from retrieval.stem import light_stem
from retrieval.stopwords import STOP_WORDS

# Bump when any step below changes what terms a text yields: persisted indexes
# built by another pipeline version are rebuilt, never trusted.
PIPELINE_VERSION = "3"

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
# Letters that outlets use for sounds Arabic lacks (g, v, p, ch); each is read as
# the Arabic letter most outlets write instead.
_LOAN_LETTERS = str.maketrans(
    {"گ": "ك", "ڤ": "ف", "پ": "ب", "چ": "ج", "ڠ": "غ", "ک": "ك", "ی": "ي"}
)
_TATWEEL = "\u0640"
# Format controls (RLM, ZWJ, isolates…) carry no meaning for matching.
_FORMAT_RE = regex.compile(r"\p{Cf}+")
_CONTROL_RE = regex.compile(r"\p{Cc}")
_WORD_RE = regex.compile(r"[^\s\p{P}\p{S}]+")
_HAS_WORD_CHAR_RE = regex.compile(r"[\p{L}\p{N}]")


def normalize(text: str) -> str:
    """Reduce spelling variation that does not change meaning; keeps punctuation.

    Order matters: Unicode compatibility forms first (presentation forms and
    ligatures become letters), then marks and letter variants.
    """
    text = normalize_unicode(text)
    text = _CONTROL_RE.sub(" ", _FORMAT_RE.sub("", text))
    text = dediac_ar(text).replace(_TATWEEL, "")
    text = normalize_alef_ar(text)
    text = normalize_alef_maksura_ar(text)
    text = normalize_teh_marbuta_ar(text)
    return text.translate(_DIGITS).translate(_LOAN_LETTERS).lower()


def tokenize(normalized: str) -> list[str]:
    """Words of an already normalized text, punctuation dropped."""
    return [t for t in _WORD_RE.findall(normalized) if _HAS_WORD_CHAR_RE.search(t)]


def iter_word_spans(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, word) for each word of the original text, for highlighting."""
    for match in _WORD_RE.finditer(text):
        if _HAS_WORD_CHAR_RE.search(match.group()):
            yield match.start(), match.end(), match.group()


_TERM_CACHE: dict[str, str | None] = {}
_TERM_CACHE_LIMIT = 2_000_000


def term_of(token: str) -> str | None:
    """The index term for one normalized token, or None for a stop word."""
    term = _TERM_CACHE.get(token, "")
    if term != "":
        return term
    if token in STOP_WORDS or len(token) < 2:
        term = None
    else:
        term = light_stem(token)
        # A stem that is a function word ("الله" → "له") keeps its whole form.
        if term in STOP_WORDS:
            term = token
    if len(_TERM_CACHE) < _TERM_CACHE_LIMIT:
        _TERM_CACHE[token] = term
    return term


def analyze(text: str) -> list[str]:
    """Index terms of a sentence or a question, in order, repeats kept (BM25 counts them)."""
    terms = []
    for token in tokenize(normalize(text)):
        term = term_of(token)
        if term is not None:
            terms.append(term)
    return terms


def fingerprint(text: str) -> str:
    """Key under which sentences count as the same text (the same quote in two outlets)."""
    return " ".join(tokenize(normalize(text)))


# Whitespace never joins two words and no step above merges characters across
# it (control characters, which str.split also treats as breaks, become spaces),
# so a text's tokens are the tokens of its whitespace-separated chunks, in order.
# Caching the chunks makes index builds several times faster: a news corpus
# repeats the same few hundred thousand chunks millions of times.
# tests/test_normalize_chunks.py checks the equality on the seeds.
_CHUNK_CACHE: dict[str, tuple[str, tuple[str, ...]]] = {}
_CHUNK_CACHE_LIMIT = 1_000_000


def _analyze_chunks(chunks: list[str]) -> list[tuple[str, tuple[str, ...]]]:
    """(tokens joined, each followed by a space; terms) of whitespace-free pieces of text.

    The pieces are normalized in one call when that call adds no space (true
    unless a piece holds a ligature or a control character): per-call overhead
    is most of normalizing one short piece.
    """
    normalized = normalize(" ".join(chunks)).split(" ")
    if len(normalized) != len(chunks):
        normalized = [normalize(chunk) for chunk in chunks]
    analyzed = []
    for chunk, text in zip(chunks, normalized, strict=True):
        tokens = tokenize(text)
        key = "".join([token + " " for token in tokens])
        item = (key, tuple(t for t in map(term_of, tokens) if t is not None))
        if len(_CHUNK_CACHE) < _CHUNK_CACHE_LIMIT:
            _CHUNK_CACHE[chunk] = item
        analyzed.append(item)
    return analyzed


def analyze_keyed(text: str) -> tuple[list[str], str]:
    """`(analyze(text), fingerprint(text))` at once, through a cache: the index builder's path."""
    chunks = text.split()
    parts = list(map(_CHUNK_CACHE.get, chunks))
    if None in parts:
        missing = list(dict.fromkeys(c for c, p in zip(chunks, parts, strict=True) if p is None))
        fresh = dict(zip(missing, _analyze_chunks(missing), strict=True))
        parts = [fresh[c] if p is None else p for c, p in zip(chunks, parts, strict=True)]
    terms = list(chain.from_iterable([terms for _, terms in parts]))
    return terms, "".join([key for key, _ in parts])[:-1]
