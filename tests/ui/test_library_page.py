"""Library page (Streamlit AppTest) against the real API: sources, transcript with clickable
timestamps, keyframes, chunks; upload, ingest with progress, delete."""

from __future__ import annotations

import httpx
import pytest
from api_base import MARKDOWN_FACT, SPEECH_AT_S, SPEECH_S
from streamlit.testing.v1 import AppTest
from ui_pages import run_page

pytestmark = pytest.mark.integration


def markdown_text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown) + "\n".join(t.value for t in at.text)


def test_sources_and_their_details(page, base_api, built_base) -> None:
    at = page("library").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert set(table["name"]) == {"lighthouse.md", "orchard.txt", "speech.mp4"}
    video_row = table[table["name"] == "speech.mp4"].iloc[0]
    assert video_row["type"] == "video" and video_row["duration"] == f"00:{int(SPEECH_AT_S + SPEECH_S):02d}" and video_row["status"] == "done"
    assert video_row["language"] == "en" and video_row["segments"] >= 1 and video_row["keyframes"] >= 1

    video_id = built_base["ids"]["speech.mp4"]
    at.selectbox(key="library-source").set_value(video_id).run()
    assert not at.exception
    assert at.get("video")[0].proto.start_time == 0
    assert at.get("image"), "keyframe thumbnails"
    detail = httpx.get(f"{base_api}/v1/sources/{video_id}").json()
    assert "ask" in markdown_text(at).lower()  # the transcript text
    segment = detail["transcript"][-1]
    at.button(key=f"seg-{segment['id']}").click().run()  # a clickable timestamp
    assert at.get("video")[0].proto.start_time == int(segment["t0"])
    frame = detail["keyframes"][-1]
    at.button(key=f"kf-{frame['id']}").click().run()
    assert at.get("video")[0].proto.start_time == int(frame["t"])

    at.selectbox(key="library-source").set_value(built_base["ids"]["lighthouse.md"]).run()
    assert not at.exception and not at.get("video")
    assert MARKDOWN_FACT in markdown_text(at)  # the chunks


def test_upload_ingest_and_delete(empty_api) -> None:
    at = AppTest.from_function(run_page, args=("library",), default_timeout=300).run()
    assert any("empty" in i.value for i in at.info)
    notes = b"# Bee notes\n\nThe hive on the hill has nine frames of capped honey.\n"
    at.file_uploader(key="upload-files").set_value(("bees.md", notes, "text/markdown")).run()
    at.button(key="ingest").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.get("progress"), "the progress bar"
    assert "1 done" in at.success[0].value
    assert list(at.dataframe[0].value["name"]) == ["bees.md"]
    source_id = int(at.dataframe[0].value["id"][0])
    assert "nine frames" in markdown_text(at)

    assert at.button(key=f"delete-{source_id}").disabled  # needs the confirmation first
    at.checkbox(key=f"sure-{source_id}").check().run()
    at.button(key=f"delete-{source_id}").click().run()
    assert not at.exception
    assert any("empty" in i.value for i in at.info)
    assert httpx.get(f"{empty_api}/v1/sources").json() == []
