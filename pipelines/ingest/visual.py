"""What a keyframe shows, as searchable text and a vector: COCO objects, ImageNet tags,
OCR text, and the EfficientNet image embedding (used for near-duplicate keyframes and
image similarity; CLIP, when configured, is a separate channel)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from app.settings import get_settings
from app.types import DetectedObject, Tag
from models.ocr import load_reader
from models.vision import load_detector, load_tagger

ImageInput = np.ndarray | str | Path


def describe_keyframe(image: ImageInput) -> tuple[list[DetectedObject], list[Tag], str]:
    """(objects, tags, OCR text) for an RGB array or an image file."""
    rgb = load_rgb(image)
    settings = get_settings()
    objects = load_detector().detect(rgb, min_score=settings.detector_min_score)
    tagger = load_tagger()
    probs, _ = tagger.run(rgb)
    tags = tagger.tags(probs, min_score=settings.tag_min_score)
    text = load_reader().read(rgb)
    return objects, tags, text


def image_embedding(image: ImageInput) -> np.ndarray:
    """The 1280-d L2-normalised EfficientNet-Lite3 embedding, float32."""
    _, vector = load_tagger().run(load_rgb(image))
    return vector


def load_rgb(image: ImageInput) -> np.ndarray:
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}")
        return image
    with Image.open(image) as img:
        return np.asarray(img.convert("RGB"))
