"""The records that flow through retrieval: files → documents → sentences → hits."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Source:
    """Where a sentence comes from, as a citation shows it."""

    doc: str  # file name relative to the corpus folder, '/'-separated
    title: str
    outlet: str | None = None
    url: str | None = None
    date: str | None = None


@dataclass(frozen=True, slots=True)
class Document:
    """One corpus file: its citation and its body text (front matter removed)."""

    source: Source
    text: str
    body_offset: int = 0  # characters of front matter before `text` in the file
    digest: str = ""  # sha256 of the file bytes, to tell changed files apart on reload

    @property
    def doc(self) -> str:
        return self.source.doc


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence as cited: its original text and where it sits in its file."""

    doc: str
    position: int  # 0-based order within the document
    start: int  # character span in the file's text, front matter included
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Problem:
    """A corpus file (or metadata entry) that was skipped or only partly used, and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Hit:
    """One answer line: a sentence, its score, and every document that holds it."""

    rank: int
    score: float
    sentence: Sentence
    sources: tuple[Source, ...]
    # Character spans of the words in sentence.text that matched the question.
    highlights: tuple[tuple[int, int], ...] = ()

    @property
    def text(self) -> str:
        return self.sentence.text

    @property
    def source(self) -> Source:
        return self.sources[0]
