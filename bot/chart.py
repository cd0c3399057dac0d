"""The timeline chart: stacked bars of relevant sentences per day (or week), one colour per
outlet, as a PNG.

Labels are drawn as written (logical order): since 3.11 matplotlib lays text out with
libraqm, which joins Arabic letters and orders right-to-left runs itself. The older
recipe, shaping with arabic-reshaper and reordering with python-bidi before drawing,
now gets reordered twice and comes out backwards (tests/test_timeline.py checks the
joined forms and the direction on the rendered pixels). The font is the DejaVu Sans
shipped in bot/fonts/, which has the Arabic glyphs. matplotlib is imported only when
a chart is drawn (it takes a second), and only its object API is used (Figure and the
Agg canvas, no pyplot), so charts drawn in worker threads share no global state.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from retrieval.timeline import Timeline

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FONT = Path(__file__).resolve().parent / "fonts" / "DejaVuSans.ttf"
SIZE_INCHES = (10.0, 5.0)
DPI = 100  # 1000 × 500 pixels
MAX_OUTLETS = 8  # colours shown; the rest are summed as "أخرى"
MAX_TICKS = 12  # date labels under the bars
TOPIC_CHARACTERS = 60
COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#7f7f7f",
)
OTHERS = "أخرى"
TITLE = {"day": "تغطية «{topic}»: الجمل في كل يوم", "week": "تغطية «{topic}»: الجمل في كل أسبوع"}
Y_LABEL = "عدد الجمل"


@dataclass(frozen=True, slots=True)
class Series:
    """One outlet's bars: its label and a height per bin (what the chart plots)."""

    outlet: str
    heights: tuple[int, ...]


def series(timeline: Timeline) -> list[Series]:
    """The stacked series, bottom first: the busiest outlets, then the rest summed."""
    shown = list(timeline.outlets[:MAX_OUTLETS])
    rest = set(timeline.outlets[MAX_OUTLETS:])
    out = []
    for outlet in shown:
        out.append(Series(outlet, tuple(dict(b.counts).get(outlet, 0) for b in timeline.bins)))
    if rest:
        heights = tuple(sum(c for o, c in b.counts if o in rest) for b in timeline.bins)
        out.append(Series(OTHERS, heights))
    return out


def as_label(text: str) -> str:
    """`text` as a matplotlib label: `$` escaped, which would otherwise start mathtext."""
    return text.replace("$", r"\$")


def draw(timeline: Timeline) -> Figure:
    """The chart as a matplotlib Figure (tests read its bars; `png` renders it)."""
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.ticker import MaxNLocator

    font = FontProperties(fname=str(FONT))
    figure = Figure(figsize=SIZE_INCHES, dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    positions = list(range(len(timeline.bins)))
    bottoms = [0] * len(positions)
    for n, one in enumerate(series(timeline)):
        axes.bar(
            positions,
            one.heights,
            bottom=bottoms,
            width=0.8,
            color=COLOURS[n % len(COLOURS)],
            label=as_label(one.outlet),
        )
        bottoms = [b + h for b, h in zip(bottoms, one.heights, strict=True)]
    step = max(1, -(-len(positions) // MAX_TICKS))
    ticks = positions[::step]
    axes.set_xticks(ticks, [timeline.bins[i].start.isoformat() for i in ticks])
    for tick in axes.get_xticklabels():
        tick.set_fontproperties(font)
        tick.set_rotation(30 if len(ticks) > 6 else 0)
        tick.set_horizontalalignment("right" if len(ticks) > 6 else "center")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    for tick in axes.get_yticklabels():
        tick.set_fontproperties(font)
    axes.set_ylabel(as_label(Y_LABEL), fontproperties=font)
    topic = " ".join(timeline.topic.split())
    if len(topic) > TOPIC_CHARACTERS:
        topic = topic[: TOPIC_CHARACTERS - 1] + "…"
    axes.set_title(as_label(TITLE[timeline.unit].format(topic=topic)), fontproperties=font)
    axes.legend(prop=font, loc="upper left", frameon=False)
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="y", alpha=0.3)
    return figure


def png(figure: Figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def render_png(timeline: Timeline) -> bytes:
    """The timeline chart as PNG bytes."""
    return png(draw(timeline))
