"""Real input files for the ingestion tests, generated once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from doc_files import write_chinese_text, write_docx, write_html, write_markdown, write_pdf
from media_files import speech, write_media


@pytest.fixture(scope="session")
def docs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One file of each document type."""
    folder = tmp_path_factory.mktemp("docs")
    write_markdown(folder / "espresso.md")
    write_html(folder / "bikes.html")
    write_pdf(folder / "notes.pdf")
    write_chinese_text(folder / "咖啡.txt")
    write_docx(folder / "garden.docx")
    return folder


@pytest.fixture(scope="session")
def talk_mp4(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """An 11 s video: changing slides and a real spoken sentence."""
    return write_media(tmp_path_factory.mktemp("media") / "talk.mp4", seconds=11, audio=speech(shared_data))


@pytest.fixture(scope="session")
def short_talk_mp4(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """A 5 s video: two slides and "And so, my fellow Americans"."""
    return write_media(tmp_path_factory.mktemp("media") / "short_talk.mp4", seconds=5, audio=speech(shared_data))
