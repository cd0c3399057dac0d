"""Turning search results and reports into Telegram HTML messages: pure functions, str in, str out.

Three rules hold for everything rendered here:

* Escaping: every piece of corpus or user text goes through `html.escape`, so a
  sentence holding `<b>` or `&` arrives as written; only this module writes tags.
* Direction: Telegram gives each paragraph (line) the direction of its first strong
  character. Every line starts with RIGHT-TO-LEFT MARK (a strong RTL character that
  is invisible), and text that may start with a Latin word or a digit (a cited
  sentence, a title, a file name) sits inside an isolate (U+2067 RLI / U+2068 FSI …
  U+2069 PDI), so neither the paragraph nor its neighbours flip to left-to-right.
* Length: a reply longer than Telegram's 4096 characters is split between cited
  sentences (`pack`); a single sentence too long for one message is cut between
  words before it is marked up, so a cut never falls inside a tag or an entity.
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlparse

from telegram.constants import MessageLimit

from bot import texts
from bot.source_groups import grouped_citation
from retrieval.engine import ReloadReport, Snapshot
from retrieval.models import Hit, Problem, Sentence, Source

MAX_LENGTH = MessageLimit.MAX_TEXT_LENGTH  # 4096
RLM = "\u200f"  # RIGHT-TO-LEFT MARK: a strong RTL character that shows nothing
RLI = "\u2067"  # RIGHT-TO-LEFT ISOLATE
FSI = "\u2068"  # FIRST STRONG ISOLATE: the content picks its own direction
PDI = "\u2069"  # POP DIRECTIONAL ISOLATE
_BOLD_OVERHEAD = len("<b></b>")
CONTINUED = RLM + texts.CONTINUED
CONTINUED_ROOM = len(CONTINUED) + 2  # the "continued" line and its separator
_LIST_LIMIT = 10  # file names listed per section of a reload report
_LINE_LIMIT = 300  # characters of one problem reason shown


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a paginated listing and where it sits."""

    text: str
    number: int  # 1-based
    count: int


def message_length(markup: str) -> int:
    """Telegram counts UTF-16 code units; markup is never shorter than the text it shows."""
    return len(markup.encode("utf-16-le")) // 2


def rtl_line(markup: str) -> str:
    """One paragraph that reads right-to-left whatever its first letter is."""
    return RLM + markup


def rtl_text(markup: str) -> str:
    """Every line of a fixed text made right-to-left (help lines start with "/command")."""
    return "\n".join(rtl_line(line) if line else line for line in markup.split("\n"))


def rtl_isolate(markup: str) -> str:
    """Text laid out right-to-left as a unit (a cited Arabic sentence)."""
    return f"{RLI}{markup}{PDI}"


def own_isolate(markup: str) -> str:
    """Text that keeps its own direction (a Latin title or a file name) inside an RTL line."""
    return f"{FSI}{markup}{PDI}"


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def emphasize(text: str, spans: Iterable[tuple[int, int]], offset: int = 0) -> str:
    """`text` escaped, with the characters of `spans` (shifted by -offset) in bold."""
    out = []
    at = 0
    for start, end in _clip_spans(spans, offset, len(text)):
        out.append(escape(text[at:start]))
        out.append(f"<b>{escape(text[start:end])}</b>")
        at = end
    out.append(escape(text[at:]))
    return "".join(out)


def _clip_spans(
    spans: Iterable[tuple[int, int]], offset: int, length: int
) -> list[tuple[int, int]]:
    """Spans moved into [0, length), sorted, with overlapping ones merged."""
    clipped: list[tuple[int, int]] = []
    for start, end in sorted((max(s - offset, 0), min(e - offset, length)) for s, e in spans):
        if start >= end:
            continue
        if clipped and start <= clipped[-1][1]:
            clipped[-1] = (clipped[-1][0], max(end, clipped[-1][1]))
        else:
            clipped.append((start, end))
    return clipped


def link(source: Source) -> str:
    """The source's title, as a link when it has a web address."""
    title = escape(source.title)
    if source.url and urlparse(source.url).scheme in ("http", "https"):
        return f'<a href="{html.escape(source.url, quote=True)}">{title}</a>'
    return title


def citation(sources: Sequence[Source]) -> str:
    """The citation line under a sentence: every document that holds it (grouped by
    outlet and date when several outlets ran it, bot/source_groups.py)."""
    grouped = grouped_citation(sources)
    if grouped is not None:
        return grouped
    parts = []
    for source in sources:
        extra = "، ".join(escape(x) for x in (source.outlet, source.date) if x)
        parts.append(own_isolate(link(source)) + (f" ({own_isolate(extra)})" if extra else ""))
    prefix = texts.SOURCE_PREFIX if len(sources) == 1 else texts.SOURCES_PREFIX
    return rtl_line(f"{prefix} " + "؛ ".join(parts))


def hit_blocks(hit: Hit, limit: int = MAX_LENGTH) -> list[str]:
    """A cited sentence as message blocks: usually one; several when the sentence alone
    would not fit in a message (then cut between words, the citation under the last)."""
    label = f"{hit.rank}. "
    cite = citation(hit.sources)
    budget = limit - CONTINUED_ROOM - message_length(cite) - len(RLM + label + RLI + PDI) - 2
    pieces = split_text(hit.text, hit.highlights, max(budget, 100))
    blocks = []
    for i, (start, end) in enumerate(pieces):
        body = emphasize(hit.text[start:end], hit.highlights, offset=start)
        head = label if i == 0 else "… "
        blocks.append(rtl_line(head + rtl_isolate(body)))
    blocks[-1] += "\n" + cite
    return blocks


def split_text(text: str, spans: Sequence[tuple[int, int]], budget: int) -> list[tuple[int, int]]:
    """Cut `text` into (start, end) pieces whose marked-up form (escaped, spans in bold)
    stays within `budget` UTF-16 units: between words when possible, never inside a
    character. One piece when the whole text fits."""
    cost = [message_length(escape(ch)) for ch in text]
    bold_starts = {max(s, 0) for s, e in spans if e > s}
    pieces = []
    start = 0
    while start < len(text):
        used = 0
        end = start
        last_space = -1
        while end < len(text):
            step = cost[end] + (_BOLD_OVERHEAD if end in bold_starts or end == start else 0)
            if used + step > budget:
                break
            used += step
            if text[end].isspace():
                last_space = end
            end += 1
        if end < len(text) and last_space > start:
            end = last_space + 1  # keep whole words; the space ends this piece
        end = max(end, start + 1)
        pieces.append((start, end))
        start = end
    return [(s, e) for s, e in pieces if text[s:e].strip()] or [(0, len(text))]


def pack(blocks: Sequence[str], limit: int = MAX_LENGTH, separator: str = "\n\n") -> list[str]:
    """Blocks joined into as few messages as fit within `limit`; a block is never cut.

    Every message after the first opens with a "continued" line: Telegram strips
    invisible marks from the start of a message, so its first line must begin with an
    Arabic letter to read right-to-left. Blocks must fit in `limit - CONTINUED_ROOM`.
    """
    messages: list[str] = []
    current = ""
    for block in blocks:
        candidate = f"{current}{separator}{block}" if current else block
        if current and message_length(candidate) > limit:
            messages.append(current)
            current = f"{CONTINUED}{separator}{block}"
        else:
            current = candidate
    if current:
        messages.append(current)
    return messages


def render_answer(hits: Sequence[Hit], limit: int = MAX_LENGTH) -> list[str]:
    """The cited sentences of one page of results, as one or more messages."""
    first, last = hits[0].rank, hits[-1].rank
    title = texts.ANSWER_HEADER if first == 1 else texts.MORE_HEADER.format(first=first, last=last)
    header = rtl_line(title)
    blocks = [header]
    for hit in hits:
        blocks += hit_blocks(hit, limit)
    return pack(blocks, limit)


def render_help(is_admin: bool) -> str:
    return rtl_text(texts.HELP + (texts.HELP_ADMIN if is_admin else ""))


def render_context(
    rank: int, source: Source, sentences: Sequence[Sentence], focus: int, limit: int = MAX_LENGTH
) -> list[str]:
    """The sentences around a cited one (at position `focus`), the cited one in bold."""
    header = rtl_line(texts.CONTEXT_HEADER.format(rank=rank, title=own_isolate(link(source))))
    blocks = [header]
    for sentence in sentences:
        spans = [(0, len(sentence.text))] if sentence.position == focus else []
        budget = limit - CONTINUED_ROOM - len(RLM + RLI + PDI) - 2
        for start, end in split_text(sentence.text, spans, budget):
            body = emphasize(sentence.text[start:end], spans, offset=start)
            blocks.append(rtl_line(rtl_isolate(body)))
    return pack(blocks, limit, separator="\n")


def render_sources(
    sources: Sequence[Source], counts: Sequence[int], page: int, per_page: int = 10
) -> Page:
    """One page of the corpus listing: titles and sentence counts."""
    pages = max(1, -(-len(sources) // per_page))
    page = min(max(page, 1), pages)
    first = (page - 1) * per_page
    lines = [
        rtl_line(
            texts.SOURCES_HEADER.format(
                count=len(sources), sentences=sum(counts), page=page, pages=pages
            )
        )
    ]
    for n in range(first, min(first + per_page, len(sources))):
        source = sources[n]
        title = own_isolate(link(source))
        line = texts.SOURCE_LINE.format(n=n + 1, title=title, sentences=counts[n])
        lines.append(rtl_line(f"{line}\n{RLM}<code>{escape(_clip(source.doc))}</code>"))
    return Page("\n".join(lines), page, pages)


def render_reload_report(
    report: ReloadReport, seconds: float, folders: Sequence[object] = ()
) -> list[str]:
    """What a successful reload changed (and which corpus folders it read), for the admin."""
    after = report.after.index
    before = report.before.index if report.before else None
    lines = [
        rtl_line(texts.RELOAD_DONE.format(seconds=_seconds(seconds))),
        *(
            rtl_line(
                texts.RELOAD_FOLDER.format(folder=own_isolate(f"<code>{escape(str(f))}</code>"))
            )
            for f in folders
        ),
        rtl_line(
            texts.RELOAD_DOCUMENTS.format(
                before=len(before.sources) if before else 0, after=len(after.sources)
            )
        ),
        rtl_line(
            texts.RELOAD_SENTENCES.format(
                before=before.n_sentences if before else 0, after=after.n_sentences
            )
        ),
    ]
    changes = (
        (texts.RELOAD_ADDED, report.added),
        (texts.RELOAD_REMOVED, report.removed),
        (texts.RELOAD_CHANGED, report.changed),
    )
    if not any(names for _, names in changes):
        lines.append(rtl_line(texts.RELOAD_UNCHANGED))
    for title, names in changes:
        if names:
            lines += _listing(title, [f"<code>{escape(_clip(n))}</code>" for n in names])
    if report.after.problems:
        lines += _listing(texts.RELOAD_SKIPPED, _problem_lines(report.after.problems))
    if report.after.cache_error:
        lines.append(rtl_line(texts.RELOAD_NOT_CACHED))
        lines.append(rtl_line(own_isolate(escape(_clip(report.after.cache_error)))))
    return pack(lines, separator="\n")


def render_reload_failure(reason: str, seconds: float, current: Snapshot | None) -> str:
    """Why a reload failed, and that the old index still answers."""
    lines = [
        rtl_line(texts.RELOAD_FAILED.format(seconds=_seconds(seconds))),
        rtl_line(own_isolate(escape(_clip(reason, 1000)))),
    ]
    if current is not None:
        index = current.index
        lines.append(
            rtl_line(
                texts.RELOAD_KEPT.format(documents=len(index.sources), sentences=index.n_sentences)
            )
        )
    return "\n".join(lines)


def render_stats(
    snapshot: Snapshot,
    uptime: float,
    answered: int,
    median_latency: float | None,
    now: float | None = None,
) -> str:
    """The /stats summary."""
    index = snapshot.index
    now = time.time() if now is None else now
    median = (
        texts.NO_LATENCY if median_latency is None else f"{median_latency * 1000:.0f} مللي ثانية"
    )
    text = texts.STATS.format(
        uptime=format_duration(uptime),
        documents=len(index.sources),
        sentences=index.n_sentences,
        how=texts.INDEX_FROM_CACHE if snapshot.from_cache else texts.INDEX_BUILT,
        index_seconds=_seconds(snapshot.seconds),
        loaded=format_duration(now - snapshot.loaded_at),
        answered=answered,
        median=median,
    )
    return rtl_text(text)


def format_duration(seconds: float) -> str:
    """A duration in Arabic units, largest two: "2 ي 3 س", "5 د 12 ث"."""
    total = max(int(seconds), 0)
    units = [("ي", 86400), ("س", 3600), ("د", 60), ("ث", 1)]
    parts = []
    for name, size in units:
        amount, total = divmod(total, size)
        if amount or (not parts and size == 1):
            parts.append(f"{amount} {name}")
    return " ".join(parts[:2])


def _listing(title: str, items: Sequence[str]) -> list[str]:
    """A titled list of at most _LIST_LIMIT lines, then how many more there are."""
    lines = [rtl_line(title.format(count=len(items)))]
    lines += [rtl_line(f"• {own_isolate(item)}") for item in items[:_LIST_LIMIT]]
    if len(items) > _LIST_LIMIT:
        lines.append(rtl_line(texts.MORE_ITEMS.format(count=len(items) - _LIST_LIMIT)))
    return lines


def _problem_lines(problems: Sequence[Problem]) -> list[str]:
    return [f"<code>{escape(_clip(p.path))}</code>: {escape(_clip(p.reason))}" for p in problems]


def _clip(text: str, limit: int = _LINE_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _seconds(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.0f}"
