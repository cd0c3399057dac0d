"""Corpus dates: the day a `date:` field starts with, and documents ordered earliest first."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from retrieval.dates import earliest_first, parse_date
from retrieval.models import Source

D = dt.date
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2024-10-08", D(2024, 10, 8)),
        ("2024/10/8", D(2024, 10, 8)),
        ("2024.10.08", D(2024, 10, 8)),
        ("2024-10-08T09:30:00Z", D(2024, 10, 8)),
        ("  2024-10-08 مساءً", D(2024, 10, 8)),
        ("٢٠٢٤-١٠-٠٨", D(2024, 10, 8)),  # Arabic-Indic digits
        ("2024-02-30", None),
        ("2024-10-081", None),
        ("الثلاثاء 8 أكتوبر", None),
        ("20241008", None),
        ("", None),
        (None, None),
    ],
)
def test_dates_are_read_from_the_start_of_the_date_field(text: str | None, day: D | None) -> None:
    assert parse_date(text) == day


def test_documents_sort_earliest_first_undated_last_then_by_name() -> None:
    sources = [
        Source("undated.md", "ملاحظة بلا تاريخ", "جريدة الغد", None, None),
        Source("b-alrai.md", "افتتاح مهرجان جرش", "صحيفة الرأي", None, "2024-07-24"),
        Source("bad-date.md", "تقرير", "قناة المملكة", None, "الأربعاء"),
        Source("a-petra.md", "افتتاح مهرجان جرش", "وكالة الأنباء الأردنية", None, "2024/07/24"),
        Source("c-alghad.md", "جرش تستقبل زوارها", "جريدة الغد", None, "2024-07-23"),
    ]
    assert [s.doc for s in sorted(sources, key=earliest_first)] == [
        "c-alghad.md",
        "a-petra.md",  # the same day as b-alrai.md: by name
        "b-alrai.md",
        "bad-date.md",  # an unreadable date counts as none
        "undated.md",
    ]


def test_who_ran_it_and_grouped_citations_do_not_load_the_search_engine() -> None:
    """Ordering documents by date needs no Engine (nor what it imports)."""
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, retrieval.neardup, bot.source_groups; "
            "print(sorted(m for m in ('retrieval.engine', 'retrieval.timeline') "
            "if m in sys.modules))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "[]"
