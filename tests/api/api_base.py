"""The small real knowledge base the API tests run against: two documents and a short narrated video."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
MARKDOWN_FACT = "The Argus lighthouse keeper polishes the brass lens every Tuesday at dawn."
TEXT_FACT = "The orchard on Mill Road grows exactly forty-two quince trees beside the river."


def write_documents(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    md = folder / "lighthouse.md"
    md.write_text("# Lighthouse Manual\n\n## Lens care\n\n" + MARKDOWN_FACT +
                  " Use a soft chamois cloth and never use abrasive paste.\n\n"
                  "## Fuel\n\nThe lamp burns paraffin oil, stored in the north shed.\n", encoding="utf-8")
    txt = folder / "orchard.txt"
    txt.write_text("Orchard notes.\n\n" + TEXT_FACT + " The quince harvest starts in late October "
                   "and the fruit is stored in straw-lined crates.\n", encoding="utf-8")
    return [md, txt]


def write_video(folder: Path, shared_data: Path, seconds: float = 5.0) -> Path:
    if str(TESTS / "ingest") not in sys.path:
        sys.path.insert(0, str(TESTS / "ingest"))
    from media_files import speech, write_media

    folder.mkdir(parents=True, exist_ok=True)
    return write_media(folder / "speech.mp4", seconds=seconds, audio=speech(shared_data))
