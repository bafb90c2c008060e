"""Documents -> anchored text chunks.

PDF (text layer per page; pages without one are OCR-ed from their embedded images),
Markdown, HTML, DOCX and plain text are read into `Block`s (text plus its anchor: page
number and heading path), then cut into `Chunk`s of about `chunk_tokens` tokens with
`overlap` tokens shared between neighbours. Tokens are counted with the chat LLM's
tokenizer, the model that will read the chunks. A chunk never spans two anchors, so
every chunk cites one page and one heading path.

Failures raise `DocumentError` with a one-line reason (corrupt file, encrypted PDF,
no extractable text, text that is not UTF-8/UTF-16/GB18030).

The readers of each format are in `document_readers.py`; this module picks one by extension,
decodes text files, chunks the blocks and detects the language.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.types import Chunk
from pipelines.ingest.document_readers import (
    Block,
    DocumentError,
    ProgressFn,
    _docx_blocks,
    _html_blocks,
    _markdown_blocks,
    _pdf_blocks,
    _text_blocks,
)

__all__ = ["MIME_TYPES", "Block", "ChunkedDocument", "DocumentError", "DocumentText", "ProgressFn", "chunk_blocks",
           "chunk_tokenizer", "decode_text", "detect_language", "extract", "read_document"]


MIME_TYPES = {
    ".pdf": "application/pdf",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".html": "text/html",
    ".htm": "text/html",
    ".txt": "text/plain",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


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
