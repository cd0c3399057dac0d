"""Whether the best sentence answers the question, is only related to it, or nothing was found.

Ranking says which sentences are best; it cannot say whether the best one answers.
A question on the corpus's topic about a fact the corpus does not hold ("متى ولد
كيم؟", "من هو سفير روسيا؟") still finds sentences about Kim or Russia. What
separates the two is read off the top hit (retrieval/search.py computes it):

- `held`: the share of the question's weight (IDF of each distinct term) that the
  sentence itself holds, a look-alike form counting for its Dice share;
- `focus_held`: whether the sentence itself holds the question's focus, its
  rarest term the corpus knows ("واشنطن" in "ماذا قالت واشنطن عن القمة؟"): a
  sentence that has the focus only in its title or neighbours is about the
  topic, not the thing asked;
- `missing`: the largest single weight of a question term held neither by the
  sentence nor its context, as a share of the whole;
- `kind_held`: when the question asks where / when / how many, whether the
  sentence names a place / date / number (retrieval/qtype.py).

A question none of whose terms the corpus holds (only look-alikes of them) is
never answered. Three outcomes: "answer" (the hits are shown as the answer), "related" (shown
under a "no direct answer" header, and scored as no answer), "none" (no hits).
The thresholds were set on ARCD dev and the seed questions (benchmarks/quality.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Outcome = Literal["answer", "related", "none"]
ANSWER: Outcome = "answer"
RELATED: Outcome = "related"
NONE: Outcome = "none"


@dataclass(frozen=True, slots=True)
class Answerability:
    """The top hit's evidence, as fractions of the question's weight (see module docstring)."""

    held: float
    coverage: float
    missing: float
    unknown: float  # share of the weight on terms the corpus never uses, nor a look-alike
    focus_held: bool
    known: bool  # the corpus holds at least one question term itself (not only look-alikes)
    kind_held: bool | None  # None: the question does not ask for a kind

    def outcome(self, rule: AnswerRule) -> Outcome:
        return ANSWER if rule.accepts(self) else RELATED


@dataclass(frozen=True, slots=True)
class AnswerRule:
    """When the top hit counts as an answer."""

    min_held: float = 0.0  # share of the weight the sentence itself must hold
    max_missing: float = 1.0  # largest share one unmatched term may weigh
    need_focus: bool = False  # the sentence must hold the focus term itself
    need_kind: bool = False  # a where/when/how-many question needs that kind of evidence

    def accepts(self, a: Answerability) -> bool:
        return (
            a.known
            and a.held >= self.min_held
            and a.missing <= self.max_missing
            and (a.focus_held or not self.need_focus)
            and (a.kind_held is not False or not self.need_kind)
        )
