"""Documents -> anchored text chunks.

PDF (text layer per page; pages without one are OCR-ed from their embedded images),
Markdown, HTML, DOCX and plain text are read into `Block`s (text plus its anchor: page
number and heading path), then cut into `Chunk`s of about `chunk_tokens` tokens with
`overlap` tokens shared between neighbours. Tokens are counted with the chat LLM's
tokenizer, the model that will read the chunks. A chunk never spans two anchors, so
every chunk cites one page and one heading path.

Failures raise `DocumentError` with a one-line reason (corrupt file, encrypted PDF,
no extractable text, text that is not UTF-8/UTF-16/GB18030).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.types import Chunk

ProgressFn = Callable[[float], None]

MIME_TYPES = {
    ".pdf": "application/pdf",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".html": "text/html",
    ".htm": "text/html",
    ".txt": "text/plain",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


class DocumentError(ValueError):
    """A document that cannot be turned into text; the message is the reason, in one line."""


@dataclass
class Block:
    text: str
    page: int | None = None
    heading: str | None = None


@dataclass
class DocumentText:
    blocks: list[Block]
    pages: int | None
    mime: str


@dataclass
class ChunkedDocument:
    chunks: list[Chunk]
    language: str | None
    pages: int | None
    mime: str


def read_document(path: Path, *, chunk_tokens: int = 256, overlap: int = 48, ocr_threads: int = 1,
                  progress: ProgressFn | None = None) -> ChunkedDocument:
    """Extract, detect the language and chunk one document."""
    doc = extract(path, ocr_threads=ocr_threads, progress=progress)
    chunks = chunk_blocks(doc.blocks, max_tokens=chunk_tokens, overlap=overlap)
    if not chunks:
        raise DocumentError("no extractable text")
    language = detect_language(" ".join(b.text for b in doc.blocks))
    return ChunkedDocument(chunks, language, doc.pages, doc.mime)


def extract(path: Path, *, ocr_threads: int = 1, progress: ProgressFn | None = None) -> DocumentText:
    suffix = path.suffix.lower()
    if suffix not in MIME_TYPES:
        raise DocumentError(f"unsupported document type {suffix!r}")
    mime = MIME_TYPES[suffix]
    if suffix == ".pdf":
        blocks, pages = _pdf_blocks(path, ocr_threads, progress)
        return DocumentText(blocks, pages, mime)
    if suffix == ".docx":
        return DocumentText(_docx_blocks(path), None, mime)
    data = path.read_bytes()
    if suffix in (".html", ".htm"):
        return DocumentText(_html_blocks(_decode_html(data)), None, mime)
    text = decode_text(data)
    if suffix in (".md", ".markdown"):
        return DocumentText(_markdown_blocks(text), None, mime)
    return DocumentText(_text_blocks(text), None, mime)


# -- text encodings -------------------------------------------------------------------


def decode_text(data: bytes) -> str:
    """UTF-8 (BOM or not), else UTF-16 with a BOM, else GB18030/GBK when it reads as Chinese.

    Anything else is refused rather than guessed: a wrong guess silently indexes mojibake.
    """
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise DocumentError("not valid UTF-16 text (despite its byte-order mark)") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = _decode_gb18030(data)
    if "\x00" in text:
        raise DocumentError("binary content (NUL bytes), not text")
    return text


def _decode_gb18030(data: bytes) -> str:
    not_utf8 = DocumentError("not UTF-8 text (nor UTF-16 with a BOM, nor GB18030/GBK Chinese); convert it to UTF-8")
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise not_utf8 from None
    # GB18030 decodes many byte strings "successfully"; real Chinese text is mostly
    # common (GB2312) hanzi, while Latin-1 or cp1252 bytes read as rare ones.
    wide = [ch for ch in text if ord(ch) > 0x7F]
    common = sum(1 for ch in wide if _is_gb2312(ch) and (_is_cjk(ch) or _is_cjk_punctuation(ch)))
    if not wide or common / len(wide) < 0.9:
        raise not_utf8
    return text


def _is_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
        return True
    except UnicodeEncodeError:
        return False


def _decode_html(data: bytes) -> str:
    """HTML may declare its charset; otherwise the plain-text rules apply."""
    match = re.search(rb"""<meta[^>]+charset=["']?([A-Za-z0-9_\-]+)""", data[:4096], re.IGNORECASE)
    if match:
        declared = match.group(1).decode("ascii").lower()
        try:
            return data.decode(declared)
        except (LookupError, UnicodeDecodeError):
            pass  # a wrong declaration: fall back to detection
    return decode_text(data)


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


# -- chunking -------------------------------------------------------------------------


@lru_cache(maxsize=1)
def chunk_tokenizer():
    """The chat LLM's tokenizer (the model that reads the chunks decides their size)."""
    from tokenizers import Tokenizer

    from models.registry import resolve

    return Tokenizer.from_file(str(Path(resolve("chat_llm")) / "tokenizer.json"))


_SENTENCE_END = tuple(".!?。！？;；:：") + ("\n",)


def chunk_blocks(blocks: list[Block], *, max_tokens: int = 256, overlap: int = 48) -> list[Chunk]:
    """Token windows over each run of blocks that share an anchor (page, heading path)."""
    if not 0 <= overlap < max_tokens:
        raise ValueError(f"overlap ({overlap}) must be smaller than the chunk size ({max_tokens})")
    sections: list[tuple[int | None, str | None, list[str]]] = []
    for block in blocks:
        if sections and sections[-1][:2] == (block.page, block.heading):
            sections[-1][2].append(block.text)
        else:
            sections.append((block.page, block.heading, [block.text]))
    chunks: list[Chunk] = []
    for page, heading, texts in sections:
        for text in _windows("\n\n".join(texts), max_tokens, overlap):
            chunks.append(Chunk(ordinal=len(chunks), text=text, page=page, heading=heading))
    return chunks


def _windows(text: str, max_tokens: int, overlap: int) -> list[str]:
    offsets = chunk_tokenizer().encode(text, add_special_tokens=False).offsets
    n = len(offsets)
    windows: list[str] = []
    start = 0
    while start < n:
        end = min(start + max_tokens, n)
        if end < n:
            end = _sentence_break(text, offsets, start, end, max_tokens)
        piece = text[offsets[start][0] : offsets[end - 1][1]].strip()
        if piece:
            windows.append(piece)
        if end >= n:
            break
        start = max(end - overlap, start + 1)
    return windows


def _sentence_break(text: str, offsets: list[tuple[int, int]], start: int, end: int, max_tokens: int) -> int:
    """Move a window's end back to a sentence end within its last quarter, if there is one."""
    for j in range(end, start + max_tokens * 3 // 4, -1):
        if text[offsets[j - 1][0] : offsets[j - 1][1]].rstrip(" \t").endswith(_SENTENCE_END):
            return j
    return end


# -- language -------------------------------------------------------------------------

_STOPWORDS = {
    "en": {"the", "and", "of", "to", "is", "in", "that", "it", "for", "with", "as", "are", "this", "be", "on"},
    "fr": {"le", "la", "les", "et", "des", "est", "un", "une", "du", "que", "dans", "pour", "qui", "pas", "sur"},
    "de": {"der", "die", "das", "und", "ist", "nicht", "ein", "eine", "zu", "den", "mit", "von", "sich", "auf"},
    "es": {"el", "la", "los", "las", "y", "es", "que", "de", "en", "un", "una", "por", "con", "para", "del"},
}


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x2FA1F


def _is_cjk_punctuation(ch: str) -> bool:
    o = ord(ch)
    return 0x3000 <= o <= 0x303F or 0xFF00 <= o <= 0xFFEF or o in (0x2014, 0x2018, 0x2019, 0x201C, 0x201D, 0x2026)


def detect_language(text: str) -> str | None:
    """ISO 639-1 code from the script mix (zh/ja/ko) or common function words (en/fr/de/es)."""
    cjk = kana = hangul = latin = 0
    for ch in text:
        o = ord(ch)
        if _is_cjk(ch):
            cjk += 1
        elif 0x3040 <= o <= 0x30FF:
            kana += 1
        elif 0xAC00 <= o <= 0xD7AF:
            hangul += 1
        elif ch.isalpha() and o < 0x250:
            latin += 1
    letters = cjk + kana + hangul + latin
    if letters == 0:
        return None
    if kana / letters > 0.1:
        return "ja"
    if hangul / letters > 0.3:
        return "ko"
    if cjk / letters > 0.3:  # a hanzi carries about as much as a 3-letter word
        return "zh"
    words = re.findall(r"[a-zà-ÿ]+", text.lower())
    votes = {lang: sum(1 for w in words if w in stop) for lang, stop in _STOPWORDS.items()}
    best = max(votes, key=votes.get)
    return best if votes[best] > 0 else None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
