"""A file's bytes and name → its text and citation fields (`Extracted`), by file type.

Supported: .txt, .md (with or without YAML front matter), .html/.htm, .docx, .pdf
with a text layer. Every failure is one `IngestError` naming the file and the reason.

Library choices:
- HTML: trafilatura, which finds the article's main text and drops navigation,
  headers and footers, and reads title, site name, publication date and canonical
  URL from the page's metadata (benchmarked best among open extractors by its authors
  and by ScrapingHub's article-extraction benchmark).
- DOCX: python-docx over the standard zipfile module. A DOCX is a ZIP, so the sizes
  its members declare are checked before anything is decompressed: zipfile never
  inflates a member beyond its declared size (the CRC check fails instead), so the
  sum of declared sizes bounds the work.
- PDF: pdfminer.six. Arabic PDFs made by word processors and browsers draw shaped
  glyphs left to right (visual order); pdfminer returns them in that order, cleanly,
  line by line, and `_logical_line` turns each line back into reading order. pypdf
  was tried first: it reverses Arabic runs itself but misplaces numbers and the final
  full stop ("‎.2024 افتتح …"), which no later step can repair.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import PurePath

import regex
import yaml

from retrieval.ingest.models import OVERRIDABLE, Extracted, IngestError

TEXT_SUFFIXES = (".txt", ".md")
HTML_SUFFIXES = (".html", ".htm")
SUPPORTED = (*TEXT_SUFFIXES, *HTML_SUFFIXES, ".docx", ".pdf")
# A DOCX of news text inflates to a few times its size; more than this many times
# the upload limit is a ZIP bomb, refused before anything is inflated.
DOCX_INFLATE_FACTOR = 10
NO_TEXT_LAYER = "no text layer (a scanned PDF? OCR is not supported)"
# pdfminer analyses layout in pure Python (about 0.1 s a page): a longer PDF is a book
# or a report, not an article, and reading all of it would hold a worker for minutes.
MAX_PDF_PAGES = 300

_WORD_CHAR_RE = regex.compile(r"[\p{L}\p{N}]")
_ARABIC_RE = regex.compile(r"\p{Script=Arabic}")
# Left-to-right text inside an Arabic line: Latin letters and digits, and the
# punctuation that joins them ("2024-10-12", "3.5").
_LTR_CHAR_RE = regex.compile(r"[\p{Latin}\p{Nd}]")
_LTR_JOINERS = frozenset(".,:/-")
_SENTENCE_ENDS = (".", "!", "?", "؟", "…", ":", "»", '"')
_ARABIC_WORD_RE = regex.compile(r"\p{Script=Arabic}{2,}")


def extract(data: bytes, name: str, max_bytes: int) -> Extracted:
    """The text and citation fields of file `name` holding `data`.

    Raises IngestError (naming `name`) when the type is not supported, the file is
    larger than `max_bytes`, cannot be read, or yields no words.
    """
    if len(data) > max_bytes:
        raise IngestError(name, f"too large ({len(data):,} bytes; limit {_megabytes(max_bytes)})")
    reader = _reader_for(name)
    extracted = reader(data, name, max_bytes)
    text = _tidy(extracted.text)
    if not _WORD_CHAR_RE.search(text):
        raise IngestError(name, "no text could be extracted (the file holds no words)")
    title = " ".join((extracted.title or "").split()) or PurePath(name).stem or name
    return Extracted(
        text=text,
        title=title,
        outlet=_field(extracted.outlet),
        date=_field(extracted.date),
        url=_field(extracted.url),
        notes=extracted.notes,
    )


def supported(name: str) -> bool:
    return PurePath(name).suffix.lower() in SUPPORTED


def _reader_for(name: str) -> Callable[[bytes, str, int], Extracted]:
    suffix = PurePath(name).suffix.lower()
    readers: dict[str, Callable[[bytes, str, int], Extracted]] = {
        ".txt": _read_text,
        ".md": _read_text,
        ".html": _read_html,
        ".htm": _read_html,
        ".docx": _read_docx,
        ".pdf": _read_pdf,
    }
    if suffix not in readers:
        kind = f"type {suffix}" if suffix else "a file without an extension"
        raise IngestError(name, f"{kind} is not supported (send {', '.join(SUPPORTED)})")
    return readers[suffix]


# --- plain text and Markdown -------------------------------------------------------


def decode_text(data: bytes, name: str) -> tuple[str, tuple[str, ...]]:
    """(text, notes): UTF-8 as is; UTF-16 and Windows-1256 converted, with a note saying so."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _decode(data, "utf-16", name), ("converted from UTF-16",)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if "\x00" in text:
            codec = _utf16_codec(data)
            if codec is not None:
                return _decode(data, codec, name), ("converted from UTF-16",)
            raise IngestError(name, "binary data, not text (it contains NUL bytes)")
        return text, ()
    codec = _utf16_codec(data)
    if codec is not None:
        return _decode(data, codec, name), ("converted from UTF-16",)
    try:
        text = data.decode("cp1256")
    except UnicodeDecodeError:
        text = ""
    letters = sum(1 for ch in text if ch.isalpha())
    if text and "\x00" not in text and len(_ARABIC_RE.findall(text)) > letters / 2:
        return text, ("converted from Windows-1256 (cp1256)",)
    raise IngestError(name, "not text in UTF-8, UTF-16 or Windows-1256")


def _utf16_codec(data: bytes) -> str | None:
    """UTF-16 without a byte order mark: Arabic and ASCII put a NUL or 0x06 in every other
    byte. "utf-16-le" or "utf-16-be" then, else None."""
    if len(data) < 4 or len(data) % 2:
        return None
    for codec, high in (("utf-16-le", data[1::2]), ("utf-16-be", data[0::2])):
        if sum(1 for b in high if b in (0, 6)) > len(high) * 0.9:
            return codec
    return None


def _decode(data: bytes, codec: str, name: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        raise IngestError(name, f"broken {codec.upper()} text (bad bytes at {exc.start})") from exc


def _read_text(data: bytes, name: str, max_bytes: int) -> Extracted:
    text, notes = decode_text(data, name)
    meta, body = split_front_matter(text, name)
    return Extracted(body, meta.get("title", ""), notes=notes, **_citation(meta))


def split_front_matter(text: str, name: str) -> tuple[dict[str, str], str]:
    """(fields, body) of a text that may open with a `---` YAML block.

    Aliases are refused before the block is built: a few lines of nested aliases
    expand to gigabytes (a "billion laughs").
    """
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip() != "---":
        return {}, text
    for end, line in enumerate(lines[1:], start=1):
        if line.rstrip() in ("---", "..."):
            block = "".join(lines[1:end])
            body = "".join(lines[end + 1 :])
            return _front_matter_fields(block, name), body
    raise IngestError(name, "front matter opened with '---' is never closed")


def _front_matter_fields(block: str, name: str) -> dict[str, str]:
    try:
        if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(block)):
            raise IngestError(name, "front matter uses YAML aliases, which are not accepted")
        fields = yaml.safe_load(block)
    except yaml.YAMLError as exc:
        reason = " ".join(str(exc).split())[:160]
        raise IngestError(name, f"broken front matter: {reason}") from exc
    if fields is None:
        return {}
    if not isinstance(fields, dict):
        raise IngestError(name, "front matter is not a mapping of fields")
    return {str(k): str(v).strip() for k, v in fields.items() if k in OVERRIDABLE and v}


def _citation(meta: dict[str, str]) -> dict[str, str | None]:
    return {key: meta.get(key) for key in ("outlet", "date", "url")}


# --- HTML ----------------------------------------------------------------------------


def _read_html(data: bytes, name: str, max_bytes: int) -> Extracted:
    import trafilatura  # imported here: loading it takes a second, and only uploads need it

    try:
        document = trafilatura.bare_extraction(
            data, with_metadata=True, include_comments=False, include_tables=True
        )
    except Exception as exc:  # trafilatura wraps lxml, whose errors are many
        raise IngestError(name, f"the page cannot be read as HTML ({exc})") from exc
    if document is None or not (getattr(document, "text", None) or "").strip():
        raise IngestError(name, "no article text found in the page")
    return Extracted(
        text=document.text,
        title=document.title or "",
        outlet=document.sitename,
        date=document.date,
        url=document.url,
    )


# --- DOCX ----------------------------------------------------------------------------


def _read_docx(data: bytes, name: str, max_bytes: int) -> Extracted:
    check_zip(data, name, max_bytes * DOCX_INFLATE_FACTOR)
    import docx  # python-docx

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises KeyError, ValueError, lxml errors…
        raise IngestError(name, f"not a valid Word document ({_reason(exc)})") from exc
    paragraphs = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            paragraphs.append(" | ".join(cell.text for cell in row.cells))
    title = document.core_properties.title or ""
    return Extracted("\n".join(paragraphs), title)


def check_zip(data: bytes, name: str, max_inflated: int) -> None:
    """Refuse a corrupt ZIP, or one whose members would inflate beyond `max_inflated`."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise IngestError(name, f"not a valid Word document (corrupt ZIP: {exc})") from exc
    if inflated > max_inflated:
        raise IngestError(
            name,
            f"refused: it would inflate to {inflated:,} bytes (limit {_megabytes(max_inflated)}; "
            "a ZIP bomb?)",
        )


# --- PDF -----------------------------------------------------------------------------


def _read_pdf(data: bytes, name: str, max_bytes: int) -> Extracted:
    from pdfminer.high_level import extract_pages
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFSyntaxError
    from pdfminer.psparser import PSException

    try:
        pages = extract_pages(io.BytesIO(data), maxpages=MAX_PDF_PAGES)
        boxes = [box for page in pages for box in _text_boxes(page)]
    except (PDFPasswordIncorrect, PDFEncryptionError) as exc:
        raise IngestError(name, "the PDF is encrypted (send a copy without a password)") from exc
    except (PDFSyntaxError, PSException) as exc:
        raise IngestError(name, f"not a valid PDF ({_reason(exc)})") from exc
    except Exception as exc:  # pdfminer's failures on damaged files are many
        raise IngestError(name, f"the PDF cannot be read ({_reason(exc)})") from exc
    if not any(_WORD_CHAR_RE.search("".join(g)) for box in boxes for g in box):
        raise IngestError(name, NO_TEXT_LAYER)
    return Extracted(pdf_paragraphs(boxes), "")


def _text_boxes(page: object) -> list[list[list[str]]]:
    """The page's text boxes, each a list of lines, each line its glyphs' texts in drawing
    order (a ligature glyph such as lam-alef is one entry holding two letters)."""
    from pdfminer.layout import LTChar, LTTextBox, LTTextLine

    boxes = []
    for item in page:  # type: ignore[attr-defined]
        if not isinstance(item, LTTextBox):
            continue
        lines = []
        for line in item:
            if isinstance(line, LTTextLine):
                glyphs = [
                    g.get_text() for g in line if isinstance(g, LTChar) or g.get_text() == " "
                ]
                lines.append(glyphs)
        boxes.append(lines)
    return boxes


def pdf_paragraphs(boxes: list[list[list[str]]]) -> str:
    """Text boxes → one paragraph per box, in reading order.

    A sentence wrapped over two lines would be cut in two by the segmenter (a line
    break ends a sentence), so a box's lines are joined with spaces, and so is a box
    that follows one not ending a sentence (pdfminer often puts a justified first
    line in a box of its own; the cost: a heading runs into the paragraph after it).
    Arabic drawn in visual order is put back into reading order first, line by line.
    """
    visual = _is_visual(" ".join("".join(g) for box in boxes for g in box))
    paragraphs = []
    for box in boxes:
        lines = [_logical_line(glyphs) if visual else "".join(glyphs) for glyphs in box]
        text = " ".join(" ".join(line.split()) for line in lines if line.strip())
        if text and paragraphs and not paragraphs[-1].endswith(_SENTENCE_ENDS):
            paragraphs[-1] += " " + text
        elif text:
            paragraphs.append(text)
    return "\n".join(paragraphs)


def _is_visual(text: str) -> bool:
    """True when the Arabic words read backwards: words end in "لا" and start with "ة"
    instead of starting with "ال" and ending in "ة"."""
    words = _ARABIC_WORD_RE.findall(text)
    logical = sum(w.startswith("ال") + w.endswith("ة") for w in words)
    backwards = sum(w.endswith("لا") + w.startswith("ة") for w in words)
    return backwards > logical


def _logical_line(glyphs: list[str]) -> str:
    """A visual-order line of a right-to-left paragraph, in reading order: reverse its
    glyphs, then put each left-to-right run (Latin words, numbers) back the right way
    round. Glyphs, not characters: a lam-alef ligature's two letters stay in order."""
    if not _ARABIC_RE.search("".join(glyphs)):
        return "".join(glyphs)
    units = glyphs[::-1]
    ltr = [bool(_LTR_CHAR_RE.search(u)) for u in units]
    for i in range(1, len(units) - 1):  # "2024-10-12", "3.5": inner punctuation joins a run
        if units[i] in _LTR_JOINERS and ltr[i - 1] and ltr[i + 1]:
            ltr[i] = True
    out: list[str] = []
    i = 0
    while i < len(units):
        j = i
        while j < len(units) and ltr[j] == ltr[i]:
            j += 1
        run = units[i:j]
        out.extend(run[::-1] if ltr[i] else run)
        i = j
    return "".join(out)


# --- shared --------------------------------------------------------------------------


def _tidy(text: str) -> str:
    """Lines stripped, runs of blank lines folded into one, no control characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    lines = [" ".join(line.split()) for line in text.split("\n")]
    tidy: list[str] = []
    for line in lines:
        if line or (tidy and tidy[-1]):
            tidy.append(line)
    return "\n".join(tidy).strip()


def _field(value: str | None) -> str | None:
    value = " ".join(str(value).split()) if value else ""
    return value or None


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:160]
    return text or type(exc).__name__


def _megabytes(count: int) -> str:
    return f"{count / 1024 / 1024:g} MB"
