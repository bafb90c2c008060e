"""A description of the whole video, for videos whose speech does not say what they show.

With a vision-language model configured (`captioner_model`), the model watches the video
(1 fps, the seed's settings). Without one, a chat model, when the caller passes it,
composes a short description from the transcript and what was found in the keyframes;
the caption is marked `composed=True`, because no model saw the video. With neither,
there is no caption.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.settings import Settings, get_settings
from core.types import Caption, Keyframe, format_timestamp
from pipelines.ingest.media import iter_frames, probe
from pipelines.ingest.transcribe import Transcript

log = logging.getLogger(__name__)

MAX_VLM_FRAMES = 120  # past two minutes, frames are spread evenly instead of 1 per second
TRANSCRIPT_CHARS = 2000
KEYFRAME_LINES = 20
KEYFRAME_CHARS = 200

COMPOSE_SYSTEM = (
    "You write short, factual descriptions of videos for a search index. You cannot see the "
    "video: you are given its transcript and what detectors found in its keyframes (objects, "
    "image tags, on-screen text). Using only that, write two to four plain sentences saying what "
    "the video is about and what it shows. Do not invent details. Write in the language of the "
    "transcript, or English when there is none."
)


def caption_video(
    path: str | Path,
    transcript: Transcript,
    keyframes: Sequence[Keyframe],
    *,
    chat: Any | None = None,
    settings: Settings | None = None,
) -> Caption | None:
    """The video's caption: from the configured VLM, else composed by `chat` (a LangChain
    chat model), else None."""
    settings = settings or get_settings()
    if settings.captioner_model and probe(path).has_video:
        from models.captioner import load_captioner

        captioner = load_captioner(settings)
        frames, fps = _frames_for_vlm(path)
        return Caption(text=captioner.describe(frames, fps=fps), model=captioner.name)
    if chat is not None:
        return compose_caption(Path(path).name, transcript, keyframes, chat)
    return None


def compose_caption(name: str, transcript: Transcript, keyframes: Sequence[Keyframe], chat: Any) -> Caption | None:
    """Ask `chat` for a description from the transcript and keyframe findings. None when
    there is nothing to describe from, or the model returns nothing."""
    seen = [(k.t, k.searchable_text()) for k in keyframes]
    seen = [(t, text) for t, text in seen if text][:KEYFRAME_LINES]
    if not transcript.segments and not seen:
        return None
    parts = [f"File: {name}"]
    if transcript.segments:
        text = transcript.text
        clipped = text if len(text) <= TRANSCRIPT_CHARS else text[:TRANSCRIPT_CHARS] + " ..."
        parts.append(f"Transcript (language: {transcript.language}):\n{clipped}")
    else:
        parts.append("Transcript: none (no speech)")
    if seen:
        lines = [f"- {format_timestamp(t)} {text[:KEYFRAME_CHARS]}" for t, text in seen]
        parts.append("Keyframes:\n" + "\n".join(lines))
    reply = chat.invoke([("system", COMPOSE_SYSTEM), ("human", "\n\n".join(parts))])
    text = _strip_thinking(_content_text(reply.content))
    if not text:
        log.warning("%s: the chat model returned an empty description", name)
        return None
    model = getattr(chat, "model_name", None) or getattr(chat, "model", None) or type(chat).__name__
    return Caption(text=text, model=str(model), composed=True)


def _frames_for_vlm(path: str | Path) -> tuple[list[np.ndarray], float]:
    from models.captioner import FPS, fit_frame

    duration = probe(path).duration_s
    fps = FPS if duration * FPS <= MAX_VLM_FRAMES else MAX_VLM_FRAMES / duration
    frames = [fit_frame(frame.to_ndarray(format="rgb24")) for _, frame in iter_frames(path, fps=fps)]
    return frames[: max(MAX_VLM_FRAMES, 1)], fps


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)


def _strip_thinking(text: str) -> str:
    # Reasoning models wrap their thoughts in <think>...</think>; only the answer is a caption.
    return re.sub(r"<think>.*?</think>", "", text, flags=re.DOTALL).strip()
