"""Timelines: relevant sentences counted per day and outlet, drawn as stacked bars with Arabic
labels joined and right-to-left, sent by /timeline as a photo and written by the CLI."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import numpy as np
import pytest
import yaml
from bot_runner import ADMIN, MEMBER, RunningBot, visible, write_config
from fake_bot_api import FakeBotAPI
from timeline_samples import ALGHAD, ALRAI, MAMLAKA, PETRA, TOPIC, document, write_story

from bot import chart
from bot.cli import main
from bot.timeline import caption
from retrieval.engine import Engine
from retrieval.timeline import build_timeline, timeline_for

D = dt.date
CAPTION = (
    "«حرائق غابات عجلون»: 17 جملة في 9 وثيقة من 2024-08-01 إلى 2024-08-09؛ "
    "أكثر الأيام 2024-08-03 (8 جملة)؛ 1 بلا تاريخ لم تُحسب"
)
# The story's fire sentences per day and outlet (timeline_samples.STORY): the festival
# item of 2024-08-10 is not about the fires, and the undated note is counted apart.
EXPECTED_DAYS = {
    D(2024, 8, 1): {PETRA: 2, MAMLAKA: 1},
    D(2024, 8, 2): {ALGHAD: 2},
    D(2024, 8, 3): {ALGHAD: 3, PETRA: 3, MAMLAKA: 2},
    D(2024, 8, 4): {ALRAI: 2},
    D(2024, 8, 5): {},
    D(2024, 8, 6): {MAMLAKA: 1},
    D(2024, 8, 7): {},
    D(2024, 8, 8): {},
    D(2024, 8, 9): {ALRAI: 1},
}


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    engine = Engine(write_story(tmp_path_factory.mktemp("story")))
    engine.open()
    return engine


def test_relevant_sentences_are_counted_per_day_and_outlet(story: Engine) -> None:
    timeline = timeline_for(story, TOPIC)
    assert timeline is not None
    assert timeline.unit == "day"
    assert {b.start: dict(b.counts) for b in timeline.bins} == EXPECTED_DAYS
    assert (timeline.mentions, timeline.documents, timeline.undated) == (17, 9, 1)
    assert (timeline.first, timeline.last, timeline.busiest) == (
        D(2024, 8, 1),
        D(2024, 8, 9),
        (D(2024, 8, 3), 8),
    )
    # Most mentions first (5, 5, 4, 3), a tie in name order.
    assert timeline.outlets == (ALGHAD, PETRA, MAMLAKA, ALRAI)
    assert caption(timeline) == CAPTION


def test_a_topic_with_no_dated_matches_has_no_timeline(story: Engine) -> None:
    assert timeline_for(story, "قطار الأنفاق السريع") is None


def test_a_span_over_two_months_is_counted_per_week(tmp_path: Path) -> None:
    folder = tmp_path / "long"
    folder.mkdir()
    dates = ["2024-01-03", "2024-01-05", "2024-01-08", "2024-03-20", "2024-03-24"]
    for n, date in enumerate(dates):
        text = document(PETRA if n % 2 else ALRAI, date, f"تقرير {n}", ("ارتفع منسوب سد الموجب.",))
        (folder / f"{n}.md").write_text(text, encoding="utf-8")
    engine = Engine(folder)
    engine.open()
    timeline = timeline_for(engine, "منسوب سد الموجب")
    assert timeline is not None and timeline.unit == "week"
    # The one sentence is identical in every file: one hit citing five documents.
    weeks = {b.start: dict(b.counts) for b in timeline.bins if b.counts}
    assert weeks == {
        D(2024, 1, 1): {ALRAI: 1, PETRA: 1},  # Monday of the week of January 3 and 5
        D(2024, 1, 8): {ALRAI: 1},
        D(2024, 3, 18): {PETRA: 1, ALRAI: 1},
    }
    assert len(timeline.bins) == 12  # every week from January 1 to March 18, empty ones too
    assert caption(timeline).endswith("؛ الأعمدة أسابيع")


def test_no_hits_no_timeline() -> None:
    assert build_timeline("x", []) is None


# ---- the chart -------------------------------------------------------------------------


def test_the_chart_stacks_one_bar_per_outlet_on_each_day_with_data(story: Engine) -> None:
    timeline = timeline_for(story, TOPIC)
    assert timeline is not None
    figure = chart.draw(timeline)
    axes = figure.axes[0]
    drawn: dict[int, dict[str, float]] = {}
    for container in axes.containers:
        outlet = container.get_label()
        for n, bar in enumerate(container):
            if bar.get_height() > 0:
                drawn.setdefault(n, {})[outlet] = bar.get_height()
    expected = {
        n: {o: float(c) for o, c in counts.items()}
        for n, counts in enumerate(EXPECTED_DAYS.values())
        if counts
    }
    assert drawn == expected
    labels = [t.get_text() for t in axes.get_xticklabels()]
    assert labels == [d.isoformat() for d in EXPECTED_DAYS]
    assert axes.get_title() == "تغطية «حرائق غابات عجلون»: الجمل في كل يوم"

    image = decode_png(chart.png(figure))
    assert image.shape == (500, 1000, 4)
    for n in range(4):  # each outlet's colour is on the picture
        colour = np.array([int(chart.COLOURS[n][i : i + 2], 16) / 255 for i in (1, 3, 5)])
        assert np.isclose(image[:, :, :3], colour, atol=0.01).all(axis=2).sum() > 500


def decode_png(data: bytes) -> np.ndarray:
    from matplotlib import image

    assert data.startswith(b"\x89PNG")
    return image.imread(io.BytesIO(data), format="png")


def ink(text: str) -> np.ndarray:
    """Where `text` leaves ink when drawn alone with the shipped font (True = ink)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    figure = Figure(figsize=(4, 1), dpi=100)
    FigureCanvasAgg(figure)
    figure.text(0.05, 0.3, text, fontproperties=FontProperties(fname=str(chart.FONT), size=28))
    pixels = decode_png(chart.png(figure))
    return pixels[:, :, :3].mean(axis=2) < 0.5


def test_arabic_labels_are_drawn_joined_and_right_to_left() -> None:
    import arabic_reshaper

    word = "عجلون"
    # Joined: the same pixels as the word's presentation forms (each letter's joined
    # shape, as arabic-reshaper picks it), and not the letters standing alone.
    assert (ink(word) == ink(arabic_reshaper.reshape(word))).all()
    assert not (ink(word) == ink("\u200c".join(word))).all()
    # Right to left: in "لـمممم" the lam's tall stroke is the rightmost ink.
    drawn = ink("لمممم")
    rows, columns = np.nonzero(drawn)
    tall = columns[rows < rows.min() + (rows.max() - rows.min()) // 4]
    assert tall.min() > (columns.min() + columns.max()) / 2


def test_the_font_ships_with_the_package() -> None:
    assert chart.FONT.is_file() and chart.FONT.stat().st_size > 500_000
    assert (chart.FONT.parent / "LICENSE-DejaVu.txt").is_file()


# ---- /timeline and the CLI -----------------------------------------------------------------


def test_timeline_command_sends_the_chart_as_a_photo(api: FakeBotAPI, tmp_path: Path) -> None:
    corpus = write_story(tmp_path / "corpus")
    config = write_config(tmp_path, corpus, api)
    with RunningBot.from_config(api, config) as bot:
        since = bot.send(api.private_message(MEMBER, f"/timeline {TOPIC}"))
        call = api.wait_for("sendPhoto", lambda p: p["chat_id"] == MEMBER, since=since, timeout=60)
        assert call.result["caption"] == "\u200f" + CAPTION
        assert call.result["photo"][0]["width"] == 1000
        image = decode_png(api.photos()[-1])
        assert image.shape == (500, 1000, 4)
        assert len(np.unique(image.reshape(-1, 4), axis=0)) > 50  # not blank

        reply = bot.ask(MEMBER, "/timeline قطار الأنفاق السريع")
        assert visible(reply.params) == (
            "\u200fلم أجد في المصادر جملاً مؤرَّخة عن «قطار الأنفاق السريع». جرّب كلمات أخرى أو أقل."
        )
        usage = visible(bot.ask(ADMIN, "/timeline").params)
        assert "/timeline حرائق غابات عجلون" in usage
        # A topic holding HTML arrives as written (escaped; the fake rejects a stray tag).
        since = bot.send(api.private_message(MEMBER, "/timeline عجلون <حرائق> & غابات"))
        call = api.wait_for("sendPhoto", lambda p: p["chat_id"] == MEMBER, since=since, timeout=60)
        assert call.result["caption"].startswith("\u200f«عجلون <حرائق> & غابات»: 17 جملة")


def test_cli_timeline_writes_the_png_and_prints_the_caption(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = write_story(tmp_path / "corpus")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"corpus": {"path": str(corpus), "index_dir": None}}))
    out = tmp_path / "chart.png"
    assert main(["timeline", TOPIC, "--out", str(out), "--config", str(config)]) == 0
    assert capsys.readouterr().out.splitlines() == [CAPTION, f"written to {out}"]
    assert decode_png(out.read_bytes()).shape == (500, 1000, 4)

    missing = tmp_path / "none.png"
    assert main(["timeline", "قطار الأنفاق", "--out", str(missing), "--config", str(config)]) == 0
    assert "no dated sentence in the corpus matches 'قطار الأنفاق'" in capsys.readouterr().out
    assert not missing.exists()


def test_the_readme_picture_corpus_is_the_test_story(tmp_path: Path) -> None:
    written = write_story(tmp_path / "story")
    shipped = Path(__file__).resolve().parent.parent / "docs" / "examples" / "timeline-corpus"
    names = sorted(p.name for p in written.iterdir())
    assert sorted(p.name for p in shipped.iterdir()) == names
    for name in names:
        assert (shipped / name).read_text("utf-8") == (written / name).read_text("utf-8")
