"""Text from the corpus made safe to show: no bidi overrides, no control characters.

Titles, outlets and file names come from files anyone may have written. Shown
raw, a U+202E reverses the rest of a citation, a U+2069 closes the isolate the
reply puts around it, a newline fakes a line of its own, and an escape sequence
(ESC ] 0 ; … BEL, ESC [ 2 J) rewrites an operator's terminal. `printable` removes
them wherever such text is shown, in Telegram and on a terminal alike.
"""

from __future__ import annotations

import re

# Bidi embeddings, overrides and isolates (LRE…RLO, LRI…PDI) and the marks
# (LRM, RLM, ALM): the reply places its own marks; the corpus must not.
_BIDI = "\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
# C0 and C1 controls and DEL; tabs and line breaks become spaces (below).
_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_LINE_BREAKS = "\t\n\r\u2028\u2029\x85"
_DROP_RE = re.compile(f"[{_BIDI}{_CONTROL}]")
_SPACE_RE = re.compile(f"[{_LINE_BREAKS}]+")


def printable(text: str) -> str:
    """`text` on one line, with bidi controls and control characters removed.

    Line breaks and tabs become one space each run, so a name keeps its words
    apart; everything else printable (Arabic, Latin, digits, emoji) is kept.
    """
    return _DROP_RE.sub("", _SPACE_RE.sub(" ", text))
