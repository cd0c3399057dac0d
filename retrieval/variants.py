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
