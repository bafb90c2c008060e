"""Finding and checking input files before any model sees them.

`discover` expands the paths given to `argus ingest` into files (walking folders,
skipping hidden entries, detecting directory loops through their real inodes), and
`inspect_file` checks one file: a supported extension, content that matches it
(magic bytes, not just the name), a non-zero size under `max_file_mb`. `hash_file`
streams the sha256 that identifies a source.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from core.types import SourceType
from pipelines.ingest.documents import MIME_TYPES as DOCUMENT_MIME_TYPES


class InputError(ValueError):
    """A file that is refused before processing; the message is the reason, in one line."""


# extension -> (source type, MIME type, the container family its bytes must show)
FORMATS: dict[str, tuple[SourceType, str, str]] = {
    ".mp4": (SourceType.video, "video/mp4", "isobmff"),
    ".m4v": (SourceType.video, "video/x-m4v", "isobmff"),
    ".mov": (SourceType.video, "video/quicktime", "isobmff"),
    ".mkv": (SourceType.video, "video/x-matroska", "matroska"),
    ".webm": (SourceType.video, "video/webm", "matroska"),
    ".avi": (SourceType.video, "video/x-msvideo", "avi"),
    ".gif": (SourceType.video, "image/gif", "gif"),
    ".wav": (SourceType.audio, "audio/wav", "wav"),
    ".flac": (SourceType.audio, "audio/flac", "flac"),
    ".mp3": (SourceType.audio, "audio/mpeg", "mp3"),
    ".m4a": (SourceType.audio, "audio/mp4", "isobmff"),
    ".aac": (SourceType.audio, "audio/aac", "aac"),
    ".ogg": (SourceType.audio, "audio/ogg", "ogg"),
    ".opus": (SourceType.audio, "audio/opus", "ogg"),
    ".aiff": (SourceType.audio, "audio/aiff", "aiff"),
    ".aif": (SourceType.audio, "audio/aiff", "aiff"),
    ".pdf": (SourceType.document, DOCUMENT_MIME_TYPES[".pdf"], "pdf"),
    ".docx": (SourceType.document, DOCUMENT_MIME_TYPES[".docx"], "docx"),
    **{ext: (SourceType.document, mime, "text") for ext, mime in DOCUMENT_MIME_TYPES.items()
       if mime.startswith("text/")},
}

_FAMILY_NAMES = {
    "isobmff": "MP4/QuickTime", "matroska": "Matroska/WebM", "avi": "AVI", "gif": "GIF", "wav": "WAV",
    "flac": "FLAC", "mp3": "MP3", "aac": "AAC", "ogg": "Ogg", "aiff": "AIFF", "pdf": "PDF", "docx": "DOCX",
    "text": "text",
}


@dataclass(frozen=True)
class FileInfo:
    path: Path
    type: SourceType
    mime: str
    size_bytes: int


@dataclass
class Discovery:
    files: list[Path] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): failed jobs
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): skipped jobs
    not_descended: list[str] = field(default_factory=list)  # subfolders left out without `recursive`


def discover(paths: list[str | Path], *, recursive: bool = False) -> Discovery:
    """Expand `paths` into files. A folder contributes its files (and, with `recursive`,
    its subfolders'); hidden entries are skipped; every folder is entered once, and a
    symlink that leads back into its own ancestry is reported as a loop, once. A symlink
    inside a given folder that resolves outside that folder is refused (a failure that
    names where it leads), so a folder cannot smuggle in a file from elsewhere."""
    found = Discovery()
    root = Path("/")
    seen_files: set[tuple[int, int]] = set()
    seen_dirs: set[tuple[int, int]] = set()
    reported_loops: set[tuple[int, int]] = set()

    def add_file(path: Path, st: os.stat_result, *, explicit: bool) -> None:
        key = (st.st_dev, st.st_ino)
        if key in seen_files:
            return  # the same file reached twice (a link, or listed twice)
        seen_files.add(key)
        if not explicit and path.suffix.lower() not in FORMATS:
            found.skipped.append((str(path), f"unsupported file type {path.suffix.lower() or '(none)'!r}"))
            return
        found.files.append(path)

    def walk(folder: Path, ancestors: tuple[tuple[int, int], ...]) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            found.failures.append((str(folder), f"cannot read folder: {exc.strerror}"))
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            if entry.is_symlink() and (outside := leaves_root(path, root)) is not None:
                found.failures.append((str(path), f"refused: the symlink leads outside {root} (to {outside})"))
                continue
            try:
                st = os.stat(path)  # follows links
            except OSError as exc:
                found.failures.append((str(path), _stat_reason(exc)))
                continue
            key = (st.st_dev, st.st_ino)
            if entry.is_dir():
                if not recursive:
                    found.not_descended.append(str(path))
                    continue
                if key in ancestors:
                    if key not in reported_loops:
                        reported_loops.add(key)
                        found.failures.append((str(path), f"directory loop: {path} leads back to {path.resolve()}"))
                    continue
                if key in seen_dirs:
                    continue  # another link to a folder already walked
                seen_dirs.add(key)
                walk(path, (*ancestors, key))
            elif entry.is_file():
                add_file(path, st, explicit=False)

    for given in paths:
        path = Path(given).expanduser().absolute()
        try:
            st = os.stat(path)
        except OSError as exc:
            found.failures.append((str(path), _stat_reason(exc)))
            continue
        if path.is_dir():
            key = (st.st_dev, st.st_ino)
            if key not in seen_dirs:
                seen_dirs.add(key)
                root = path.resolve()
                walk(path, (key,))
        elif path.is_file():
            add_file(path, st, explicit=True)
        else:
            found.failures.append((str(path), "not a regular file or folder"))
    return found


def leaves_root(path: Path, root: Path) -> Path | None:
    """Where `path` really leads, when that is outside `root` (a resolved folder); else None."""
    real = Path(os.path.realpath(path))
    return None if real == root or real.is_relative_to(root) else real


def _stat_reason(exc: OSError) -> str:
    if exc.errno == 40:  # ELOOP
        return "symlink loop"
    if isinstance(exc, FileNotFoundError):
        return "no such file or directory"
    return exc.strerror or str(exc)


def inspect_file(path: Path, *, max_file_mb: float) -> FileInfo:
    """Type, MIME and size of a file that passes the checks; `InputError` otherwise."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"unsupported file type {suffix or '(no extension)'!r}")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(_stat_reason(exc)) from None
    if size == 0:
        raise InputError("empty file (0 bytes)")
    if size > max_file_mb * 1024 * 1024:
        raise InputError(f"too large: {size / 2**20:.1f} MB > max_file_mb {max_file_mb:g} MB")
    source_type, mime, family = FORMATS[suffix]
    with open(path, "rb") as fh:
        head = fh.read(8192)
    if not _matches(family, head, path):
        raise InputError(f"content is not {_FAMILY_NAMES[family]} data despite the {suffix} extension")
    return FileInfo(path, source_type, mime, size)


def _matches(family: str, head: bytes, path: Path) -> bool:
    """Whether the first bytes look like `family` (magic numbers of each container)."""
    if family == "isobmff":
        return head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")
    if family == "matroska":
        return head.startswith(b"\x1a\x45\xdf\xa3")
    if family == "avi":
        return head.startswith(b"RIFF") and head[8:12] == b"AVI "
    if family == "gif":
        return head.startswith((b"GIF87a", b"GIF89a"))
    if family == "wav":
        return head.startswith((b"RIFF", b"RF64")) and head[8:12] == b"WAVE"
    if family == "flac":
        return head.startswith(b"fLaC") or (head.startswith(b"ID3") and b"fLaC" in head)
    if family in ("mp3", "aac"):
        return head.startswith((b"ID3", b"ADIF")) or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)
    if family == "ogg":
        return head.startswith(b"OggS")
    if family == "aiff":
        return head.startswith(b"FORM") and head[8:12] in (b"AIFF", b"AIFC")
    if family == "pdf":
        return b"%PDF-" in head[:1024]
    if family == "docx":
        if not head.startswith(b"PK\x03\x04"):
            return False
        try:
            with zipfile.ZipFile(path) as archive:
                return "word/document.xml" in archive.namelist()
        except zipfile.BadZipFile:
            return False
    # text: NUL bytes mean binary, unless it is UTF-16 (checked with its BOM when decoded)
    return head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" not in head


def hash_file(path: Path, *, block: int = 1 << 20) -> str:
    """sha256 of the file's bytes, streamed."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while data := fh.read(block):
            digest.update(data)
    return digest.hexdigest()
