"""What kind of answer a question asks for, and which sentences carry that kind of evidence.

"أين …؟" is answered by a sentence naming a place, "متى …؟" by one with a date,
"كم …؟" by one with a number. Question words are stop words, so plain BM25
ignores this; here it becomes a small extra signal: a candidate sentence that
already matches the question gets a bonus if it carries the evidence the
question word asks for. It only reorders candidates; it never makes a sentence
relevant (coverage is computed without it).

Evidence is read from the index vocabulary: a sentence has place evidence when
it holds a place noun (قاعدة, مدينة, عاصمة …; not compass words: "الشمالي" in
"كوريا الشمالية" is a name, not a location); date evidence
when it holds a month or weekday name, a year-like number or a time noun (عام,
سنة, قرن …); number evidence when it holds any number or number word. The flags
are computed once per index from the postings of those terms, so a query only
looks them up for its own candidates.
"""

from __future__ import annotations

import hashlib
import json
from enum import Enum
from functools import cache

import numpy as np

from retrieval.index import SentenceIndex
from retrieval.normalize import normalize, term_of, tokenize


class Asks(Enum):
    PLACE = "place"
    TIME = "time"
    NUMBER = "number"


_QUESTION_WORDS = {
    "اين": Asks.PLACE,
    "واين": Asks.PLACE,
    "متي": Asks.TIME,
    "ومتي": Asks.TIME,
    "كم": Asks.NUMBER,
    "وكم": Asks.NUMBER,
    "بكم": Asks.NUMBER,
}
# "في أي مدينة …" / "في أي عام …": the noun after أي names the kind.
_KIND_NOUNS = {
    Asks.PLACE: "مدينة بلد دولة مكان منطقة قارة عاصمة ولاية محافظة قرية جزيرة مقر",
    Asks.TIME: "عام سنة تاريخ يوم شهر قرن وقت عصر",
}
_EVIDENCE_WORDS = {
    Asks.PLACE: (
        "قاعدة مدينة عاصمة منطقة دولة بلد قرية جزيرة ولاية محافظة إقليم مقاطعة قارة مقر "
        "منشأة ميناء مطار قصر مبنى محطة ساحة شارع جبل نهر بحر مركز دار فندق جامعة"
    ),
    Asks.TIME: (
        "يناير فبراير مارس أبريل إبريل مايو يونيو يوليو أغسطس سبتمبر أكتوبر نوفمبر ديسمبر "
        "كانون شباط آذار نيسان أيار حزيران تموز آب أيلول تشرين "
        "السبت الأحد الاثنين الثلاثاء الأربعاء الخميس الجمعة "
        "عام سنة قرن يوم أمس غدا صباح مساء الميلادي الهجري"
    ),
    Asks.NUMBER: (
        "واحد اثنان اثنين ثلاث ثلاثة أربع أربعة خمس خمسة ست ستة سبع سبعة ثمان ثمانية "
        "تسع تسعة عشر عشرة عشرون عشرين مئة مائة مئات ألف آلاف مليون ملايين مليار نصف ربع"
    ),
}
_CACHE_KEY = "qtype"
# Names the evidence word lists and rules: flags stored with an index (retrieval/store.py)
# are used only when they were computed by the same ones. Bump `rules` when
# `_build_flags` changes how it picks terms.
EVIDENCE_VERSION = hashlib.sha256(
    json.dumps(
        {"rules": 1, **{k.value: v for k, v in _EVIDENCE_WORDS.items()}}, ensure_ascii=False
    ).encode()
).hexdigest()[:16]
FLAGS_KEY = _CACHE_KEY  # where the flags are kept in index.derived


def asks_for(question: str) -> Asks | None:
    """The kind of answer the question's own wording asks for, if it says."""
    tokens = tokenize(normalize(question))
    for i, token in enumerate(tokens):
        kind = _QUESTION_WORDS.get(token)
        if kind is not None:
            return kind
        if token in ("اي", "واي", "باي", "لاي") and i + 1 < len(tokens):
            noun = term_of(tokens[i + 1])
            for kind, nouns in _KIND_NOUNS.items():
                if noun in _terms(nouns):
                    return kind
    return None


def evidence_flags(index: SentenceIndex) -> dict[Asks, np.ndarray]:
    """Per kind, a boolean per bm25 doc: the sentence carries that kind of evidence."""
    cached = index.derived.get(_CACHE_KEY)
    if cached is None:
        cached = index.derived[_CACHE_KEY] = _build_flags(index)
    return cached  # type: ignore[return-value]


def _build_flags(index: SentenceIndex) -> dict[Asks, np.ndarray]:
    numbers = [tid for term, tid in index.vocab.items() if term.isdigit()]
    years = [tid for term, tid in index.vocab.items() if _is_year(term)]
    extra = {Asks.PLACE: [], Asks.TIME: years, Asks.NUMBER: numbers}
    flags = {}
    for kind, words in _EVIDENCE_WORDS.items():
        ids = index.term_ids(_terms(words)) + extra[kind]
        flag = np.zeros(index.n_docs, dtype=bool)
        for term_id in ids:
            flag[index.postings(term_id)[0]] = True
        flags[kind] = flag
    return flags


def _is_year(term: str) -> bool:
    return term.isdigit() and len(term) in (3, 4)


@cache
def _terms(words: str) -> frozenset[str]:
    return frozenset(t for t in (term_of(w) for w in tokenize(normalize(words))) if t)
