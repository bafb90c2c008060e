"""Status page (Streamlit AppTest): doctor information and base statistics from the real API;
the agent-evaluation summary, from the real API and from a fake one that has runs."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from absent import absent
from api_base import SPEECH_AT_S, SPEECH_S, LiveServer, free_port
from fastapi import FastAPI
from streamlit.testing.v1 import AppTest
from ui_pages import point_ui_at, run_page


@pytest.mark.integration
def test_doctor_and_statistics(page) -> None:
    at = page("status").run()
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["sources"] == "3" and metrics["media time"] == f"00:{int(SPEECH_AT_S + SPEECH_S):02d}"
    assert int(metrics["document chunks"]) >= 2 and int(metrics["keyframes"]) >= 1
    models = next(d.value for d in at.dataframe if "role" in d.value.columns)
    states = dict(zip(models["role"], models["state"], strict=True))
    assert states["text_embedding"] == "✓ real" and states["clip"] == "○ absent"
    assert any("1 video" in c.value and "2 document" in c.value for c in at.caption)
    assert any(i.value == "No evaluation run yet." for i in at.info)  # a fresh base has none


def fake_api_with_evaluations() -> FastAPI:
    """A fake API (not the real one): just the routes the Status page reads, with two evaluation runs."""
    fake = FastAPI()
    doctor = {"home": "/srv/argus", "engines": [], "system": [],
              "models": [{"role": "asr", "title": "Whisper", "state": "real", "source": "shipped", "path": "/m",
                          "detail": "", "fix": ""}]}
    stats = {"sources": 0, "by_type": {}, "rows": {}, "duration_s": 0, "index_version": None, "jobs": {}}
    fake.get("/healthz")(lambda: {"status": "ok"})
    fake.get("/readyz")(lambda: {"ready": True, "checks": {"catalog": {"ok": True, "detail": "0 sources"}}})
    fake.get("/v1/status")(lambda: {"doctor": doctor, "stats": stats})
    fake.get("/v1/eval/agents/runs")(lambda: [
        {"id": "20251122T120000Z", "created": 1763812800,
         "summary": {"pass_rate": 0.75, "fact_recall": 0.8, "questions": 12}},
        {"id": "20251121T120000Z", "created": 1763726400, "summary": {"pass_rate": 0.5}},
    ])
    return fake


@pytest.mark.unit
def test_latest_evaluation_summary(monkeypatch) -> None:
    with LiveServer(fake_api_with_evaluations(), free_port()) as server:
        point_ui_at(monkeypatch, server.url)
        at = AppTest.from_function(run_page, args=("status",), default_timeout=30).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["pass rate"] == "75%" and metrics["fact recall"] == "80%"
    assert any("20251122T120000Z" in c.value and "2 run(s)" in c.value for c in at.caption)


@pytest.mark.unit
def test_status_marks_have_a_glyph_in_an_installed_font() -> None:
    # Emoji such as ✅ draw as empty boxes where no colour-emoji font is installed (headless Chromium).
    from ui.status import MARKS

    if shutil.which("fc-list") is None:
        absent("fontconfig's fc-list is not installed (apt-get install fontconfig)")
    for mark in MARKS:
        fonts = subprocess.run(["fc-list", f":charset={ord(mark):x}", "family"], capture_output=True, text=True,
                               check=True).stdout
        assert fonts.strip(), f"no installed font draws {mark!r} (U+{ord(mark):04X})"
