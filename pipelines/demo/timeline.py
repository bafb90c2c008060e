"""Placing narration in time: scene boundaries on the frame grid and sentence spans.

Pure arithmetic, kept apart from rendering and encoding so it can be tested on its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pipelines.demo.speech import SAMPLE_RATE

LEAD_IN = 0.8  # seconds of quiet after a cut before the narration starts
GAP = 0.5  # between sentences
TAIL = 0.8  # after the last sentence, before the next cut


@dataclass(frozen=True)
class ScenePlan:
    start_frame: int
    frames: int
    sentence_starts: list[int]  # sample offsets in the whole track
    sentence_lengths: list[int]  # in samples

    def t0(self, fps: int) -> float:
        return self.start_frame / fps

    def t1(self, fps: int) -> float:
        return (self.start_frame + self.frames) / fps


def plan_scenes(clips: list[list[np.ndarray]], min_durations: list[float], fps: int) -> list[ScenePlan]:
    """Lay the scenes end to end. Each scene lasts as long as its narration plus pauses
    (or its minimum), rounded up to whole frames so a cut falls exactly on a frame."""
    plans: list[ScenePlan] = []
    start_frame = 0
    for scene_clips, min_duration in zip(clips, min_durations, strict=True):
        speech = sum(len(c) for c in scene_clips) / SAMPLE_RATE
        needed = LEAD_IN + speech + GAP * max(len(scene_clips) - 1, 0) + TAIL
        frames = math.ceil(round(max(needed, min_duration) * fps, 6))
        offset = round(start_frame / fps * SAMPLE_RATE) + round(LEAD_IN * SAMPLE_RATE)
        starts, lengths = [], []
        for clip in scene_clips:
            starts.append(offset)
            lengths.append(len(clip))
            offset += len(clip) + round(GAP * SAMPLE_RATE)
        plans.append(ScenePlan(start_frame, frames, starts, lengths))
        start_frame += frames
    return plans


def mix_track(plans: list[ScenePlan], clips: list[list[np.ndarray]], fps: int) -> np.ndarray:
    """The whole audio track: silence with every clip at its planned offset."""
    total_frames = plans[-1].start_frame + plans[-1].frames if plans else 0
    track = np.zeros(round(total_frames / fps * SAMPLE_RATE), dtype=np.float32)
    for plan, scene_clips in zip(plans, clips, strict=True):
        for start, clip in zip(plan.sentence_starts, scene_clips, strict=True):
            track[start : start + len(clip)] = clip
    return track
