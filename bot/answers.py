"""Recent answers kept on the server so their buttons can stay small.

Telegram allows 64 bytes of callback data, far too little for a question. A
button carries only a short random key (and a number); the key finds the
question, the page and the cited sentences here (so «السياق N» and «من نشر هذا؟ N»
carry `c:KEY:N` and `w:KEY:N`, 13 bytes at most of the 64). Each entry remembers the index
generation it was answered from: after a reload that changed the corpus, or
once the entry has been pushed out of the cache, or for made-up data, the
button answers that the result expired instead of showing something else.
«المزيد» works once: the bot removes it after use, and a press on a removed (or
never offered) «المزيد» is refused as expired, however the data was kept.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

MORE = "m"
CONTEXT = "c"
WHO = "w"  # «من نشر هذا؟» under a cited sentence (bot/who.py)
SOURCES = "s"


@dataclass(frozen=True, slots=True)
class Cited:
    """A sentence cited in an answer: its rank there and where it sits in its document."""

    rank: int
    doc: str
    position: int


@dataclass(frozen=True, slots=True)
class Answer:
    question: str
    generation: str  # Snapshot.generation of the index that answered
    chat_id: int
    next_offset: int  # where the next page starts
    cited: tuple[Cited, ...]

    def cited_at(self, rank: int) -> Cited | None:
        return next((c for c in self.cited if c.rank == rank), None)


@dataclass(frozen=True, slots=True)
class Button:
    """Parsed callback data: what to do, with which answer (or page)."""

    action: str
    key: str = ""
    number: int = 0


class AnswerStore(Protocol):
    """What the handlers need of the answer store: this process's AnswerCache, or the
    fleet's in Redis (bot/shared_state.py)."""

    async def remember(self, answer: Answer, has_more: bool = False) -> str: ...

    async def recall(self, key: str) -> Answer | None: ...

    async def claim_more(self, key: str) -> bool: ...


class AnswerCache:
    """The most recent `capacity` answers, by key (least recently used ones leave first)."""

    def __init__(self, capacity: int = 2000) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[str, Answer] = OrderedDict()
        self._more_open: set[str] = set()  # keys whose «المزيد» is offered and unused

    def put(self, answer: Answer, has_more: bool = False) -> str:
        """Remember `answer`; `has_more` when its message offers «المزيد»."""
        key = secrets.token_urlsafe(6)  # 8 characters, 48 random bits
        self._entries[key] = answer
        if has_more:
            self._more_open.add(key)
        while len(self._entries) > self.capacity:
            old, _ = self._entries.popitem(last=False)
            self._more_open.discard(old)
        return key

    def take_more(self, key: str) -> bool:
        """Use the «المزيد» of answer `key`: True once, False if it was used or never offered."""
        if key not in self._more_open:
            return False
        self._more_open.discard(key)
        return True

    def get(self, key: str) -> Answer | None:
        answer = self._entries.get(key)
        if answer is not None:
            self._entries.move_to_end(key)
        return answer

    def __len__(self) -> int:
        return len(self._entries)

    # The AnswerStore interface: the same operations, awaitable like the Redis-backed store.

    async def remember(self, answer: Answer, has_more: bool = False) -> str:
        return self.put(answer, has_more)

    async def recall(self, key: str) -> Answer | None:
        return self.get(key)

    async def claim_more(self, key: str) -> bool:
        return self.take_more(key)


def more_data(key: str) -> str:
    return f"{MORE}:{key}"


def context_data(key: str, rank: int) -> str:
    return f"{CONTEXT}:{key}:{rank}"


def who_data(key: str, rank: int) -> str:
    return f"{WHO}:{key}:{rank}"


def sources_data(page: int) -> str:
    return f"{SOURCES}:{page}"


def parse_button(data: str | None) -> Button | None:
    """The button behind callback data we made; None for anything else."""
    parts = (data or "").split(":")
    try:
        if parts[0] == MORE and len(parts) == 2 and parts[1]:
            return Button(MORE, parts[1])
        if parts[0] in (CONTEXT, WHO) and len(parts) == 3 and parts[1]:
            return Button(parts[0], parts[1], _positive(parts[2]))
        if parts[0] == SOURCES and len(parts) == 2:
            return Button(SOURCES, number=_positive(parts[1]))
    except ValueError:
        return None
    return None


def _positive(text: str) -> int:
    if not text.isdigit() or len(text) > 6:
        raise ValueError(text)
    number = int(text)
    if number < 1:
        raise ValueError(text)
    return number
