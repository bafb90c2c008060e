"""Hostile and broken inputs for the fault campaign (`bench/fault_campaign.py`) and its regression tests.

`upload_cases(folder)` writes files that go to `POST /v1/ingest` as multipart uploads;
`path_cases(root, outside)` writes files that go in as server-side paths under an ingest root
(a 2 GB sparse file is not worth uploading; a symlink cannot be uploaded);
`request_cases()` are hostile request bodies and URLs. Each case has a kind (the row of the
campaign table) and what a correct server does with it.
"""

from __future__ import annotations

import io
import struct
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class UploadCase:
    kind: str
    name: str  # the file name the client sends (may itself be hostile)
    data: bytes
    expect: str  # "refused" (4xx at once), "failed" (a failed or skipped job), "done" (ingested)


@dataclass
class PathCase:
    kind: str
    path: Path
    expect: str  # "refused" (403/400), "failed" or "done"


@dataclass
class RequestCase:
    kind: str
    method: str
    url: str
    body: bytes | None = None
    headers: dict | None = None


def _mp4(seconds: float = 3.0) -> bytes:
    sys.path.insert(0, str(ROOT / "tests" / "ingest"))
    import tempfile

    from media_files import write_media

    with tempfile.TemporaryDirectory() as tmp:
        return write_media(Path(tmp) / "v.mp4", seconds=seconds).read_bytes()


def _mkv(seconds: float = 2.0) -> bytes:
    import av
    import numpy as np

    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="matroska") as container:
        stream = container.add_stream("mpeg4", rate=5)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for i in range(int(seconds * 5)):
            frame = av.VideoFrame.from_ndarray(np.full((120, 160, 3), i * 20 % 255, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def _gif() -> bytes:
    from PIL import Image

    frames = [Image.new("RGB", (64, 48), (i * 40, 0, 0)) for i in range(6)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=200)
    return buffer.getvalue()


def _pdf(pages: int = 2, text: bool = True) -> bytes:
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    for i in range(pages):
        page = writer.add_blank_page(width=300, height=200)
        if text:
            font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                                     NameObject("/BaseFont"): NameObject("/Helvetica")})
            page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject(
                {NameObject("/F1"): writer._add_object(font)})})
            stream = DecodedStreamObject()
            stream.set_data(f"BT /F1 12 Tf 20 100 Td (Page {i + 1} of the fault campaign manual) Tj ET".encode())
            page[NameObject("/Contents")] = writer._add_object(stream)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _docx(paragraphs: list[str]) -> bytes:
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _docx_bomb(megabytes: int = 200) -> bytes:
    """A DOCX whose document.xml inflates to `megabytes` MB of empty paragraphs (~0.2 MB compressed)."""
    good = zipfile.ZipFile(io.BytesIO(_docx(["seed"])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bomb:
        for item in good.infolist():
            if item.filename != "word/document.xml":
                bomb.writestr(item, good.read(item))
        head = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w='
                b'"http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>')
        with bomb.open("word/document.xml", "w", force_zip64=True) as member:
            member.write(head)
            block = b"<w:p/>" * (1 << 16)
            for _ in range(megabytes * (1 << 20) // len(block)):
                member.write(block)
            member.write(b"</w:body></w:document>")
    return buffer.getvalue()


def _png_header(width: int, height: int) -> bytes:
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))  # noqa: E731
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + chunk(b"IEND", b"")


def upload_cases() -> list[UploadCase]:
    mp4, mkv, gif, pdf = _mp4(), _mkv(), _gif(), _pdf()
    docx_ok = _docx(["A normal paragraph about lighthouse lenses."])
    note = b"# Campaign note\n\nThe campaign checks that bad files fail alone.\n"
    return [
        UploadCase("truncated MP4", "truncated.mp4", mp4[: len(mp4) // 2], "failed"),
        UploadCase("corrupt MP4 (garbage after the header)", "corrupt.mp4", mp4[:64] + bytes(range(256)) * 64, "failed"),
        UploadCase("truncated MKV", "truncated.mkv", mkv[: len(mkv) // 3], "failed"),
        UploadCase("corrupt MKV (magic, then noise)", "corrupt.mkv", b"\x1a\x45\xdf\xa3" + bytes(4096), "failed"),
        UploadCase("truncated GIF", "truncated.gif", gif[: len(gif) // 2], "failed"),
        UploadCase("corrupt GIF (header, then noise)", "corrupt.gif", b"GIF89a" + b"\xff" * 2048, "failed"),
        UploadCase("truncated PDF", "truncated.pdf", pdf[: len(pdf) // 2], "failed"),
        UploadCase("corrupt PDF (header, then noise)", "corrupt.pdf", b"%PDF-1.7\n" + b"\x00garbage" * 512, "failed"),
        UploadCase("PDF with 10,000 blank pages", "pages10k.pdf", _pdf(10_000, text=False), "failed"),
        UploadCase("truncated DOCX", "truncated.docx", docx_ok[: len(docx_ok) // 2], "failed"),
        UploadCase("DOCX without document.xml (a plain zip)", "notword.docx", _zip({"a.txt": b"x"}), "failed"),
        UploadCase("decompression bomb (DOCX inflating to 200 MB)", "bomb.docx", _docx_bomb(200), "failed"),
        UploadCase("PNG declaring 100k x 100k pixels", "huge.png", _png_header(100_000, 100_000), "failed"),
        UploadCase("PNG declaring 100k x 100k, named .gif", "huge.gif", _png_header(100_000, 100_000), "failed"),
        UploadCase("invalid UTF-8 text", "bad_utf8.txt", b"caf\xe9 \xff\xfe\xfd broken \xc3\x28 bytes\n" * 50, "failed"),
        UploadCase("invalid UTF-16 text (BOM, odd length, lone surrogate)", "bad_utf16.txt",
                   b"\xff\xfe" + "ok".encode("utf-16-le") + b"\x00\xd8" + b"A", "failed"),
        UploadCase("empty file", "empty.md", b"", "failed"),
        UploadCase("empty media file", "empty.mp4", b"", "failed"),
        UploadCase("wrong extension: PDF bytes as .mp4", "pdf_as.mp4", pdf, "failed"),
        UploadCase("wrong extension: MP4 bytes as .txt", "mp4_as.txt", mp4, "failed"),
        UploadCase("filename with ../", "../../escape.md", note, "refused"),
        UploadCase("filename with NUL", "nul\x00.md", note, "refused"),
        UploadCase("filename with newline", "two\nlines.md", note, "refused"),
        UploadCase("filename of 300 characters", "a" * 296 + ".md", note, "refused"),
        UploadCase("filename with an RTL override (U+202E)", "report\u202edm.exe.md", note.replace(b"bad", b"odd"), "done"),
        UploadCase("a good file among the bad (control)", "good.md", note, "done"),
    ]


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def path_cases(root: Path, outside: Path) -> list[PathCase]:
    root.mkdir(parents=True, exist_ok=True)
    outside.mkdir(parents=True, exist_ok=True)
    secret = outside / "secret.txt"
    secret.write_text("outside the root: never ingested\n")
    sparse = root / "sparse_2gb.mp4"
    with open(sparse, "wb") as fh:
        fh.write(struct.pack(">I", 24) + b"ftypisom" + bytes(12))
        fh.truncate(2 * 1024 ** 3)
    link = root / "link_out.txt"
    link.unlink(missing_ok=True)
    link.symlink_to(secret)
    folder = root / "folder_with_link"
    folder.mkdir(exist_ok=True)
    (folder / "inside.md").write_text("# Inside\n\nA file that belongs here.\n")
    inner = folder / "leak.txt"
    inner.unlink(missing_ok=True)
    inner.symlink_to(secret)
    return [
        PathCase("2 GB sparse file (an MP4 header, then zeros)", sparse, "failed"),
        PathCase("symlink out of the ingest root (named directly)", link, "refused"),
        PathCase("symlink out of the ingest root (inside a given folder)", folder, "done"),
        PathCase("path outside the ingest root", secret, "refused"),
        PathCase("path with .. out of the ingest root", root / ".." / outside.name / "secret.txt", "refused"),
    ]


def request_cases() -> list[RequestCase]:
    deep = b"[" * 100_000 + b"]" * 100_000
    return [
        RequestCase("JSON bomb: 100,000 nested arrays", "POST", "/v1/search", b'{"query": ' + deep + b"}"),
        RequestCase("JSON bomb: 100,000 nested objects", "POST", "/v1/search", b'{"a":' * 100_000 + b"1" + b"}" * 100_000),
        RequestCase("JSON: a number with 1,000,000 digits", "POST", "/v1/search", b'{"query": "x", "k": ' + b"9" * 1_000_000 + b"}"),
        RequestCase("JSON body over the size limit (2 MB)", "POST", "/v1/search", b'{"query": "' + b"x" * 2_000_000 + b'"}'),
        RequestCase("query text of 900 kB", "POST", "/v1/search", b'{"query": "' + b"lens " * 180_000 + b'"}'),
        RequestCase("huge query string (60 kB URL)", "GET", "/v1/jobs?limit=5&x=" + "a" * 60_000),
        RequestCase("invalid UTF-8 in JSON", "POST", "/v1/search", b'{"query": "\xff\xfe\xc3("}'),
        RequestCase("1,000 byte ranges in one Range header", "GET", "/v1/media/1",
                    headers={"range": "bytes=" + ",".join(f"{i}-{i}" for i in range(1000))}),
    ]


def raw_multipart(name: bytes, data: bytes = b"# x\n") -> tuple[bytes, str]:
    """A multipart body with the file name exactly as given (httpx would percent-encode NUL and newline)."""
    boundary = "campaignboundary"
    body = (f"--{boundary}\r\n".encode() + b'Content-Disposition: form-data; name="files"; filename="' + name
            + b'"\r\nContent-Type: application/octet-stream\r\n\r\n' + data + f"\r\n--{boundary}--\r\n".encode())
    return body, f"multipart/form-data; boundary={boundary}"
