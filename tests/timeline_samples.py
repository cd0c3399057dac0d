"""A small story corpus for timeline tests and the README picture: forest fires in Ajloun
reported by four outlets over ten days, plus unrelated and undated documents.

`write_story(folder)` writes it as Markdown files with front matter (outlet, date);
docs/examples/timeline-corpus/ holds the same files (`python tests/timeline_samples.py
docs/examples/timeline-corpus` writes them).
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

TOPIC = "حرائق غابات عجلون"

PETRA = "وكالة الأنباء الأردنية"
ALGHAD = "جريدة الغد"
MAMLAKA = "قناة المملكة"
ALRAI = "صحيفة الرأي"

# (file stem, outlet, date, title, sentences); the fire sentences are the relevant ones.
STORY = (
    (
        "petra-0801",
        PETRA,
        "2024-08-01",
        "اندلاع حرائق في غابات عجلون",
        (
            "اندلعت حرائق في غابات عجلون بعد ظهر الخميس وسط ارتفاع كبير في درجات الحرارة.",
            "وقال الدفاع المدني إن فرق الإطفاء تعمل على محاصرة حرائق الغابات في عجلون.",
        ),
    ),
    (
        "petra-0803",
        PETRA,
        "2024-08-03",
        "السيطرة على جزء من حرائق عجلون",
        (
            "أعلن الدفاع المدني السيطرة على جزء من حرائق غابات عجلون.",
            "وأضاف أن حرائق عجلون أتت على مئة دونم من أشجار البلوط والصنوبر.",
            "وتواصل الفرق تبريد المواقع التي طالتها حرائق الغابات.",
        ),
    ),
    (
        "alghad-0802",
        ALGHAD,
        "2024-08-02",
        "سكان عجلون يروون ليلة الحرائق",
        (
            "روى سكان قرى عجلون كيف اقتربت حرائق الغابات من منازلهم ليلا.",
            "وقال مزارع إن حرائق عجلون أحرقت كروم الزيتون التي يملكها.",
        ),
    ),
    (
        "alghad-0803",
        ALGHAD,
        "2024-08-03",
        "خبراء: الجفاف ضاعف حرائق الغابات",
        (
            "قال خبراء بيئة إن الجفاف ضاعف خطر حرائق الغابات في عجلون هذا الصيف.",
            "ودعا الخبراء إلى فتح خطوط نار داخل غابات عجلون.",
            "وتعد غابات عجلون من أكبر المساحات الحرجية في المملكة.",
        ),
    ),
    (
        "mamlaka-0801",
        MAMLAKA,
        "2024-08-01",
        "بث مباشر من موقع حرائق عجلون",
        ("نقلت كاميرا المملكة مشاهد حرائق غابات عجلون من موقع الحدث.",),
    ),
    (
        "mamlaka-0803",
        MAMLAKA,
        "2024-08-03",
        "طائرات تشارك في إطفاء حرائق عجلون",
        (
            "شاركت طائرات سلاح الجو في إطفاء حرائق غابات عجلون.",
            "وألقت الطائرات آلاف اللترات من المياه على بؤر حرائق عجلون.",
        ),
    ),
    (
        "mamlaka-0806",
        MAMLAKA,
        "2024-08-06",
        "عودة السكان بعد حرائق عجلون",
        ("عاد سكان القرى المحيطة بغابات عجلون إلى منازلهم بعد إخماد الحرائق.",),
    ),
    (
        "alrai-0804",
        ALRAI,
        "2024-08-04",
        "الحكومة تعد بتعويض المتضررين من حرائق عجلون",
        (
            "وعدت الحكومة بتعويض المزارعين المتضررين من حرائق غابات عجلون.",
            "وشكلت لجنة لحصر أضرار حرائق عجلون خلال أسبوعين.",
        ),
    ),
    (
        "alrai-0809",
        ALRAI,
        "2024-08-09",
        "خطة لإعادة تشجير غابات عجلون",
        ("أطلقت وزارة الزراعة خطة لإعادة تشجير ما أتت عليه حرائق غابات عجلون.",),
    ),
    (
        "alrai-0810",
        ALRAI,
        "2024-08-10",
        "مهرجان الصيف في جرش",
        ("افتتح مهرجان الصيف في جرش بعروض موسيقية وفنية.",),
    ),
)
# A report without a date: counted apart, never on a day.
UNDATED = (
    "undated-note",
    ALGHAD,
    None,
    "ملاحظة بلا تاريخ",
    ("ذكرت تقارير سابقة أن حرائق غابات عجلون تتكرر كل صيف.",),
)


def document(outlet: str, date: str | None, title: str, sentences: tuple[str, ...]) -> str:
    fields = {"title": title, "outlet": outlet} | ({"date": date} if date else {})
    front = yaml.safe_dump(fields, allow_unicode=True, sort_keys=False)
    return f"---\n{front}---\n" + "\n".join(sentences) + "\n"


def write_story(folder: Path) -> Path:
    """The story corpus as Markdown files in `folder` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem, outlet, date, title, sentences in (*STORY, UNDATED):
        (folder / f"{stem}.md").write_text(document(outlet, date, title, sentences), "utf-8")
    return folder


if __name__ == "__main__":
    write_story(Path(sys.argv[1]))
