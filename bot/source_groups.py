"""The source list of a sentence that several outlets ran, grouped by outlet and date.

Agency copy runs in many outlets, often under the same headline, so a sentence may
cite a dozen documents whose titles repeat. When its sources span two or more
outlets, the citation becomes one line per outlet (the outlet that ran it first on
top), each listing its dates in order; a title is written once, and later copies
under the same title show only their date (linked to the copy when it has a URL).
Telegram HTML, every corpus text escaped, like render.py.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlparse

from retrieval.dates import parse_date
from retrieval.display import printable
from retrieval.models import Source
from retrieval.outlet_order import group_by_outlet

HEADER = "المصادر ({outlets} وسائل، {documents} وثيقة):"
NO_OUTLET = "وسيلة غير مسماة"
NO_DATE = "بلا تاريخ"
MORE_OUTLETS = "… و{count} وسائل أخرى"
MORE_COPIES = "و{count} غيرها"
MAX_OUTLETS = 8  # outlet lines shown under one sentence
MAX_COPIES = 4  # documents shown per outlet line

RLM = "\u200f"
FSI = "\u2068"
PDI = "\u2069"


@dataclass(frozen=True, slots=True)
class OutletGroup:
    outlet: str | None
    sources: tuple[Source, ...]  # earliest date first, undated last

    @property
    def first(self) -> dt.date | None:
        return parse_date(self.sources[0].date)


def outlet_groups(sources: Sequence[Source]) -> list[OutletGroup]:
    """Sources grouped by outlet: the outlet that ran it first on top, undated last;
    outlets first dated the same day in citation order (retrieval/outlet_order.py)."""
    return [OutletGroup(o, found) for o, found in group_by_outlet(sources, _itself)]


def _itself(source: Source) -> Source:
    return source


def grouped_citation(sources: Sequence[Source]) -> str | None:
    """The grouped source list (HTML lines), or None when the sources share one outlet."""
    groups = outlet_groups(sources)
    if len(groups) < 2:
        return None
    lines = [RLM + HEADER.format(outlets=len(groups), documents=len(sources))]
    shown_titles: set[str] = set()
    for group in groups[:MAX_OUTLETS]:
        entries = [_entry(source, shown_titles) for source in group.sources[:MAX_COPIES]]
        if len(group.sources) > MAX_COPIES:
            entries.append(MORE_COPIES.format(count=len(group.sources) - MAX_COPIES))
        outlet = _isolate(_escape(group.outlet or NO_OUTLET, 40))
        lines.append(f"{RLM}• <b>{outlet}</b>: " + "، ".join(entries))
    if len(groups) > MAX_OUTLETS:
        lines.append(RLM + MORE_OUTLETS.format(count=len(groups) - MAX_OUTLETS))
    return "\n".join(lines)


def _entry(source: Source, shown_titles: set[str]) -> str:
    """ "DATE «TITLE»" the first time a title appears; later copies show only their date."""
    date = _isolate(_escape(source.date or NO_DATE, 20))
    if source.title in shown_titles:
        return _linked(date, source.url)
    shown_titles.add(source.title)
    return f"{date} «{_isolate(_linked(_escape(source.title), source.url))}»"


def _linked(markup: str, url: str | None) -> str:
    if url and urlparse(url).scheme in ("http", "https"):
        return f'<a href="{html.escape(url, quote=True)}">{markup}</a>'
    return markup


def _escape(text: str, limit: int = 60) -> str:
    """Corpus text made printable (retrieval/display.py), cut to `limit` characters so
    8 outlets × 4 copies always fit a message, and escaped."""
    text = printable(text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return html.escape(text, quote=False)


def _isolate(markup: str) -> str:
    return f"{FSI}{markup}{PDI}"
