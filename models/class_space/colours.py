"""A keyframe's colours as words: the eleven basic colour terms (Berlin and Kay 1969) and
"black and white", each with the share of the frame it covers.

People describe what they saw by its colour ("a red motorcycle", "an orange flower", "a black and
white photo"), and neither the ImageNet tagger nor the COCO detector says anything about colour.
Pixels are named by a fixed rule on hue, saturation and value (no training); the class space
mixes the colour names' text vectors into the keyframe's vector like any other class
(`space.keyframe_vector`), so a query's colour words score frames of that colour.
"""

from __future__ import annotations

import numpy as np

# (English, Chinese): the class space embeds both.
COLOURS = {
    "black": "黑色", "white": "白色", "gray": "灰色", "red": "红色", "orange": "橙色", "yellow": "黄色",
    "green": "绿色", "blue": "蓝色", "purple": "紫色", "pink": "粉色", "brown": "棕色",
    "black and white": "黑白",
}
MONOCHROME = "black and white"
# Hue bands in degrees, upper bounds, for saturated pixels (brown and pink are split off below).
HUES = ((15, "red"), (40, "orange"), (70, "yellow"), (165, "green"), (255, "blue"), (290, "purple"), (345, "pink"),
        (360, "red"))
MIN_SHARE = 0.05  # colours covering less of the frame are noise
KEEP = 4  # at most this many colours per frame
GREY_SATURATION = 0.15
SIDE = 96  # the frame is named at about this size: colours do not need detail


def colour_shares(rgb: np.ndarray) -> list[list]:
    """[[colour, share of the frame], ...], largest first (shares of at least `MIN_SHARE`, at most
    `KEEP`), with "black and white" at share 1 for a frame with no colour at all."""
    small = _downsample(rgb).astype(np.float32) / 255.0
    hue, sat, val = _hsv(small.reshape(-1, 3))
    names = np.empty(hue.shape, dtype=object)
    names[:] = "gray"
    names[(sat < GREY_SATURATION) & (val > 0.8)] = "white"
    coloured = sat >= GREY_SATURATION
    for upper, name in reversed(HUES):
        names[coloured & (hue < upper)] = name
    names[coloured & (hue >= 15) & (hue < 45) & (val < 0.6)] = "brown"  # a dark orange is seen as brown
    names[coloured & ((hue < 15) | (hue >= 345)) & (sat < 0.5) & (val > 0.75)] = "pink"  # a pale red
    names[val < 0.2] = "black"
    labels, counts = np.unique(names, return_counts=True)
    shares = sorted(((str(n), c / names.size) for n, c in zip(labels, counts, strict=True)), key=lambda x: -x[1])
    out = [[name, round(float(share), 3)] for name, share in shares if share >= MIN_SHARE][:KEEP]
    if coloured.mean() < 0.02:
        out.insert(0, [MONOCHROME, 1.0])
    return out


def _downsample(rgb: np.ndarray) -> np.ndarray:
    step = max(1, max(rgb.shape[:2]) // SIDE)
    return rgb[::step, ::step, :3]


def _hsv(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hue in degrees [0, 360), saturation and value in [0, 1], of (n, 3) RGB in [0, 1]."""
    top, bottom = rgb.max(axis=1), rgb.min(axis=1)
    spread = top - bottom
    sat = np.where(top > 0, spread / np.maximum(top, 1e-6), 0.0)
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    safe = np.maximum(spread, 1e-6)
    hue = np.where(top == r, ((g - b) / safe) % 6, np.where(top == g, (b - r) / safe + 2, (r - g) / safe + 4)) * 60.0
    return np.where(spread > 0, hue, 0.0), sat, top
