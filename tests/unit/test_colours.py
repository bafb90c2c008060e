"""Colour terms of a frame: the rule names plain colours, shares add up, and a grey frame is black and white."""

from __future__ import annotations

import numpy as np
import pytest

from models.class_space.colours import COLOURS, MONOCHROME, colour_shares

pytestmark = pytest.mark.unit


def _solid(rgb: tuple[int, int, int], size: tuple[int, int] = (120, 160)) -> np.ndarray:
    return np.full((*size, 3), rgb, dtype=np.uint8)


@pytest.mark.parametrize(("rgb", "name"), [
    ((220, 20, 30), "red"), ((250, 140, 20), "orange"), ((240, 220, 30), "yellow"), ((40, 170, 60), "green"),
    ((30, 60, 200), "blue"), ((120, 40, 170), "purple"), ((240, 150, 170), "pink"), ((120, 75, 30), "brown"),
    ((10, 10, 10), "black"), ((245, 245, 245), "white"), ((128, 128, 128), "gray"),
])
def test_a_plain_colour_is_named(rgb: tuple[int, int, int], name: str) -> None:
    shares = colour_shares(_solid(rgb))
    assert [n for n, _ in shares if n != MONOCHROME] == [name]


def test_shares_follow_the_area_largest_first() -> None:
    frame = _solid((30, 60, 200))
    frame[:, :40] = (220, 20, 30)  # a quarter red
    shares = dict(colour_shares(frame))
    assert list(shares) == ["blue", "red"]
    assert shares["blue"] == pytest.approx(0.75, abs=0.03) and shares["red"] == pytest.approx(0.25, abs=0.03)


def test_a_grey_photograph_is_black_and_white() -> None:
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, size=(90, 120), dtype=np.uint8)
    shares = colour_shares(np.stack([grey] * 3, axis=-1))
    assert shares[0] == [MONOCHROME, 1.0]
    assert {n for n, _ in shares[1:]} <= {"black", "white", "gray"}
    assert all(n in COLOURS for n, _ in shares)
    assert MONOCHROME not in dict(colour_shares(_solid((220, 20, 30))))
