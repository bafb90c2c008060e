"""Rendering the still frames of the demo videos: title slides, bullet slides and
captioned photographs, as RGB uint8 arrays.

Text is large (OCR on a 640x360 frame must read it) and every scene is a single still,
so the only big frame-to-frame changes in a video are its scene cuts.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pipelines.demo.assets import cjk_font, latin_font, load_photo

WIDTH, HEIGHT = 640, 360
_MARGIN = 36
_CAPTION_HEIGHT = 52


@dataclass(frozen=True)
class Theme:
    background: tuple[int, int, int]
    text: tuple[int, int, int]
    accent: tuple[int, int, int]


DARK = Theme(background=(22, 30, 62), text=(255, 255, 255), accent=(250, 200, 60))
LIGHT = Theme(background=(246, 241, 226), text=(25, 25, 25), accent=(190, 60, 20))
THEMES = (DARK, LIGHT)

# A CJK ideograph or CJK punctuation is its own wrapping unit; Latin wraps at spaces.
_TOKENS = re.compile(
    r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]|[^\s\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+|\s+"
)


@functools.cache
def _font(lang: str, size: int) -> ImageFont.FreeTypeFont:
    path: Path = cjk_font() if lang == "zh" else latin_font()
    return ImageFont.truetype(str(path), size=size, index=0)


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for token in _TOKENS.findall(text):
        candidate = current + token
        if current and font.getlength(candidate.rstrip()) > width:
            lines.append(current.rstrip())
            current = token.lstrip()
        else:
            current = candidate
    if current.strip():
        lines.append(current.rstrip())
    return lines


def _draw_centered(
    draw: ImageDraw.ImageDraw,
    lines: list[str],
    font: ImageFont.FreeTypeFont,
    top: float,
    fill: tuple[int, int, int],
    spacing: float = 1.25,
) -> float:
    size = font.size
    for line in lines:
        draw.text((WIDTH / 2, top), line, font=font, fill=fill, anchor="ma")
        top += size * spacing
    return top


def title_slide(title: str, subtitle: tuple[str, ...], lang: str, theme: Theme) -> np.ndarray:
    image = Image.new("RGB", (WIDTH, HEIGHT), theme.background)
    draw = ImageDraw.Draw(image)
    big, small = _font(lang, 44), _font(lang, 26)
    title_lines = _wrap(title, big, WIDTH - 2 * _MARGIN)
    sub_lines = [w for s in subtitle for w in _wrap(s, small, WIDTH - 2 * _MARGIN)]
    block = len(title_lines) * 44 * 1.25 + 24 + len(sub_lines) * 26 * 1.25
    top = (HEIGHT - block) / 2
    top = _draw_centered(draw, title_lines, big, top, theme.text)
    draw.line((WIDTH / 2 - 90, top + 6, WIDTH / 2 + 90, top + 6), fill=theme.accent, width=4)
    _draw_centered(draw, sub_lines, small, top + 24, theme.accent)
    return np.asarray(image)


def bullet_slide(heading: str, bullets: tuple[str, ...], lang: str, theme: Theme) -> np.ndarray:
    image = Image.new("RGB", (WIDTH, HEIGHT), theme.background)
    draw = ImageDraw.Draw(image)
    head = _font(lang, 34)
    top = 26.0
    for line in _wrap(heading, head, WIDTH - 2 * _MARGIN):
        draw.text((_MARGIN, top), line, font=head, fill=theme.text)
        top += 34 * 1.2
    draw.line((_MARGIN, top + 4, WIDTH - _MARGIN, top + 4), fill=theme.accent, width=4)
    top += 22
    # Long lists (the checklist) get a smaller size so they still fit the frame.
    size = 26 if len(bullets) <= 4 else 23
    body = _font(lang, size)
    for bullet in bullets:
        lines = _wrap(bullet, body, WIDTH - 2 * _MARGIN - 30)
        draw.ellipse(
            (_MARGIN + 2, top + size * 0.35, _MARGIN + 12, top + size * 0.35 + 10), fill=theme.accent
        )
        for line in lines:
            draw.text((_MARGIN + 30, top), line, font=body, fill=theme.text)
            top += size * 1.3
        top += size * 0.25
    if top > HEIGHT:
        raise ValueError(f"slide {heading!r} does not fit the frame")
    return np.asarray(image)


def photo_frame(photo: str, caption: str, lang: str) -> np.ndarray:
    """The photograph, whole and as large as fits, above a caption bar."""
    image = Image.new("RGB", (WIDTH, HEIGHT), (0, 0, 0))
    picture = load_photo(photo)
    box_w, box_h = WIDTH, HEIGHT - _CAPTION_HEIGHT
    scale = min(box_w / picture.width, box_h / picture.height)
    size = (round(picture.width * scale), round(picture.height * scale))
    picture = picture.resize(size, Image.Resampling.LANCZOS)
    image.paste(picture, ((box_w - size[0]) // 2, (box_h - size[1]) // 2))
    draw = ImageDraw.Draw(image)
    font = _font(lang, 28)
    lines = _wrap(caption, font, WIDTH - 2 * _MARGIN)[:1]
    draw.text(
        (WIDTH / 2, HEIGHT - _CAPTION_HEIGHT / 2), lines[0], font=font, fill=(255, 255, 255), anchor="mm"
    )
    return np.asarray(image)


def frame_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute grayscale difference, the measure cut detectors use."""
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return float(np.abs(a.astype(np.float32) @ weights - b.astype(np.float32) @ weights).mean())
