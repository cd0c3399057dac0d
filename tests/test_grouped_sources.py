"""A sentence several outlets ran is cited once per outlet, dates in order, each title once."""

from __future__ import annotations

import re
from pathlib import Path

from bot_runner import MEMBER, RunningBot, write_config
from fake_bot_api import FakeBotAPI, parse_html
from timeline_samples import ALGHAD, ALRAI, MAMLAKA, PETRA, document

from bot.render import citation
from bot.source_groups import grouped_citation, outlet_groups
from retrieval.models import Source

QUOTE = "وقال وزير المياه إن مخزون السدود بلغ ثلاثين بالمئة من سعتها التخزينية هذا العام."
QUESTION = "كم بلغ مخزون السدود من سعتها؟"
TITLE = "وزير المياه: مخزون السدود ثلاثون بالمئة"


def plain(markup: str) -> str:
    """What a reader sees: tags and entities decoded, direction marks and isolates removed."""
    return re.sub("[\u200f\u2066-\u2069]", "", parse_html(markup)[0])


def sources() -> list[Source]:
    return [
        Source("mamlaka.md", TITLE, MAMLAKA, "https://mamlaka.example/a", "2024-08-03"),
        Source("petra-2.md", "تحديث: " + TITLE, PETRA, None, "2024-08-05"),
        Source("alghad.md", TITLE, ALGHAD, "https://alghad.example/b", "2024-08-02"),
        Source("petra-1.md", TITLE, PETRA, "https://petra.example/c", "2024-08-01"),
        Source("note.md", TITLE, None, None, None),
    ]


def test_sources_are_grouped_by_outlet_first_reporter_on_top_each_title_once() -> None:
    markup = grouped_citation(sources())
    assert markup is not None
    assert plain(markup).splitlines() == [
        "المصادر (4 وسائل، 5 وثيقة):",
        f"• {PETRA}: 2024-08-01 «{TITLE}»، 2024-08-05 «تحديث: {TITLE}»",
        f"• {ALGHAD}: 2024-08-02",
        f"• {MAMLAKA}: 2024-08-03",
        "• وسيلة غير مسماة: بلا تاريخ",
    ]
    # Each later copy still links to its own page.
    assert '<a href="https://alghad.example/b">\u20682024-08-02\u2069</a>' in markup
    assert '<a href="https://mamlaka.example/a">\u20682024-08-03\u2069</a>' in markup


def test_outlets_first_dated_the_same_day_keep_citation_order() -> None:
    """Dates are days: two outlets that ran it on 2024-08-02 cannot be told apart by date,
    so the one cited first (the answer quotes its document's wording) stays on top,
    whatever their names; a later date still comes after, whatever its place."""
    cited = [
        Source("mamlaka.md", TITLE, MAMLAKA, None, "2024-08-02"),
        Source("alrai.md", TITLE, ALRAI, None, "2024-08-01"),
        Source("alghad.md", TITLE, ALGHAD, None, "2024-08-02T07:15:00Z"),
        Source("petra.md", TITLE, PETRA, None, "2024-08-03"),
    ]
    assert plain(grouped_citation(cited) or "").splitlines()[1:] == [
        f"• {ALRAI}: 2024-08-01 «{TITLE}»",
        f"• {MAMLAKA}: 2024-08-02",
        f"• {ALGHAD}: 2024-08-02T07:15:00Z",
        f"• {PETRA}: 2024-08-03",
    ]
    alghad_cited_first = [cited[2], cited[3], cited[1], cited[0]]
    assert [g.outlet for g in outlet_groups(alghad_cited_first)] == [ALRAI, ALGHAD, MAMLAKA, PETRA]


def test_one_outlet_keeps_the_plain_citation() -> None:
    one = [s for s in sources() if s.outlet == PETRA]
    assert grouped_citation(one) is None
    shown = plain(citation(one))  # render.citation's own one-line form
    assert shown.startswith(f"المصادر: تحديث: {TITLE} ({PETRA}، 2024-08-05)؛ ")
    assert "\n" not in shown and "وسائل" not in shown


def test_corpus_text_is_escaped() -> None:
    hostile = [
        Source("a.md", "<b>عنوان</b> & رمز", "<i>وكالة</i>", 'https://x.example/"a', "2024-01-01"),
        Source("b.md", "عنوان", "قناة & إذاعة", None, "<2024>"),
    ]
    markup = grouped_citation(hostile)
    assert markup is not None
    assert plain(markup).splitlines()[1:] == [
        "• <i>وكالة</i>: 2024-01-01 «<b>عنوان</b> & رمز»",
        "• قناة & إذاعة: <2024> «عنوان»",
    ]
    assert 'href="https://x.example/&quot;a"' in markup


def test_many_outlets_and_copies_are_capped() -> None:
    many = [
        Source(f"{n}.md", TITLE, f"وسيلة {n:02d}", None, f"2024-08-{n:02d}") for n in range(1, 11)
    ]
    many += [Source(f"x{n}.md", TITLE, "وسيلة 01", None, f"2024-09-{n:02d}") for n in range(1, 6)]
    lines = plain(grouped_citation(many) or "").splitlines()
    assert lines[0] == "المصادر (10 وسائل، 15 وثيقة):"
    assert (
        lines[1]
        == "• وسيلة 01: 2024-08-01 «" + TITLE + "»، 2024-09-01، 2024-09-02، 2024-09-03، و2 غيرها"
    )
    assert lines[-1] == "… و2 وسائل أخرى"
    assert len(lines) == 1 + 8 + 1
    assert [g.outlet for g in outlet_groups(many)][:3] == ["وسيلة 01", "وسيلة 02", "وسيلة 03"]


def test_the_bot_groups_an_agency_quote_run_by_four_outlets(
    api: FakeBotAPI, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    copies = [
        ("petra", PETRA, "2024-08-01"),
        ("alghad", ALGHAD, "2024-08-02"),
        ("mamlaka", MAMLAKA, "2024-08-02"),
        ("alrai", ALRAI, "2024-08-04"),
    ]
    for stem, outlet, date in copies:
        text = document(outlet, date, TITLE, (QUOTE, f"تقرير {outlet} عن موسم الأمطار."))
        (corpus / f"{stem}.md").write_text(text, encoding="utf-8")
    (corpus / "other.md").write_text(
        document(PETRA, "2024-07-01", "الطقس", ("ارتفعت درجات الحرارة في عمان.",)), "utf-8"
    )
    config = write_config(tmp_path, corpus, api)
    with RunningBot.from_config(api, config) as bot:
        reply = plain(bot.ask(MEMBER, QUESTION).params["text"])
    assert QUOTE in reply
    assert (
        "المصادر (4 وسائل، 4 وثيقة):\n"
        f"• {PETRA}: 2024-08-01 «{TITLE}»\n"
        f"• {ALGHAD}: 2024-08-02\n"
        f"• {MAMLAKA}: 2024-08-02\n"
        f"• {ALRAI}: 2024-08-04"
    ) in reply
    assert reply.count(TITLE) == 1
