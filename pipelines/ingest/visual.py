"""What a keyframe shows, as searchable text and a vector: COCO objects, ImageNet tags,
OCR text, and the EfficientNet image embedding (used for near-duplicate keyframes and
image similarity; CLIP, when configured, is a separate channel).

Besides the thresholded objects and tags (the keyframe's text), a keyframe keeps its full
class evidence, which the class-space vector is mixed from (`models.class_space`):

    {"v": 1,
     "views":   [{"kind": "frame" | "grid" | "centre" | "box", "w": weight, "top": [[class index, p], ...]}],
     "objects": [[COCO label, score, box area], ...],    # down to `visual_evidence_min_score`
     "colours": [[colour term, share of the frame], ...]}  # `models.class_space.colours`

The views are the whole frame (weight 1), with `visual_crops` also its four quarters and its
centre (weight 0.5 each) and each detected box of 3-70 % of the frame, up to three (weight
0.5 x detection score): one frame of a street or a room holds several things, and the
whole-frame tagger names only the most salient one.

With `visual_detect_tiles` the detector also sees the frame's four quarters: it looks at
300x300 pixels, so a car or a person under about a fifth of the frame's height is lost on
the whole frame and found on a quarter. Only small, sure detections are taken from a quarter
(at most `TILE_MAX_AREA` of the frame, at least `detector_min_score`): on a close-up a quarter
is a fragment of something large, which the detector took for a toilet or a frisbee. A
quarter's detection of something the whole frame (or another quarter) already found is
merged into it. Measured level with the whole frame alone on the development queries of
the real-footage set (mostly close-ups, where a quarter adds little), it is on for the wide
footage the issue describes (vehicles in a street missed on a clip's first keyframe).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from core.settings import get_settings
from core.types import DetectedObject, Tag
from models.class_space.colours import colour_shares
from models.ocr import load_reader
from models.vision import load_detector, load_tagger

ImageInput = np.ndarray | str | Path


EVIDENCE_TOP = 10  # classes kept per view
CROP_WEIGHT = 0.5
MAX_BOXES = 3
BOX_AREA = (0.03, 0.7)  # boxes smaller are too coarse to tag, larger are nearly the whole frame
SAME_OBJECT = 0.6  # one label's boxes overlapping this much of the smaller one are one object
TILE_MAX_AREA = 0.05  # a quarter's detection larger than this share of the frame is a fragment of a close-up


def describe_keyframe(image: ImageInput) -> tuple[list[DetectedObject], list[Tag], str]:
    """(objects, tags, OCR text) for an RGB array or an image file."""
    objects, tags, text, _ = describe_keyframe_with_evidence(image)
    return objects, tags, text


def describe_keyframe_with_evidence(image: ImageInput) -> tuple[list[DetectedObject], list[Tag], str, dict]:
    """(objects, tags, OCR text, class evidence) for an RGB array or an image file."""
    rgb = load_rgb(image)
    settings = get_settings()
    floor = min(settings.visual_evidence_min_score, settings.detector_min_score)
    detections = _detect(rgb, floor, tiles=settings.visual_detect_tiles, tile_min_score=settings.detector_min_score)
    objects = [o for o in detections if o.score >= settings.detector_min_score]
    tagger = load_tagger()
    probs, _ = tagger.run(rgb)
    tags = tagger.tags(probs, min_score=settings.tag_min_score)
    text = load_reader().read(rgb)
    views = [_view("frame", 1.0, probs)]
    if settings.visual_crops:
        views += [_view(kind, weight, tagger.run(crop)[0]) for kind, weight, crop in _crops(rgb, detections)]
    evidence = {"v": 1, "views": views,
                "objects": [[o.label, o.score, round(_area(o.box), 4)] for o in detections],
                "colours": colour_shares(rgb)}
    return objects, tags, text, evidence


def _detect(rgb: np.ndarray, min_score: float, *, tiles: bool, tile_min_score: float = 0.5) -> list[DetectedObject]:
    """COCO objects on the whole frame and, with `tiles`, on its four quarters, best first."""
    detector = load_detector()
    found = detector.detect(rgb, min_score=min_score)
    if not tiles:
        return found
    h, w = rgb.shape[:2]
    for x, y, tile in _quarters(rgb):  # (overlapping tiles of 0.55-0.6 lost a small object again)
        th, tw = tile.shape[:2]
        for o in detector.detect(tile, min_score=tile_min_score):
            x0, y0, x1, y1 = o.box
            box = ((x + x0 * tw) / w, (y + y0 * th) / h, (x + x1 * tw) / w, (y + y1 * th) / h)
            if _area(box) > TILE_MAX_AREA:
                continue
            _merge(found, DetectedObject(label=o.label, score=o.score, box=box))
    return sorted(found, key=lambda o: -o.score)


def _merge(found: list[DetectedObject], new: DetectedObject) -> None:
    """Add `new`, or raise the score of the same object already found (the larger box kept)."""
    for i, old in enumerate(found):
        if old.label == new.label and _overlap(old.box, new.box) >= SAME_OBJECT:
            box = old.box if _area(old.box) >= _area(new.box) else new.box
            found[i] = DetectedObject(label=old.label, score=max(old.score, new.score), box=box)
            return
    found.append(new)


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """The intersection's share of the smaller box (a tile may see only part of an object)."""
    inter = _area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))
    return inter / max(min(_area(a), _area(b)), 1e-9)


def _view(kind: str, weight: float, probs: np.ndarray) -> dict:
    order = np.argsort(-probs)[:EVIDENCE_TOP]
    return {"kind": kind, "w": round(weight, 3), "top": [[int(i), round(float(probs[i]), 4)] for i in order]}


def _crops(rgb: np.ndarray, detections: list[DetectedObject]) -> list[tuple[str, float, np.ndarray]]:
    h, w = rgb.shape[:2]
    out = [("grid", CROP_WEIGHT, quarter) for _, _, quarter in _quarters(rgb)]
    out.append(("centre", CROP_WEIGHT, np.ascontiguousarray(rgb[h // 5 : h - h // 5, w // 5 : w - w // 5])))
    boxes = [o for o in detections if BOX_AREA[0] <= _area(o.box) <= BOX_AREA[1]][:MAX_BOXES]
    for o in boxes:
        x0, y0, x1, y1 = o.box
        crop = rgb[int(y0 * h) : max(int(y1 * h), int(y0 * h) + 2), int(x0 * w) : max(int(x1 * w), int(x0 * w) + 2)]
        out.append(("box", CROP_WEIGHT * o.score, np.ascontiguousarray(crop)))
    return out


def _quarters(rgb: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """(x, y, pixels) of the frame's four quarters: the tagger's grid and the detector's tiles."""
    h, w = rgb.shape[:2]
    return [(x, y, np.ascontiguousarray(rgb[y : y + h // 2, x : x + w // 2])) for y in (0, h // 2) for x in (0, w // 2)]


def _area(box: tuple[float, float, float, float]) -> float:
    x0, y0, x1, y1 = box
    return max(0.0, x1 - x0) * max(0.0, y1 - y0)


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
