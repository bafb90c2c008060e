"""End to end in headless Chromium: the real API and the real Streamlit server. Ask a question,
see the answer stream in and a citation chip, click it: the video plays from the cited second.
The shared base was ingested as `argus ingest` does it and is served with no ingest roots (as after
`make demo`), so the video plays only because the API serves the catalog's own files.
The shared base's speech starts SPEECH_AT_S seconds into speech.mp4, so the cited second is past 0
and a player that did not seek would fail the check. The screenshot goes to the test's temp folder
(or to ARGUS_SCREENSHOT_DIR, to update docs/screenshots/ on purpose).

Drives Debian's /usr/bin/chromium through Playwright (no browser download)."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from absent import absent
from api_base import SPEECH_AT_S, SPEECH_S, free_port

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
QUESTION = "What did the speaker say, ask not what your country can do?"
SEEK_TOLERANCE_S = 0.5


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("ARGUS_SCREENSHOT_DIR") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def ui_server(base_api: str, tmp_path: Path) -> Iterator[str]:
    """Streamlit with the command line `argus ui` uses, against the real API."""
    from app.commands.ui import streamlit_command

    port = free_port()
    env = {**os.environ, "ARGUS_UI_API_URL": base_api, "ARGUS_UI_API_KEY": ""}
    log = (tmp_path / "streamlit.log").open("w")
    process = subprocess.Popen(streamlit_command("127.0.0.1", port) + ["--server.fileWatcherType", "none"],
                               env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=2).is_success:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "streamlit.log").read_text()
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def chromium() -> None:
    if not CHROMIUM.exists():
        absent("Debian chromium is not installed (apt-get install chromium)")


def test_ask_stream_cite_and_play(ui_server: str, llm_engine, screenshot_dir: Path) -> None:
    chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(ui_server)
        box = page.get_by_test_id("stChatInputTextArea")
        box.wait_for(timeout=60_000)
        # `argus ui` shows viewer toolbar items only: no Deploy button a self-hosted user cannot use.
        assert page.get_by_test_id("stAppDeployButton").count() == 0
        box.fill(QUESTION)
        box.press("Enter")

        # The answer streams in: its text is seen growing before the citation chips appear.
        chip = page.get_by_role("button", name=re.compile(r"speech\.mp4 @ \d\d:\d\d"))
        answer = page.get_by_test_id("stChatMessage").nth(1)
        lengths: list[int] = []
        deadline = time.monotonic() + 600
        while not chip.count():
            assert time.monotonic() < deadline, "no citation chip within 10 minutes"
            if answer.count():
                lengths.append(len(answer.inner_text()))
            time.sleep(0.1)
        streamed = sorted({n for n in lengths if n > 0})
        assert len(streamed) >= 2, f"the answer did not stream in (text lengths seen: {streamed})"
        assert answer.inner_text().strip()

        label = chip.first.inner_text()
        cited = re.search(r"@ (\d\d):(\d\d)", label)
        second = int(cited.group(1)) * 60 + int(cited.group(2))
        # The narration starts SPEECH_AT_S into the video: a cited second of 0 would not tell a seek
        # from no seek.
        assert 0 < second < SPEECH_AT_S + SPEECH_S, f"the chip {label!r} does not cite the narration"
        chip.first.click()
        page.locator("video").wait_for(timeout=60_000)
        page.wait_for_function("() => { const v = document.querySelector('video'); return v && v.readyState >= 1 }",
                               timeout=60_000)
        deadline = time.monotonic() + 15  # the player seeks once its metadata is loaded
        while True:
            current = page.evaluate("document.querySelector('video').currentTime")
            if abs(current - second) < SEEK_TOLERANCE_S or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert abs(current - second) < SEEK_TOLERANCE_S, f"the player is at {current} s, the chip cites {second} s"
        page.get_by_test_id("stImage").first.wait_for(timeout=30_000)  # the keyframe beside the player
        page.mouse.move(5, 990)  # away from the chip, so its tooltip does not cover the answer
        page.wait_for_timeout(500)
        page.screenshot(path=str(screenshot_dir / "chat.png"), full_page=True)
        browser.close()


def test_status_and_library_render_without_errors(ui_server: str, screenshot_dir: Path) -> None:
    """The Library page after a command-line ingest plays the video (no 403 traceback), and the Status
    page's marks are plain symbols (no emoji boxes). Screenshots of both for a look by eye."""
    chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{ui_server}/library")
        page.get_by_test_id("stDataFrame").first.wait_for(timeout=60_000)
        page.get_by_test_id("stSelectbox").first.click()
        page.get_by_role("option", name=re.compile(r"speech\.mp4")).click()
        page.locator("video").wait_for(timeout=60_000)
        page.wait_for_function("() => document.querySelector('video').readyState >= 1", timeout=60_000)
        assert page.get_by_test_id("stException").count() == 0 and page.get_by_test_id("stAlert").count() == 0
        page.screenshot(path=str(screenshot_dir / "library.png"), full_page=True)

        page.goto(f"{ui_server}/status")
        page.get_by_text("Models").first.wait_for(timeout=60_000)
        page.get_by_test_id("stDataFrame").nth(1).wait_for(timeout=60_000)
        assert page.get_by_test_id("stException").count() == 0
        page.wait_for_timeout(1000)
        page.screenshot(path=str(screenshot_dir / "status.png"), full_page=True)
        browser.close()
