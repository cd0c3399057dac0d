"""Extraction by file type: the text and citation fields an upload yields, and every refusal."""

from __future__ import annotations

import io

import pytest
from ingest_samples import (
    CP1256_FACT,
    DOCX_FACT,
    HTML_FACT,
    NAVIGATION,
    PDF_LINES,
    UTF16_FACT,
    cp1256_text,
    docx_file,
    encrypted_pdf,
    html_page,
    pdf_file,
    pdf_without_text,
    utf16_text,
    zip_bomb,
)

from retrieval.ingest import Extracted, IngestError
from retrieval.ingest.extract import extract

MB = 1024 * 1024


def read(name: str, data: bytes, max_bytes: int = 5 * MB) -> Extracted:
    return extract(data, name, max_bytes)


def refusal(name: str, data: bytes, max_bytes: int = 5 * MB) -> str:
    with pytest.raises(IngestError) as caught:
        extract(data, name, max_bytes)
    assert caught.value.culprit == name
    return str(caught.value)


# --- what each type yields ----------------------------------------------------------------


def test_html_keeps_the_article_drops_navigation_and_reads_the_metadata():
    page = read("olive.html", html_page())
    assert HTML_FACT in page.text
    assert not any(word in page.text for word in NAVIGATION)
    assert page.title == "مهرجان الزيتون في جرش"
    assert (page.outlet, page.date) == ("جريدة الغد", "2024-10-12")
    assert page.url == "https://alghad.example/olive-festival"


def test_docx_paragraphs_and_table_cells_become_lines():
    import docx

    document = docx.Document()
    document.add_paragraph(DOCX_FACT)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "عدد الكتب"
    table.rows[0].cells[1].text = "ألفا كتاب"
    document.core_properties.title = "مكتبة مادبا"
    out = io.BytesIO()
    document.save(out)
    extracted = read("madaba.docx", out.getvalue())
    assert extracted.text == f"{DOCX_FACT}\nعدد الكتب | ألفا كتاب"
    assert extracted.title == "مكتبة مادبا"


def test_a_pdf_drawn_in_visual_order_comes_out_in_reading_order():
    extracted = read("water.pdf", pdf_file())
    assert extracted.text == "\n".join(PDF_LINES)  # numbers, the lam-alef of الأمطار, the stop
    assert extracted.title == "water"


def test_a_pdf_paragraph_wrapped_over_lines_stays_one_paragraph():
    long = (
        "وقال رئيس البلدية إن المشروع الذي بدأ العمل به في شهر أيار سيخدم أكثر من "
        "عشرين ألف نسمة في الأحياء الشرقية من المدينة ويوفر مئة فرصة عمل جديدة للشباب."
    )
    extracted = read("long.pdf", pdf_file((long,)))
    assert extracted.text == long


def test_markdown_front_matter_gives_the_citation():
    data = "---\ntitle: معرض إربد\noutlet: الرأي\ndate: 2024-05-02\n---\n" + CP1256_FACT
    extracted = read("irbid.md", data.encode())
    assert (extracted.title, extracted.outlet, extracted.date) == (
        "معرض إربد",
        "الرأي",
        "2024-05-02",
    )
    assert extracted.text == CP1256_FACT
    assert read("plain.md", CP1256_FACT.encode()).title == "plain"


def test_cp1256_and_utf16_text_are_converted_with_a_note():
    cp1256 = read("irbid.txt", cp1256_text())
    assert CP1256_FACT in cp1256.text
    assert cp1256.notes == ("converted from Windows-1256 (cp1256)",)
    utf16 = read("ramtha.txt", utf16_text())
    assert utf16.text == UTF16_FACT and utf16.notes == ("converted from UTF-16",)
    no_bom = read("ramtha.txt", UTF16_FACT.encode("utf-16-le"))
    assert no_bom.text == UTF16_FACT and no_bom.notes == ("converted from UTF-16",)


# --- refusals: one error naming the file and the reason -------------------------------------


def test_a_pdf_without_text_says_ocr_is_not_supported():
    assert refusal("scan.pdf", pdf_without_text()) == (
        "scan.pdf: no text layer (a scanned PDF? OCR is not supported)"
    )


def test_an_encrypted_pdf_is_refused():
    assert "locked.pdf: the PDF is encrypted" in refusal("locked.pdf", encrypted_pdf())


def test_a_corrupt_docx_and_a_zip_bomb_are_refused_before_inflating():
    assert "not a valid Word document" in refusal("broken.docx", docx_file()[:900])
    assert "not a valid Word document" in refusal("junk.docx", b"PK\x03\x04 not a zip")
    # 30 MB of zeros compress to 30 KB: refused from the sizes the ZIP declares.
    bomb = zip_bomb(30 * MB)
    assert len(bomb) < MB
    message = refusal("bomb.docx", bomb, max_bytes=2 * MB)
    assert "would inflate to 31,457,288 bytes (limit 20 MB; a ZIP bomb?)" in message


def test_empty_binary_unsupported_and_oversized_files_are_refused():
    assert "no text could be extracted" in refusal("empty.txt", "  … ؟ \n\n".encode())
    assert "binary data" in refusal("data.txt", b"\x00\x01\x02\x03abc\x00")
    assert "not text in UTF-8, UTF-16 or Windows-1256" in refusal("latin.txt", b"caf\xe9 \xff\xfe")
    assert "type .exe is not supported" in refusal("tool.exe", b"MZ")
    assert "a file without an extension is not supported" in refusal("README", b"text")
    assert "too large (3,145,728 bytes; limit 2 MB)" in refusal(
        "big.txt", b"a" * 3 * MB, max_bytes=2 * MB
    )


def test_front_matter_aliases_are_refused_before_they_expand():
    laughs = "---\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
    laughs += "title: *b\n---\nنص\n"
    assert "front matter uses YAML aliases" in refusal("laughs.md", laughs.encode())
