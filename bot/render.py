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
  Everything else is capped so that any block fits in one message: a citation shows
  at most `SOURCES_SHOWN` sources ("and N more"), titles at most `TITLE_LIMIT`
  characters, file names and outlets less; a /sources page of `SOURCES_PAGE_LIMIT`
  entries fits whatever the titles. tests/test_bot_render.py proves the limit for
  any input (a property test).
* Corpus names: titles, outlets, dates and file names go through
  `retrieval.display.printable`, so a U+202E or U+2069 in a title cannot reverse a
  citation or close the isolate around it, and a newline cannot fake a line.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlparse

from telegram.constants import MessageLimit

from bot import texts
from bot.source_groups import grouped_citation
from bot.storage import Gap, UsageStats
from retrieval.display import printable
from retrieval.engine import ReloadReport, Snapshot
from retrieval.filters import FilterError, Filters, Selection
from retrieval.models import Hit, Problem, Sentence, Source

MAX_LENGTH = MessageLimit.MAX_TEXT_LENGTH  # 4096
RLM = "\u200f"  # RIGHT-TO-LEFT MARK: a strong RTL character that shows nothing
RLI = "\u2067"  # RIGHT-TO-LEFT ISOLATE
FSI = "\u2068"  # FIRST STRONG ISOLATE: the content picks its own direction
PDI = "\u2069"  # POP DIRECTIONAL ISOLATE
CONTINUED = RLM + texts.CONTINUED
CONTINUED_ROOM = len(CONTINUED) + 2  # the "continued" line and its separator
_LIST_LIMIT = 10  # file names listed per section of a reload report
_LINE_LIMIT = 300  # characters of one problem reason (or file name) shown
SOURCES_SHOWN = 3  # sources cited under one sentence; the rest are counted
TITLE_LIMIT = 200  # characters of a title shown (UTF-16 units, with the ellipsis)
_OUTLET_LIMIT = 80
_DATE_LIMIT = 40
_URL_LIMIT = 2000  # longer addresses are shown as plain titles (no link)
_NAME_LIMIT = 120  # characters of a file name in the /sources listing
SOURCES_PAGE_LIMIT = 10  # entries on one /sources page: 10 x (200 + 120 + 30) < 4096
_GAP_EXAMPLE_LIMIT = 200  # characters of a question (or its terms) shown by /gaps
_TAG_RE = re.compile(r"<[^>]*>")


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a paginated listing and where it sits."""

    text: str
    number: int  # 1-based
    count: int


def message_length(markup: str) -> int:
    """The length Telegram checks against 4096: UTF-16 code units of the text shown once
    tags are removed and entities decoded (a link's address does not count).

    Only for markup made here: text is escaped, attribute values are quoted with their
    `<`, `>` and `"` escaped, so a tag is exactly `<` up to the next `>`.
    """
    return utf16_length(html.unescape(_TAG_RE.sub("", markup)))


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-16 units, ending with "…" when cut."""
    if utf16_length(text) <= limit:
        return text
    used = 0
    for i, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit - 1:
            return text[:i] + "…"
    return text  # not reached


def shown_name(text: str | None, limit: int = _LINE_LIMIT) -> str:
    """A title, outlet, date or file name from the corpus, on one line, without bidi or
    control characters, capped, escaped: ready to sit in a message."""
    return escape(clip(printable(text or ""), limit))


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
    """`text` escaped, with the characters of `spans` (shifted by -offset) in bold.

    Bidi and control characters are dropped after the spans are placed (so offsets
    still hold): a U+2069 in a sentence cannot close the isolate it sits in.
    """
    out = []
    at = 0
    for start, end in _clip_spans(spans, offset, len(text)):
        out.append(escape(printable(text[at:start])))
        out.append(f"<b>{escape(printable(text[start:end]))}</b>")
        at = end
    out.append(escape(printable(text[at:])))
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
    """The source's title, as a link when it has a (reasonably sized) web address."""
    title = shown_name(source.title, TITLE_LIMIT) or shown_name(source.doc)
    url = source.url
    if url and len(url) <= _URL_LIMIT and urlparse(url).scheme in ("http", "https"):
        return f'<a href="{html.escape(printable(url), quote=True)}">{title}</a>'
    return title


def citation(sources: Sequence[Source]) -> str:
    """The citation line under a sentence: the first `SOURCES_SHOWN` documents that hold
    it, then how many more (a boilerplate line may sit in hundreds of documents); grouped
    by outlet and date instead when several outlets ran it (bot/source_groups.py)."""
    grouped = grouped_citation(sources)
    if grouped is not None:
        return grouped
    parts = []
    for source in sources[:SOURCES_SHOWN]:
        extra = "، ".join(
            x
            for x in (
                shown_name(source.outlet, _OUTLET_LIMIT),
                shown_name(source.date, _DATE_LIMIT),
            )
            if x
        )
        parts.append(own_isolate(link(source)) + (f" ({own_isolate(extra)})" if extra else ""))
    if len(sources) > SOURCES_SHOWN:
        parts.append(texts.MORE_SOURCES.format(count=len(sources) - SOURCES_SHOWN))
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
    cost = [utf16_length(ch) for ch in text]  # tags and entities cost nothing (message_length)
    pieces = []
    start = 0
    while start < len(text):
        used = 0
        end = start
        last_space = -1
        while end < len(text):
            step = cost[end]
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
    # Blank pieces are dropped; a blank text keeps its first piece (within budget).
    return [(s, e) for s, e in pieces if text[s:e].strip()] or pieces[:1] or [(0, 0)]


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


def render_answer(
    hits: Sequence[Hit], limit: int = MAX_LENGTH, outcome: str = "answer", filters: str = ""
) -> list[str]:
    """The cited sentences of one page of results, as one or more messages; hits of a
    "related" outcome are headed as related, not as the answer. `filters`: the line
    saying which filters selected them (`filters_line`), above the header."""
    first, last = hits[0].rank, hits[-1].rank
    title = texts.ANSWER_HEADER if outcome == "answer" else texts.RELATED_HEADER
    if first != 1:
        title = texts.MORE_HEADER.format(first=first, last=last)
    header = (filters + "\n" if filters else "") + rtl_line(title)
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
    """One page of the corpus listing: titles and sentence counts (at most
    SOURCES_PAGE_LIMIT entries, so the page fits in one message)."""
    per_page = min(max(per_page, 1), SOURCES_PAGE_LIMIT)
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
        name = shown_name(source.doc, _NAME_LIMIT)
        lines.append(rtl_line(f"{line}\n{RLM}<code>{own_isolate(name)}</code>"))
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
            lines += _listing(title, [f"<code>{shown_name(n)}</code>" for n in names])
    if report.after.problems:
        lines += _listing(texts.RELOAD_SKIPPED, _problem_lines(report.after.problems))
    if report.after.cache_error:
        lines.append(rtl_line(texts.RELOAD_NOT_CACHED))
        lines.append(rtl_line(own_isolate(shown_name(report.after.cache_error))))
    return pack(lines, separator="\n")


def render_reload_failure(reason: str, seconds: float, current: Snapshot | None) -> str:
    """Why a reload failed, and that the old index still answers."""
    lines = [
        rtl_line(texts.RELOAD_FAILED.format(seconds=_seconds(seconds))),
        rtl_line(own_isolate(shown_name(reason, 1000))),
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
    usage: UsageStats | None = None,
    storage_problem: str | None = None,
) -> str:
    """The /stats summary; then the question log's last days (`usage`), or why the log is
    unavailable (`storage_problem`)."""
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
    lines = [rtl_text(text)]
    if storage_problem is not None:
        reason = own_isolate(shown_name(storage_problem, 500))
        lines.append(rtl_line(texts.STORAGE_UNAVAILABLE.format(reason=reason)))
    elif usage is not None:
        lines += render_usage(usage)
    return "\n".join(lines)


def render_usage(usage: UsageStats) -> list[str]:
    """The question log's lines of /stats: per day, no-hit share, 👍/👎, p50/p95."""
    per_day = "، ".join(f"{day:%m-%d}: {count}" for day, count in usage.per_day)
    share = usage.no_hits_share
    return [
        "",
        rtl_line(texts.USAGE_HEADER.format(days=usage.days)),
        rtl_line(texts.USAGE_PER_DAY.format(days=own_isolate(per_day))),
        rtl_line(
            texts.USAGE_QUESTIONS.format(
                questions=usage.questions,
                no_hits=usage.no_hits,
                share="—" if share is None else f"{share:.0%}",
            )
        ),
        rtl_line(texts.USAGE_VOTES.format(up=usage.up, down=usage.down)),
        rtl_line(
            texts.USAGE_LATENCY.format(p50=_millis(usage.p50_ms), p95=_millis(usage.p95_ms))
            if usage.p50_ms is not None
            else texts.USAGE_NO_LATENCY
        ),
    ]


def render_gaps(gaps: Sequence[Gap], days: int, storage_problem: str | None = None) -> list[str]:
    """/gaps: the most frequent recent questions with no hits or a 👎, grouped by terms."""
    if storage_problem is not None:
        reason = own_isolate(shown_name(storage_problem, 500))
        return [rtl_line(texts.STORAGE_UNAVAILABLE.format(reason=reason))]
    if not gaps:
        return [rtl_line(texts.NO_GAPS.format(days=days))]
    lines = [rtl_line(texts.GAPS_HEADER.format(days=days))]
    for n, gap in enumerate(gaps, 1):
        example = rtl_isolate(escape(clip(printable(gap.example), _GAP_EXAMPLE_LIMIT)))
        line = texts.GAP_LINE.format(
            n=n, example=example, count=gap.count, no_hits=gap.no_hits, down=gap.count - gap.no_hits
        )
        terms = rtl_isolate(escape(clip(" ".join(gap.terms), _GAP_EXAMPLE_LIMIT)))
        lines.append(rtl_line(line) + "\n" + rtl_line(texts.GAP_TERMS.format(terms=terms)))
    return pack(lines, separator="\n")


def _millis(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


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
    return [f"<code>{shown_name(p.path)}</code>: {shown_name(p.reason)}" for p in problems]


def _seconds(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.0f}"


def filters_line(filters: Filters, selection: Selection | None = None) -> str:
    """«المرشّحات: الوسيلة: …، من: …، إلى: …», names escaped; "" without filters. Says how
    many undated documents a date filter left out."""
    if not filters:
        return ""
    parts = []
    if filters.outlets:
        names = texts.FILTER_OR.join(_quoted(name) for name in filters.outlets)
        parts.append(texts.FILTER_OUTLETS.format(names=names))
    if filters.date_from:
        parts.append(texts.FILTER_FROM.format(date=filters.date_from.isoformat()))
    if filters.date_to:
        parts.append(texts.FILTER_TO.format(date=filters.date_to.isoformat()))
    line = texts.FILTERS_LINE.format(parts=texts.FILTER_SEPARATOR.join(parts))
    if selection is not None and selection.undated:
        line += " " + texts.FILTER_UNDATED.format(count=selection.undated)
    return rtl_line(line)


def render_filter_error(error: FilterError) -> str:
    """The reply to a filter token that cannot be used: the token, why, an example."""
    reason = texts.FILTER_REASONS[error.reason]
    line = texts.FILTER_INVALID.format(token=_quoted(error.token), reason=reason)
    return rtl_line(line) + "\n" + rtl_line(texts.FILTER_USAGE)


def render_filter_empty(filters: Filters, selection: Selection, known: Sequence[str]) -> str:
    """The reply when the filters select no document: the unknown outlet names and the
    outlets there are, or that nothing matches them all."""
    lines = [filters_line(filters, selection)]
    if selection.unknown_outlets:
        names = texts.FILTER_OR.join(_quoted(n) for n in selection.unknown_outlets)
        lines.append(rtl_line(texts.FILTER_UNKNOWN_OUTLET.format(names=names)))
        if known:
            shown = texts.FILTER_SEPARATOR.join(_quoted(n) for n in known)
            lines.append(rtl_line(texts.FILTER_KNOWN_OUTLETS.format(names=shown)))
    else:
        lines.append(rtl_line(texts.FILTER_NO_MATCH))
    return "\n".join(lines)


def _quoted(name: str) -> str:
    """«name», escaped, capped, keeping its own direction (a Latin outlet name)."""
    return "«" + own_isolate(shown_name(name, _OUTLET_LIMIT)) + "»"
