"""Video captions: the VLM when configured, else composed by a chat model, else none.

The chat model here is a scripted fake (it replies with fixed text), so these tests check
what the composer sends and how it treats the reply; test_caption_llm.py composes a caption
with the real local LLM."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from core.settings import Settings
from core.types import DetectedObject, Keyframe, Segment, Tag
from models.registry import ModelUnavailable
from pipelines.ingest.caption import caption_video, compose_caption
from pipelines.ingest.transcribe import Transcript

pytestmark = pytest.mark.unit


class ScriptedChat(FakeListChatModel):
    """Replies with `responses` in turn and keeps the messages it was sent."""

    sent: list[Any] = []

    def _call(self, messages, stop=None, run_manager=None, **kwargs) -> str:
        self.sent.append(messages)
        return super()._call(messages, stop, run_manager, **kwargs)


TRANSCRIPT = Transcript(language="en", segments=[
    Segment(t0=0.3, t1=4.0, text="Today we brew espresso at home.", language="en"),
    Segment(t0=4.5, t1=9.0, text="Grind the beans fine, like table salt.", language="en"),
])
KEYFRAMES = [
    Keyframe(t=0.0, path="", ocr="Better Coffee at Home"),
    Keyframe(t=5.3, path="", objects=[DetectedObject(label="cup", score=0.95, box=(0.1, 0.1, 0.5, 0.5))],
             tags=[Tag(label="espresso", score=0.84)]),
    Keyframe(t=9.0, path=""),  # nothing found: not sent
]


def test_composed_caption_from_transcript_and_keyframes() -> None:
    chat = ScriptedChat(responses=["A home barista shows how to brew espresso, grinding beans fine."], sent=[])
    caption = compose_caption("coffee.mp4", TRANSCRIPT, KEYFRAMES, chat)

    assert caption is not None and caption.composed
    assert caption.text == "A home barista shows how to brew espresso, grinding beans fine."
    assert caption.model == "ScriptedChat"
    (messages,) = chat.sent
    system, human = messages[0].content, messages[1].content
    assert "Do not invent details" in system
    assert "File: coffee.mp4" in human
    assert "Today we brew espresso at home. Grind the beans fine" in human
    assert '- 00:00 text: "Better Coffee at Home"' in human
    assert "- 00:05 objects: cup; tags: espresso" in human
    assert "00:09" not in human


def test_reasoning_is_stripped_and_an_empty_reply_gives_no_caption() -> None:
    chat = ScriptedChat(responses=["<think>\nThe transcript is about coffee.\n</think>\nA video about espresso."],
                        sent=[])
    assert compose_caption("c.mp4", TRANSCRIPT, [], chat).text == "A video about espresso."
    assert compose_caption("c.mp4", TRANSCRIPT, [], ScriptedChat(responses=["  "], sent=[])) is None


def test_nothing_to_describe_gives_no_caption_and_no_call() -> None:
    chat = ScriptedChat(responses=["unused"], sent=[])
    assert compose_caption("silent.mp4", Transcript(language=None, segments=[]), [Keyframe(t=0, path="")], chat) is None
    assert chat.sent == []


def test_caption_video_without_vlm_or_chat_is_none(tmp_path: Path) -> None:
    assert caption_video(tmp_path / "any.mp4", TRANSCRIPT, KEYFRAMES, settings=Settings(home=tmp_path)) is None


def test_caption_video_uses_the_chat_model_when_no_vlm_is_configured(tmp_path: Path) -> None:
    chat = ScriptedChat(responses=["An espresso tutorial."], sent=[])
    caption = caption_video(tmp_path / "coffee.mp4", TRANSCRIPT, KEYFRAMES, chat=chat, settings=Settings(home=tmp_path))
    assert caption is not None and caption.composed and caption.text == "An espresso tutorial."


def test_a_configured_vlm_that_is_missing_is_a_clear_error(tmp_path: Path) -> None:
    from synth import photo, write_video

    video = write_video(tmp_path / "v.mp4", [(photo("coffee", 64, 48), 1.0)])
    settings = Settings(home=tmp_path, captioner_model=str(tmp_path / "no-such-vlm"))
    with pytest.raises(ModelUnavailable, match="captioner: ARGUS_CAPTIONER_MODEL=.* does not exist"):
        caption_video(video, TRANSCRIPT, KEYFRAMES, chat=ScriptedChat(responses=["x"], sent=[]), settings=settings)
