"""The per-format document readers: PDF (the text layer of each page; pages without one are OCR-ed from
their embedded images), Markdown, HTML, DOCX and plain text, each read into `Block`s: text with its
anchor (page number and heading path).

`documents.py` picks the reader by extension, decodes text files first, and chunks the blocks; this
module knows the formats only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ProgressFn = Callable[[float], None]


class DocumentError(ValueError):
    """A document that cannot be turned into text; the message is the reason, in one line."""


@dataclass
class Block:
    text: str
    page: int | None = None
    heading: str | None = None


# -- PDF ------------------------------------------------------------------------------


def _pdf_blocks(path: Path, ocr_threads: int, progress: ProgressFn | None) -> tuple[list[Block], int]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError("encrypted PDF (a password is needed)")
        pages = list(reader.pages)
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise DocumentError(f"corrupt PDF: {_one_line(exc)}") from None
    headings = _pdf_outline(reader)
    blocks: list[Block] = []
    images_seen = 0
    heading: str | None = None
    for number, page in enumerate(pages, start=1):
        heading = headings.get(number, heading)
        try:
            text = page.extract_text() or ""
        except Exception as exc:  # pypdf raises many types on damaged content streams
            raise DocumentError(f"corrupt PDF page {number}: {_one_line(exc)}") from None
        if not text.strip():
            # No text layer: scanned pages carry their text in images.
            images = _page_images(page)
            images_seen += len(images)
            text = "\n".join(filter(None, (ocr_image(img, threads=ocr_threads) for img in images)))
        for paragraph in _paragraphs(text):
            blocks.append(Block(paragraph, page=number, heading=heading))
        if progress:
            progress(number / len(pages))
    if not blocks:
        if images_seen:
            raise DocumentError("no extractable text (no text layer; OCR found no text in its images)")
        raise DocumentError("no extractable text (no text layer and no images to OCR)")
    return blocks, len(pages)


def _pdf_outline(reader) -> dict[int, str]:
    """Page number -> heading path, from the PDF's bookmarks (empty when it has none)."""
    starts: list[tuple[int, str]] = []

    def walk(items: list, parents: list[str]) -> None:
        last: list[str] = parents
        for item in items:
            if isinstance(item, list):
                walk(item, last)
                continue
            try:
                page = reader.get_destination_page_number(item) + 1
            except Exception:
                continue  # a bookmark pointing nowhere
            last = [*parents, str(item.title).strip()]
            starts.append((page, " > ".join(last)))

    try:
        walk(reader.outline, [])
    except Exception:
        return {}  # a damaged outline is not worth failing the document for
    return dict(sorted(starts, key=lambda s: s[0]))


def _page_images(page) -> list:
    import numpy as np

    arrays = []
    try:
        images = list(page.images)
    except Exception:
        return []
    for image in images:
        try:
            arrays.append(np.asarray(image.image.convert("RGB")))
        except Exception:
            continue  # an image in a filter PIL cannot decode
    return arrays


@lru_cache(maxsize=4)
def _ocr_engine(threads: int):
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1)


def ocr_image(image, *, threads: int = 1) -> str:
    """The text lines RapidOCR reads in an RGB array, top to bottom."""
    result, _ = _ocr_engine(threads)(image)
    return "\n".join(line[1] for line in result or [] if line[1].strip())


# -- Markdown, HTML, DOCX, plain text --------------------------------------------------


class _HeadingPath:
    """The current heading path ("Guide > Chains > Cleaning") as headings come and go."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, str]] = []

    def enter(self, level: int, title: str) -> None:
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        if title:
            self._stack.append((level, title))

    @property
    def path(self) -> str | None:
        return " > ".join(t for _, t in self._stack) or None


def _markdown_blocks(text: str) -> list[Block]:
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    headings = _HeadingPath()
    blocks: list[Block] = []
    in_heading: int | None = None
    for token in tokens:
        if token.type == "heading_open":
            in_heading = int(token.tag[1])
        elif token.type == "heading_close":
            in_heading = None
        elif token.type == "inline":
            content = _inline_text(token)
            if in_heading is not None:
                headings.enter(in_heading, content.strip())
            elif content.strip():
                blocks.append(Block(content.strip(), heading=headings.path))
        elif token.type in ("fence", "code_block") and token.content.strip():
            blocks.append(Block(token.content.rstrip(), heading=headings.path))
        elif token.type == "html_block":
            for block in _html_blocks(token.content):
                blocks.append(Block(block.text, heading=headings.path))
    return blocks


def _inline_text(token) -> str:
    """The visible text of an inline token: emphasis and link markup dropped, alt text kept."""
    parts = []
    for child in token.children or []:
        if child.type in ("text", "code_inline", "html_inline"):
            parts.append(child.content)
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak":
            parts.append("\n")
        elif child.type == "image":
            parts.append(_inline_text(child))
    return "".join(parts)


_HTML_HEADINGS = {f"h{i}": i for i in range(1, 7)}
_HTML_BLOCKS = {
    "p", "div", "li", "ul", "ol", "pre", "blockquote", "td", "th", "tr", "table", "section", "article", "header",
    "footer", "main", "nav", "aside", "dd", "dt", "dl", "figcaption", "figure", "caption", "form", "br", "hr", "body",
}
_HTML_DROP = {"script", "style", "noscript", "template", "svg", "head", "iframe", "object"}


def _html_blocks(html: str) -> list[Block]:
    from bs4 import BeautifulSoup
    from bs4.element import NavigableString, PreformattedString, Tag

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all(_HTML_DROP):
        tag.decompose()
    headings = _HeadingPath()
    blocks: list[Block] = []
    parts: list[str] = []

    def flush() -> None:
        text = re.sub(r"\s+", " ", "".join(parts)).strip()
        parts.clear()
        if text:
            blocks.append(Block(text, heading=headings.path))

    def walk(node: Tag) -> None:
        for child in node.children:
            if isinstance(child, PreformattedString):  # comments, doctype, CDATA
                continue
            if isinstance(child, NavigableString):
                parts.append(str(child))
            elif isinstance(child, Tag):
                if child.name in _HTML_HEADINGS:
                    flush()
                    headings.enter(_HTML_HEADINGS[child.name], re.sub(r"\s+", " ", child.get_text(" ")).strip())
                elif child.name in _HTML_BLOCKS:
                    flush()
                    walk(child)
                    flush()
                else:
                    walk(child)

    walk(soup)
    flush()
    return blocks


def _docx_blocks(path: Path) -> list[Block]:
    import zipfile

    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(str(path))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DocumentError(f"corrupt DOCX: {_one_line(exc)}") from None
    headings = _HeadingPath()
    blocks: list[Block] = []
    # Body order matters (a table belongs under the heading before it), so walk the XML.
    for element in document.element.body.iterchildren():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "p":
            paragraph = Paragraph(element, document)
            text = paragraph.text.strip()
            level = _docx_heading_level(paragraph.style.name if paragraph.style is not None else "")
            if level is not None:
                headings.enter(level, text)
            elif text:
                blocks.append(Block(text, heading=headings.path))
        elif tag == "tbl":
            for row in Table(element, document).rows:
                cells = list(dict.fromkeys(c.text.strip() for c in row.cells if c.text.strip()))
                if cells:
                    blocks.append(Block(" | ".join(cells), heading=headings.path))
    return blocks


def _docx_heading_level(style: str) -> int | None:
    if style == "Title":
        return 0
    match = re.fullmatch(r"Heading (\d)", style)
    return int(match.group(1)) if match else None


def _text_blocks(text: str) -> list[Block]:
    return [Block(p) for p in _paragraphs(text)]


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text.replace("\r\n", "\n")) if p.strip()]


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
