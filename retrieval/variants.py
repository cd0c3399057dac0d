"""Spelling variants of transliterated names, tried at query time.

Outlets write foreign names differently: "جونج" / "جونغ" (Korean "-ng"),
"بيونج يانج" / "بيونغ يانغ", "فوستوشني" / "فوستوتشني" (Russian "ch"). A question
with one spelling should find sentences with the other. Each rule below maps a
transliteration habit to its alternatives; the search keeps only variants that
the corpus actually holds, so rare Arabic words are not rewritten into others.
The rules are deliberately narrow (word-final ng, medial tsh): broader letter
swaps (ج/غ anywhere) would turn "الغرب" (the West) into "الجرب".
"""

from __future__ import annotations

import regex

_RULES: tuple[tuple[regex.Pattern[str], str], ...] = (
    (regex.compile(r"نغ$"), "نج"),  # جونغ → جونج
    (regex.compile(r"نج$"), "نغ"),  # جونج → جونغ
    (regex.compile(r"(?<=\w)تش(?=\w)"), "ش"),  # فوستوتشني → فوستوشني
    (regex.compile(r"(?<=[او])ش(?=\w)"), "تش"),  # فوستوشني → فوستوتشني
)


def spelling_variants(term: str) -> list[str]:
    """Other spellings of `term` under one transliteration habit each (term itself excluded)."""
    variants = []
    for pattern, replacement in _RULES:
        variant = pattern.sub(replacement, term, count=1)
        if variant != term and variant not in variants:
            variants.append(variant)
    return variants


# One-letter clitics light stemming leaves on: prepositions ب ل ك, conjunction ف,
# future marker س ("بقاعدة", "لكوريا", "سيزور"). Only removed from a question
# word, never added to one: adding them makes other words ("ب" + "يان" = "بيان")
# and cost 5 points of R@1 on ARCD dev (benchmarks/quality.md).
_CLITICS = "بلكفس"
# Hamza seats differ with the case ending: "لقاؤه" / "لقائه" / "لقاء".
_HAMZA_SEATS = str.maketrans({"ؤ": "ء", "ئ": "ء"})


def clitic_variants(term: str) -> list[str]:
    """Forms of `term` without a one-letter clitic or case mark, or with hamza on its line.

    Light stemming keeps a bare one-letter prefix because stripping it blindly
    ruins words that start with the same letter ("بوتين", "كوريا"). Tried at
    query time only and kept only when the corpus holds the form, this finds
    "قاعدة" for "بقاعدة" without ever rewriting the index.
    """
    if len(term) < 3 or not ("\u0621" <= term[0] <= "\u064a"):
        return []
    variants = []
    if term[0] in _CLITICS and len(term) >= 4:
        variants.append(term[1:])
    if term.endswith("ا") and len(term) >= 5:  # accusative tanween: "صاروخا", "معروفا"
        variants.append(term[:-1])
    if term.endswith("ت") and len(term) >= 4:  # past-tense feminine: "عقدت", "أطلقت"
        variants.append(term[:-1])
    seated = term.translate(_HAMZA_SEATS)
    if seated != term:
        variants.append(seated)
    return [v for v in dict.fromkeys(variants) if v != term]
