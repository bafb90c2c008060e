"""The demo videos as data: scenes, on-screen text, photographs and narration.

Every video has its own topic so that each query in `queries.py` has exactly one right
source. Numbers in English narration are written as words where espeak-ng would read
the digits differently from how a person says them (years, model numbers).

The types are in `script_types.py`; the scripts, by topic, in `scripts_practical.py` and
`scripts_history.py`. This module lists them in the corpus's order and re-exports them.
"""

from __future__ import annotations

from pipelines.demo.script_types import Line, Scene, VideoScript
from pipelines.demo.scripts_history import HOPPER, JFK, SPACE, TEA
from pipelines.demo.scripts_practical import CATS, COFFEE, MOTORCYCLE

__all__ = ["CATS", "COFFEE", "HOPPER", "JFK", "MOTORCYCLE", "SPACE", "TEA", "VIDEOS", "Line", "Scene", "VideoScript"]

VIDEOS: tuple[VideoScript, ...] = (COFFEE, CATS, SPACE, MOTORCYCLE, TEA, HOPPER, JFK)
