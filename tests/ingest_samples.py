"""Files of every supported type, built in the test, each holding one fact no other file holds.

Used by tests/test_ingest_*.py: an HTML page with navigation and footer around the
article, a DOCX made with python-docx, a PDF drawn with shaped Arabic glyphs (as
word processors and browsers draw it: visual order), text in Windows-1256 and
UTF-16, and the broken kinds an upload must refuse.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

FONT = Path(__file__).parent / "data" / "fonts" / "DejaVuSans-Arabic.ttf"  # DejaVu, subset

HTML_FACT = "وبلغ سعر تنكة الزيت البكر في مهرجان جرش خمسة وثمانين دينارا هذا العام."
HTML_QUESTION = "كم بلغ سعر تنكة الزيت البكر في مهرجان جرش؟"
NAVIGATION = ("الرئيسية", "رياضة", "اشترك في النشرة البريدية", "جميع الحقوق محفوظة")

DOCX_FACT = "افتتحت بلدية مادبا مكتبة عامة جديدة تضم ألفي كتاب للأطفال واليافعين."
DOCX_QUESTION = "كم كتابا تضم مكتبة مادبا الجديدة؟"

PDF_LINES = (
    "أعلنت وزارة المياه أن مخزون سد الموجب بلغ 35 مليون متر مكعب في آذار 2024.",
    "وقالت الوزارة إن الأمطار الأخيرة رفعت المخزون بنسبة كبيرة.",
)
PDF_QUESTION = "كم بلغ مخزون سد الموجب؟"

CP1256_FACT = "استضافت مدينة إربد معرض الكتاب العربي بمشاركة ستين دار نشر."
CP1256_QUESTION = "كم دار نشر شاركت في معرض الكتاب في إربد؟"

UTF16_FACT = "حصد فريق الرمثا لقب كأس الأردن لكرة القدم بعد فوزه بركلات الترجيح."


def html_page() -> bytes:
    """A news page: the article between a menu, a newsletter banner and a footer."""
    return f"""<!doctype html><html lang="ar" dir="rtl"><head>
<meta charset="utf-8"><title>مهرجان الزيتون في جرش | جريدة الغد</title>
<meta property="og:site_name" content="جريدة الغد">
<meta property="article:published_time" content="2024-10-12T08:00:00Z">
<link rel="canonical" href="https://alghad.example/olive-festival"></head>
<body><nav><ul><li><a href="/">{NAVIGATION[0]}</a></li><li><a href="/sport">{NAVIGATION[1]}</a></li>
<li><a href="/economy">اقتصاد</a></li></ul></nav>
<div class="banner">{NAVIGATION[2]}</div>
<article><h1>مهرجان الزيتون في جرش</h1>
<p>افتتح المزارعون مهرجان الزيتون السنوي في مدينة جرش بمشاركة واسعة من القرى المجاورة،
وعرضت التعاونيات الزراعية منتجاتها من الزيت والصابون.</p>
<p>{HTML_FACT}</p></article>
<footer>{NAVIGATION[3]} © 2024 — سياسة الخصوصية</footer></body></html>""".encode()


def docx_file(paragraphs: tuple[str, ...] = ("مكتبة مادبا", DOCX_FACT), title: str = "") -> bytes:
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    document.core_properties.title = title
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def pdf_file(lines: tuple[str, ...] = PDF_LINES) -> bytes:
    """An A4 PDF with Arabic shaped by HarfBuzz and drawn in visual order, one paragraph a line."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("dejavu", fname=str(FONT))
    pdf.set_font("dejavu", size=14)
    pdf.set_text_shaping(use_shaping_engine=True, direction="rtl", script="arab", language="ara")
    for line in lines:
        pdf.multi_cell(0, 10, line)
        pdf.ln(4)
    return bytes(pdf.output())


def pdf_without_text() -> bytes:
    """A page with only a drawing: what a scan without OCR looks like to an extractor."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")
    return bytes(pdf.output())


def encrypted_pdf() -> bytes:
    import pypdf

    writer = pypdf.PdfWriter(clone_from=io.BytesIO(pdf_file()))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def zip_bomb(inflated: int) -> bytes:
    """A DOCX-looking ZIP whose one member inflates to `inflated` zero bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w") as member:
            block = b"\0" * (1 << 20)
            for _ in range(inflated // len(block)):
                member.write(block)
    return out.getvalue()


def cp1256_text() -> bytes:
    return f"معرض الكتاب في إربد\n{CP1256_FACT}\n".encode("cp1256")


def utf16_text() -> bytes:
    return f"{UTF16_FACT}\n".encode("utf-16")
