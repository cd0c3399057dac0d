"""The five camel-tools character functions `retrieval.normalize` uses, without their import cost.

Importing `camel_tools.utils.dediac` builds camel-tools' Unicode tables: a loop
over all 1.1M code points (0.5 s of a 1.5 s `coverage-bot ask`) for character
classes we never read. The functions below need only the few characters listed
here, copied from camel-tools (`camel_tools.utils.charsets.AR_DIAC_CHARSET`,
`camel_tools.utils.normalize`). tests/test_camel_tools_lean.py proves each one
returns exactly what camel-tools' own function returns, for every code point and
for real text, so the index's terms do not change.
"""

from __future__ import annotations

import re
import unicodedata

# camel_tools.utils.charsets.AR_DIAC_CHARSET: tanween, harakat, shadda, sukun, dagger alef.
AR_DIACRITICS = "\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652\u0670"
# camel_tools.utils.normalize._ALEF_NORMALIZE_AR_RE: hamza below/above, wasla, madda.
ALEF_VARIANTS = "\u0625\u0623\u0671\u0622"
# camel_tools.utils.normalize._UNICODE_CHAR_FIX: ligatures NFKC leaves alone.
UNICODE_FIXES = {"\ufdfc": "ريال", "\ufdfd": "بسم الله الرحمن الرحيم"}

_DIACRITICS_RE = re.compile(f"[{AR_DIACRITICS}]")
_ALEF_RE = re.compile(f"[{ALEF_VARIANTS}]")


def normalize_unicode(text: str) -> str:
    """NFKC, after spelling out the two ligatures NFKC keeps (camel-tools' `normalize_unicode`)."""
    for ligature, spelled in UNICODE_FIXES.items():
        if ligature in text:
            text = text.replace(ligature, spelled)
    return unicodedata.normalize("NFKC", text)


def dediac_ar(text: str) -> str:
    """Drop Arabic diacritics (camel-tools' `dediac_ar`)."""
    return _DIACRITICS_RE.sub("", text)


def normalize_alef_ar(text: str) -> str:
    """أ إ آ ٱ → ا (camel-tools' `normalize_alef_ar`)."""
    return _ALEF_RE.sub("\u0627", text)


def normalize_alef_maksura_ar(text: str) -> str:
    """ى → ي (camel-tools' `normalize_alef_maksura_ar`)."""
    return text.replace("\u0649", "\u064a")


def normalize_teh_marbuta_ar(text: str) -> str:
    """ة → ه (camel-tools' `normalize_teh_marbuta_ar`)."""
    return text.replace("\u0629", "\u0647")
