"""Video captions from a vision-language model (Qwen2.5-VL), only when one is configured.

No VLM weights can be had on the default install: without `captioner_model`,
`load_captioner` raises `ModelUnavailable` and ingestion composes descriptions with the
chat LLM instead (`pipelines.ingest.caption`). The settings are the seed's: prompt
"please describe the video", frames at 1 fps compressed to at most 360*420 pixels,
`max_new_tokens=512`, `length_penalty=0.5`, and the prompt ids stripped before decoding.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from core.settings import Settings, get_settings
from models.registry import ModelUnavailable, get_registry

PROMPT = "please describe the video"
FPS = 1.0
MAX_PIXELS = 360 * 420
MAX_NEW_TOKENS = 512
LENGTH_PENALTY = 0.5
PATCH = 28  # Qwen2.5-VL's vision patch (14) times its 2x2 token merge


class VideoCaptioner:
    def __init__(self, source: str):
        import models.torchvision_guard  # noqa: F401, I001  (before transformers, which imports torchvision)
        import torch
        from transformers import AutoProcessor, Qwen2_5_VLForConditionalGeneration

        self._torch = torch
        self._processor = AutoProcessor.from_pretrained(source)
        self._model = Qwen2_5_VLForConditionalGeneration.from_pretrained(source, dtype="auto").eval()
        self.name = Path(source).name

    def describe(self, frames: Sequence[np.ndarray], *, fps: float = FPS, max_new_tokens: int = MAX_NEW_TOKENS) -> str:
        """A description of the video given as RGB frames sampled at `fps`."""
        from transformers.video_utils import VideoMetadata

        video = np.stack([fit_frame(f) for f in frames])
        messages = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": PROMPT}]}]
        prompt = self._processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        metadata = VideoMetadata(total_num_frames=len(video), fps=fps, width=video.shape[2], height=video.shape[1],
                                 duration=len(video) / fps, frames_indices=list(range(len(video))))
        inputs = self._processor(text=[prompt], videos=[video], video_metadata=[metadata], do_sample_frames=False,
                                 do_resize=False, return_tensors="pt")
        with self._torch.inference_mode():
            out = self._model.generate(**inputs, max_new_tokens=max_new_tokens, length_penalty=LENGTH_PENALTY,
                                       do_sample=False)
        generated = out[:, inputs["input_ids"].shape[1] :]  # strip the prompt ids
        return self._processor.batch_decode(generated, skip_special_tokens=True)[0].strip()


def fit_frame(rgb: np.ndarray) -> np.ndarray:
    """Resize to at most MAX_PIXELS, both sides multiples of PATCH (what qwen_vl_utils does)."""
    height, width = rgb.shape[:2]
    scale = min(1.0, math.sqrt(MAX_PIXELS / (height * width)))
    h = max(PATCH, int(height * scale / PATCH) * PATCH)
    w = max(PATCH, int(width * scale / PATCH) * PATCH)
    return cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA) if (h, w) != (height, width) else rgb


def load_captioner(settings: Settings | None = None) -> VideoCaptioner:
    """The configured captioner, loaded once per process; `ModelUnavailable` when none is."""
    settings = settings or get_settings()
    source = str(get_registry(settings).resolve("captioner"))
    if importlib.util.find_spec("torchvision") is None:
        raise ModelUnavailable(
            "captioner", "Qwen2.5-VL's video processor needs torchvision, which is not installed "
            "(install the torchvision build that matches torch, e.g. on a GPU host with the [gpu] extra)"
        )
    return _load(source)


@lru_cache(maxsize=1)
def _load(source: str) -> VideoCaptioner:
    return VideoCaptioner(source)
