"""Small documents with known facts, for tests that ingest a real base of their own."""

from __future__ import annotations

from pathlib import Path

DOCS = {
    "lighthouse.md": (
        "# Lighthouse Keeper Handbook\n\n## Lamp\n\nThe lamp of the Skerry Point lighthouse is cleaned every "
        "Tuesday with vinegar and a soft cloth.\n\n## Fog\n\nIn fog the horn sounds twice every thirty seconds.\n"),
    "orchard.txt": (
        "Orchard notes. The Bramley apple trees were planted in 1998. Each tree yields about 40 kilograms of "
        "apples per season. The orchard has 25 trees.\n"),
}


def write_docs(folder: Path, names: tuple[str, ...] = tuple(DOCS)) -> Path:
    """Write the named documents into `folder` (created) and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text(DOCS[name], encoding="utf-8")
    return folder
