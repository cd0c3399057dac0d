"""A light Arabic stemmer in the style of Larkey et al.'s light10, checked against a word list.

Light stemming strips the frequent prefixes (و, the article and its fused
prepositions) and suffixes (plural, dual, feminine, pronoun endings) and leaves
the rest of the word alone. On Arabic retrieval it matches or beats root-based
and Snowball stemming because it does not merge unrelated words sharing a root
(L. S. Larkey, L. Ballesteros, M. E. Connell, "Light stemming for Arabic
information retrieval", 2007). The input is an already normalized token
(ة→ه, ى→ي, alef variants → ا), so the affix lists use those forms.

Two of light10's rules contradict themselves without a dictionary, and a word
list decides them (retrieval/lexicon.py):

- A word-initial و is the conjunction only when the word is not itself a word
  and the rest is: "وقال" → قال, but "وزير", "وكالة", "وصول" keep it, so "وزير"
  and "الوزير" both give وزير. A name the list does not know ("واشنطن",
  "وبوتين") keeps its و; the search tries the other form at query time
  (retrieval/variants.py).
- A ت left before a pronoun suffix is the construct form of ة when the word
  with ة is a word and the word with ت is not: "شقيقته" → شقيق like "شقيقة",
  "زيارتها" → زيار like "زيارة", but "بيته" → بيت.
"""

from __future__ import annotations

from functools import lru_cache

from retrieval.lexicon import lemmas, words

# Longest first, so وال is tried before ال.
_ARTICLES = ("وال", "بال", "كال", "فال", "لل", "ال")
_SUFFIXES = ("ها", "ان", "ات", "ون", "ين", "يه", "ه", "ي")
# Pronoun suffixes after a construct ت ("شقيقتهم", "زيارتنا"); ته, تها, تي are
# already covered by _SUFFIXES.
_CONSTRUCT_PRONOUNS = ("تهما", "تهم", "تكم", "تنا", "تك")
# light10 keeps at least two letters after stripping; longer minimums measured
# no better on ARCD (benchmarks/quality.md).
MIN_STEM = 2
MIN_PREFIX = 2


def light_stem(token: str) -> str:
    """Strip light10's affixes from a normalized token; short and non-Arabic words pass through."""
    if len(token) < 3 or not ("\u0621" <= token[0] <= "\u064a"):
        return token
    word = token
    if word.startswith("و") and len(word) >= 4 and _is_conjunction(word):
        word = word[1:]
    for article in _ARTICLES:
        if word.startswith(article) and len(word) - len(article) >= MIN_PREFIX:
            word = word[len(article) :]
            break
    return _strip_suffixes(word)


def _strip_suffixes(word: str) -> str:
    for pronoun in _CONSTRUCT_PRONOUNS:
        if word.endswith(pronoun) and len(word) - len(pronoun) >= MIN_STEM:
            bare = _construct_teh(word[: 1 - len(pronoun)])
            if not bare.endswith("ت"):  # "شقيقتهم" → شقيق; "محادثاتهما" goes on below
                return bare
    stripped = word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
            word = word[: -len(suffix)]
    if word != stripped and word.endswith("ت") and len(word) > MIN_STEM + 1:
        word = _construct_teh(word)
    return word


def _construct_teh(word: str) -> str:
    """ "شقيقت" (from "شقيقته") → "شقيق", the stem "شقيقة" gets; "بيت" stays."""
    lexicon = words()
    if word in lexicon:
        return word
    base = word[:-1]
    if base + "ه" in lexicon or base in lexicon:
        return base
    return word


@lru_cache(maxsize=1 << 18)  # bounded: a large corpus has millions of forms
def _is_conjunction(word: str) -> bool:
    """Whether the leading و of `word` is the conjunction (see module docstring)."""
    if word.startswith("وال") and word not in lemmas():  # "والوزير"; "والد" is a word
        return True
    if _known(word, lemmas()):
        return False
    return _known(word[1:], words())


def _known(word: str, lexicon: frozenset[str]) -> bool:
    """Whether `word`, or its form without a light10 suffix, is in `lexicon`."""
    if word in lexicon:
        return True
    for suffix in (*_SUFFIXES, "ت", "وا", "ا", "هم", "هما"):
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
            base = word[: -len(suffix)]
            if base in lexicon or base + "ه" in lexicon:
                return True
            if base.endswith("ت") and base[:-1] + "ه" in lexicon:  # "وزارته"
                return True
    return False
