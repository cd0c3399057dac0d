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

import threading
from collections.abc import Iterator
from itertools import chain
from operator import itemgetter

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
_FORMS_LIMIT = 1_000_000  # chunks cached; later ones are analyzed every time
_TERMS_LIMIT = 2_000_000  # terms numbered before a build starts a fresh table

_first = itemgetter(0)
_second = itemgetter(1)


class FormTable:
    """Analyzed chunks by their text, with their terms as numbers: the builder's cache.

    Each distinct chunk is analyzed once per process; its terms are numbered in
    the order first met (`terms[n]` is term number n), so a builder counts
    numbers, not strings, and turns them into terms once per distinct term.
    Numbers are only ever added (under a lock, on a miss), so readers in other
    threads see consistent entries; a build that finds the table too large
    starts a new one (`form_table`) while older callers keep theirs.
    """

    def __init__(self) -> None:
        self.forms: dict[str, tuple[str, tuple[int, ...]]] = {}
        self.numbers: dict[str, int] = {}
        self.terms: list[str] = []
        self._lock = threading.Lock()

    def analyze(self, text: str, out: list[int]) -> tuple[int, str]:
        """Appends the term numbers of `text` to `out`; returns (how many, fingerprint)."""
        chunks = text.split()
        parts = list(map(self.forms.get, chunks))
        if None in parts:
            missing = [c for c, p in zip(chunks, parts, strict=True) if p is None]
            missing = list(dict.fromkeys(missing))
            fresh = dict(zip(missing, self._analyze_chunks(missing), strict=True))
            parts = [fresh[c] if p is None else p for c, p in zip(chunks, parts, strict=True)]
        before = len(out)
        out.extend(chain.from_iterable(map(_second, parts)))
        return len(out) - before, "".join(map(_first, parts))[:-1]

    def _analyze_chunks(self, chunks: list[str]) -> list[tuple[str, tuple[int, ...]]]:
        """(tokens joined, each followed by a space; term numbers) of whitespace-free pieces.

        The pieces are normalized in one call when that call adds no space (true
        unless a piece holds a ligature or a control character): per-call overhead
        is most of normalizing one short piece.
        """
        normalized = normalize(" ".join(chunks)).split(" ")
        if len(normalized) != len(chunks):
            normalized = [normalize(chunk) for chunk in chunks]
        analyzed = []
        with self._lock:
            for chunk, text in zip(chunks, normalized, strict=True):
                tokens = tokenize(text)
                key = "".join([token + " " for token in tokens])
                terms = [t for t in map(term_of, tokens) if t is not None]
                item = (key, tuple(map(self._number, terms)))
                if len(self.forms) < _FORMS_LIMIT:
                    self.forms[chunk] = item
                analyzed.append(item)
        return analyzed

    def _number(self, term: str) -> int:
        number = self.numbers.get(term)
        if number is None:
            number = self.numbers[term] = len(self.terms)
            self.terms.append(term)
        return number


_TABLE = FormTable()


def form_table() -> FormTable:
    """The process's form table, a fresh one when it numbers too many terms already."""
    global _TABLE
    if len(_TABLE.terms) > _TERMS_LIMIT:
        _TABLE = FormTable()
    return _TABLE


def current_form_table() -> FormTable:
    """The process's form table as it is (`form_table` may start a fresh one).

    A reader that keeps term numbers across several texts takes the table once:
    numbers of two tables do not mean the same terms.
    """
    return _TABLE


def analyze_keyed(text: str) -> tuple[list[str], str]:
    """`(analyze(text), fingerprint(text))` at once, through the form table's cache."""
    table = _TABLE
    numbers: list[int] = []
    _, key = table.analyze(text, numbers)
    return list(map(table.terms.__getitem__, numbers)), key
