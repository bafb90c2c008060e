"""The composed video caption from the real local LLM (the session's vLLM engine), on the same
transcript and keyframe findings the scripted-fake tests in test_caption.py use."""

from __future__ import annotations

import pytest
from test_caption import KEYFRAMES, TRANSCRIPT

from core.settings import Settings
from pipelines.ingest.caption import compose_caption

pytestmark = pytest.mark.integration


def test_the_real_llm_composes_a_caption_about_the_video(llm_engine) -> None:
    from models.llm.client import get_chat_model

    settings = Settings()
    caption = compose_caption("coffee.mp4", TRANSCRIPT, KEYFRAMES, get_chat_model(settings, max_tokens=120))

    assert caption is not None and caption.composed
    assert caption.model == settings.llm_model
    text = caption.text.lower()
    assert "<think>" not in text and 20 <= len(text) <= 1200
    # The transcript and the keyframe tag are about brewing espresso: a caption that did not get them says neither.
    assert "espresso" in text or "coffee" in text, caption.text
