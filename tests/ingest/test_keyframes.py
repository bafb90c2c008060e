"""Keyframe selection on generated videos with hard cuts at known times."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from synth import photo, write_video
from tiny_models import build_tiny_clip

from core.settings import Settings
from pipelines.ingest.keyframes import KeyframeImage, select_keyframes
from pipelines.ingest.media import BadMediaError
from pipelines.ingest.visual import image_embedding

pytestmark = pytest.mark.integration

# Hard cuts between distinct photographs, at uneven times.
SHOTS = [("astronaut", 3.0), ("chelsea", 4.4), ("coffee", 3.2), ("rocket", 5.0), ("motorcycle", 4.6)]
CUTS = list(np.cumsum([s for _, s in SHOTS])[:-1])  # 3.0, 7.4, 10.6, 15.6


@pytest.fixture(scope="module")
def cuts_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    shots = [(photo(name), seconds) for name, seconds in SHOTS]
    return write_video(tmp_path_factory.mktemp("cuts") / "cuts.mp4", shots, fps=10)


@pytest.fixture(scope="module")
def cuts_keyframes(cuts_video: Path, tmp_path_factory: pytest.TempPathFactory) -> list[KeyframeImage]:
    return select_keyframes(cuts_video, tmp_path_factory.mktemp("cuts_kf"), top_k=5, min_interval_s=10)


def test_keyframes_land_within_a_second_of_each_cut(cuts_keyframes: list[KeyframeImage]) -> None:
    times = [k.t for k in cuts_keyframes]
    assert times[0] == 0.0
    for cut in CUTS:
        assert any(0 <= t - cut < 1.0 for t in times), (cut, times)
    assert len(times) == len(SHOTS)  # one per shot: no duplicates of a held photograph


def test_keyframes_are_jpegs_with_unit_embeddings(cuts_keyframes: list[KeyframeImage]) -> None:
    for frame in cuts_keyframes:
        assert frame.jpeg_path.name == f"kf_{round(frame.t * 1000):09d}.jpg"
        with Image.open(frame.jpeg_path) as img:
            assert img.format == "JPEG" and img.size == (320, 240)
        assert frame.embedding.shape == (1280,) and frame.embedding.dtype == np.float32
        assert float(np.linalg.norm(frame.embedding)) == pytest.approx(1.0, abs=1e-5)
        assert frame.clip_embedding is None  # no CLIP weights configured
    assert not list(cuts_keyframes[0].jpeg_path.parent.glob(".*tmp*"))
    # Each keyframe shows its shot's photograph.
    for (name, _), frame in zip(SHOTS, cuts_keyframes, strict=True):
        assert float(frame.embedding @ image_embedding(photo(name))) > 0.8, name  # unrelated: < 0.5


def test_a_static_minute_gets_one_keyframe(tmp_path: Path) -> None:
    path = write_video(tmp_path / "static.mp4", [(photo("coffee", 160, 120), 60.0)], fps=2)
    frames = select_keyframes(path, tmp_path / "kf", top_k=5, min_interval_s=10)
    assert [f.t for f in frames] == [0.0]


def test_a_long_shot_after_many_cuts_is_still_represented(tmp_path: Path) -> None:
    # Five quick cuts use up top_k=2; the 60 s shot that follows is found by the
    # every-10-seconds rule.
    quick = [(photo(name, 160, 120), 2.0) for name in ("astronaut", "chelsea", "coffee", "rocket", "hubble")]
    path = write_video(tmp_path / "long.mp4", [*quick, (photo("motorcycle", 160, 120), 60.0)], fps=2)
    frames = select_keyframes(path, tmp_path / "kf", top_k=2, min_interval_s=10)
    bike = image_embedding(photo("motorcycle", 160, 120))
    late = [f for f in frames if f.t >= 10.0]
    assert late and max(float(f.embedding @ bike) for f in late) > 0.9
    assert len(late) == 1  # its coverage frames are near-duplicates of each other


def test_gif_is_video(tmp_path: Path) -> None:
    path = write_video(tmp_path / "anim.gif", [(photo("chelsea", 120, 90), 1.0), (photo("coffee", 120, 90), 1.0)],
                       fps=5)
    frames = select_keyframes(path, tmp_path / "kf")
    assert [round(f.t) for f in frames] == [0, 1]


def test_audio_only_file_has_no_keyframes(shared_data: Path, tmp_path: Path) -> None:
    with pytest.raises(BadMediaError, match="no video stream"):
        select_keyframes(shared_data / "audio" / "jfk.flac", tmp_path)


def test_keyframes_get_clip_vectors_when_clip_is_configured(tmp_path: Path) -> None:
    tiny_clip = build_tiny_clip(tmp_path / "clip")
    video = write_video(tmp_path / "v.mp4", [(photo("chelsea", 96, 64), 1.0), (photo("coffee", 96, 64), 1.0)])
    frames = select_keyframes(video, tmp_path / "kf", settings=Settings(home=tmp_path, clip_model=str(tiny_clip)))
    assert len(frames) == 2
    assert all(f.clip_embedding is not None and f.clip_embedding.shape == (16,) for f in frames)
