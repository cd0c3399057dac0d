"""Sentence segmentation for Arabic news text.

A sentence ends at a line break, or after a run of `. ! ? ؟ …` followed by
whitespace, the end of the text or a letter (news text often lacks the space:
"ديموقراطي.الاقتصاد"). Not an end:
- a dot between digits or Latin letters ("2023.9.13", "F.C"), or after a
  one-letter Arabic word ("ق.م");
- an elision mark "(...)";
- a terminator inside a quotation that closes later on the same line: the quote
  "… سيكون خالدًا. كيم جونغ أون 2023.9.13" is one sentence.
Closing quotes and brackets right after a terminator stay with the sentence they
close. Pieces without a letter or digit are dropped, and a line longer than
`MAX_SENTENCE_CHARS` with no end in sight is cut at a space, so one broken line
cannot become a megabyte-long "sentence".
"""

from __future__ import annotations

import itertools

import regex

MAX_SENTENCE_CHARS = 1000
# A quotation longer than this is not protected: its closing mark is more likely
# a stray than the end of one long quote.
_MAX_QUOTE_CHARS = 600

_TERMINATORS = ".!?؟…"
_CLOSERS = "\"'”’»)]}›"
_QUOTE_PAIRS = {"“": "”", "«": "»", "‹": "›", '"': '"'}
_TERMINATOR_RUN_RE = regex.compile(r"[.!?؟…]+")
_HAS_WORD_CHAR_RE = regex.compile(r"[\p{L}\p{N}]")
_ARABIC_LETTER_RE = regex.compile(r"\p{Arabic}")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans (start, end) of the sentences of `text`, in order, whitespace-trimmed."""
    spans: list[tuple[int, int]] = []
    line_start = 0
    for line in text.splitlines(keepends=True):
        content = line.rstrip("\r\n\u2028\u2029\x0b\x0c\x1c\x1d\x1e\x85")
        for start, end in _split_line(content):
            spans.extend(_cap_length(content, start, end, line_start))
        line_start += len(line)
    return spans


def _split_line(line: str) -> list[tuple[int, int]]:
    quoted = _quoted_regions(line)
    cuts = [0]
    for match in _TERMINATOR_RUN_RE.finditer(line):
        start, end = match.span()
        if not _ends_sentence(line, start, end) or _inside(quoted, start, end):
            continue
        while end < len(line) and line[end] in _CLOSERS:
            end += 1
        cuts.append(end)
    cuts.append(len(line))
    spans = []
    for a, b in itertools.pairwise(cuts):
        span = _trim(line, a, b)
        if span is not None:
            spans.append(span)
    return spans


def _ends_sentence(line: str, start: int, end: int) -> bool:
    before = line[start - 1] if start > 0 else ""
    after = line[end] if end < len(line) else ""
    if before == "(" and after == ")":
        return False  # "(...)" marks words left out of a quote
    if end - start == 1 and line[start] == ".":
        if before.isdigit() and after.isdigit():
            return False
        if before.isascii() and before.isalpha() and after.isascii() and after.isalpha():
            return False
        before_before = line[start - 2] if start > 1 else " "
        if _ARABIC_LETTER_RE.match(before or " ") and not _is_word_char(before_before):
            return False  # abbreviations such as "ق.م"
    return after == "" or after.isspace() or after.isalpha() or after in _CLOSERS


def _quoted_regions(line: str) -> list[tuple[int, int]]:
    """Spans between an opening quote and its closing mark on the same line."""
    regions = []
    i = 0
    while i < len(line):
        closing = _QUOTE_PAIRS.get(line[i])
        if closing is not None:
            j = line.find(closing, i + 1)
            if j != -1 and j - i <= _MAX_QUOTE_CHARS:
                regions.append((i, j))
                i = j + 1
                continue
        i += 1
    return regions


def _inside(regions: list[tuple[int, int]], start: int, end: int) -> bool:
    """True when a terminator run sits inside a quote and the quote goes on after it."""
    return any(open_at < start and end < close_at for open_at, close_at in regions)


def _trim(line: str, a: int, b: int) -> tuple[int, int] | None:
    while a < b and line[a].isspace():
        a += 1
    while b > a and line[b - 1].isspace():
        b -= 1
    if a == b or not _HAS_WORD_CHAR_RE.search(line, a, b):
        return None
    return a, b


def _cap_length(line: str, start: int, end: int, offset: int) -> list[tuple[int, int]]:
    spans = []
    while end - start > MAX_SENTENCE_CHARS:
        cut = line.rfind(" ", start, start + MAX_SENTENCE_CHARS)
        if cut <= start:
            cut = start + MAX_SENTENCE_CHARS
        span = _trim(line, start, cut)
        if span is not None:
            spans.append((span[0] + offset, span[1] + offset))
        start = cut
    span = _trim(line, start, end)
    if span is not None:
        spans.append((span[0] + offset, span[1] + offset))
    return spans


def _is_word_char(ch: str) -> bool:
    return bool(ch) and (ch.isalnum() or ch == "_")
