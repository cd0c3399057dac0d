"""A corpus for filter tests: one agency quote run by four outlets on four dates, plus
documents on other subjects, an undated copy and a Latin-named outlet.

The quote's best-ranked copies are in PETRA's and ALGHAD's documents, which repeat the
question's words; SAHEL's copy ranks lower, so a filter on SAHEL proves the search
filters before it ranks (a top-k cut first would leave SAHEL nothing).
"""

from __future__ import annotations

from pathlib import Path

from timeline_samples import document

PETRA = "وكالة الأنباء الأردنية"
ALGHAD = "جريدة الغد"
SAHEL = "قناة الساحل"
AMMAN = "Amman Post"

QUOTE = "وقال وزير المياه إن مخزون السدود بلغ ثلاثين بالمئة من سعتها التخزينية."
QUESTION = "كم بلغ مخزون السدود من سعتها؟"
TITLE = "وزير المياه ومخزون السدود"

# (file stem, outlet, date, sentences)
DOCUMENTS = (
    ("petra", PETRA, "2024-08-01", (QUOTE,)),
    ("alghad", ALGHAD, "2024-08-02", (QUOTE,)),
    ("sahel", SAHEL, "2024-08-05", (QUOTE,)),
    ("amman", AMMAN, "2024-08-09", (QUOTE,)),
    ("undated", ALGHAD, None, (QUOTE,)),
    ("weather", PETRA, "2024-07-01", ("ارتفعت درجات الحرارة في عمان أمس.",)),
)


def write_corpus(folder: Path, crowd: int = 0) -> Path:
    """The corpus in `folder`; `crowd` more PETRA and ALGHAD documents (dated in July)
    whose sentences hold every question word several times, so they outrank the quote."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem, outlet, date, sentences in DOCUMENTS:
        (folder / f"{stem}.md").write_text(document(outlet, date, TITLE, sentences), "utf-8")
    for n in range(crowd):
        outlet = PETRA if n % 2 else ALGHAD
        text = (
            f"مخزون السدود وسعتها: بلغ مخزون السدود {n + 40} بالمئة من سعتها ومخزون السدود يتراجع."
        )
        (folder / f"crowd-{n:02d}.md").write_text(
            document(outlet, f"2024-07-{n + 10:02d}", "مخزون السدود", (text,)), "utf-8"
        )
    return folder
