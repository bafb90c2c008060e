"""End to end in headless Chromium: the real API and the real Streamlit server. Ask a question,
see the answer stream in and a citation chip, click it: the video plays from the cited second.
The shared base's speech starts SPEECH_AT_S seconds into speech.mp4, so the cited second is past 0
and a player that did not seek would fail the check. Saves docs/screenshots/chat.png.

Drives Debian's /usr/bin/chromium through Playwright (no browser download)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_base import SPEECH_AT_S, SPEECH_S, free_port

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
SCREENSHOT = REPO / "docs" / "screenshots" / "chat.png"
QUESTION = "What did the speaker say, ask not what your country can do?"
SEEK_TOLERANCE_S = 0.5


@pytest.fixture
def ui_server(base_api: str, tmp_path: Path) -> Iterator[str]:
    """`streamlit run ui/streamlit_app.py` against the real API, as `argus ui` runs it."""
    port = free_port()
    env = {**os.environ, "ARGUS_UI_API_URL": base_api, "ARGUS_UI_API_KEY": ""}
    log = (tmp_path / "streamlit.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(REPO / "ui" / "streamlit_app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
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


def test_ask_stream_cite_and_play(ui_server: str, llm_engine) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(ui_server)
        box = page.get_by_test_id("stChatInputTextArea")
        box.wait_for(timeout=60_000)
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
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        browser.close()
