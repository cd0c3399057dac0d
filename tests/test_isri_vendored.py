"""The vendored ISRI stemmer (retrieval/isri.py) stems exactly as NLTK's own."""

import re
from pathlib import Path

from nltk.stem.isri import ISRIStemmer as NltkISRIStemmer

from retrieval.isri import ISRIStemmer

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def test_every_seed_word_gets_nltks_root() -> None:
    words = {
        w for p in SEEDS.glob("*.txt") for w in re.findall("[\u0621-\u0652]+", p.read_text("utf-8"))
    }
    assert len(words) > 900
    ours, theirs = ISRIStemmer(), NltkISRIStemmer()
    assert [ours.stem(w) for w in sorted(words)] == [theirs.stem(w) for w in sorted(words)]


def test_derivations_share_a_root() -> None:
    stem = ISRIStemmer().stem
    assert stem("معلم") == stem("تعليم") == "علم"
    assert stem("مكتبة") == stem("كاتب") == "كتب"
