"""Purely visual queries on a small real base: silent videos of photographs and an unrelated
licence text. The class-space signal finds the video, and the channel weighting keeps the
licence's weak keyword/dense hits from winning."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import numpy as np
import pytest

from core.settings import Settings, get_settings
from pipelines.ingest.jobs import ingest
from pipelines.retrieve.search import Retriever
from pipelines.store.indexes import open_indexes
from tests.ingest.synth import photo, write_video

pytestmark = pytest.mark.integration


def apache_licence() -> str:
    files = importlib.metadata.distribution("cryptography").files or []
    return Path(next(f for f in files if str(f).endswith("LICENSE.APACHE")).locate()).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("silent")
    for name in ("chelsea", "coffee", "motorcycle"):
        wide = photo(name, 480, 360)
        close_up = np.ascontiguousarray(photo(name, 640, 480)[60:420, 80:560])  # a cut to a 480x360 close-up
        write_video(root / f"{name}.mp4", [(wide, 3.0), (close_up, 3.0)])
    (root / "licence.txt").write_text(apache_licence(), encoding="utf-8")
    with pytest.MonkeyPatch.context() as env:  # the base's ARGUS_HOME for this module only
        env.setenv("ARGUS_HOME", str(tmp_path_factory.mktemp("home")))
        get_settings.cache_clear()
        report = ingest([root], progress=False)
        assert report.ok, report.to_dict()
        yield get_settings()
    get_settings.cache_clear()


def test_every_keyframe_has_a_class_space_vector(base: Settings) -> None:
    indexes = open_indexes(base)
    try:
        assert indexes.semantic is not None and len(indexes.semantic) == len(indexes.image) > 0
        assert indexes.semantic.dim == 768 + 1280  # EmbeddingGemma's ConSE half joined with the image half
        assert indexes.semantic.owners is not None and len(indexes.semantic.owners) == len(indexes.semantic)
    finally:
        indexes.close()


@pytest.mark.parametrize("query, expected", [
    ("a cat looking at the camera", "chelsea.mp4"),
    ("一只猫", "chelsea.mp4"),
    ("an espresso in a small cup", "coffee.mp4"),
    ("a red motorbike", "motorcycle.mp4"),
    ("a motorcycle shown in a file", "motorcycle.mp4"),  # "file" is the licence's word: its share stays low
])
def test_visual_query_finds_the_video_not_the_licence(base: Settings, query: str, expected: str) -> None:
    retriever = Retriever(base)
    try:
        results = retriever.search(query, 3, granularity="source")
    finally:
        retriever.close()
    assert results[0].citation.source == expected, [(r.citation.source, r.channels) for r in results]


def test_a_question_about_the_licence_still_finds_the_licence(base: Settings) -> None:
    retriever = Retriever(base)
    try:
        results = retriever.search("Which warranties does the licence disclaim?", 3, granularity="source")
    finally:
        retriever.close()
    assert results[0].citation.source == "licence.txt", [(r.citation.source, r.channels) for r in results]


def test_a_change_of_the_class_space_model_is_caught_up(base: Settings, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    """A base indexed in e5's class space without the image half, searched and extended under
    EmbeddingGemma's with it: searching warns and falls back to keyframe text; the next ingest
    rebuilds the class-space index whole."""
    import shutil

    from pipelines.ingest.maintenance import reindex

    home = tmp_path / "home"
    shutil.copytree(base.home, home)
    monkeypatch.setenv("ARGUS_HOME", str(home))
    monkeypatch.setenv("ARGUS_CLASS_SPACE_MODEL", "text_embedding")
    monkeypatch.setenv("ARGUS_CLASS_SPACE_IMAGE_WEIGHT", "0")
    get_settings.cache_clear()
    reindex()
    indexes = open_indexes(get_settings())
    assert indexes.semantic.dim == 384
    indexes.close()

    monkeypatch.setenv("ARGUS_CLASS_SPACE_MODEL", "embeddinggemma")
    monkeypatch.delenv("ARGUS_CLASS_SPACE_IMAGE_WEIGHT")
    get_settings.cache_clear()
    retriever = Retriever(get_settings())
    try:
        assert retriever.search("a red motorbike", 3, granularity="source")  # keyframe text still answers
    finally:
        retriever.close()
    assert "argus reindex" in caplog.text

    more = tmp_path / "more"
    more.mkdir()
    write_video(more / "cat_again.mp4", [(photo("chelsea", 480, 360), 3.0)])
    assert ingest([more], progress=False).ok
    indexes = open_indexes(get_settings())
    try:
        assert indexes.semantic.dim == 768 + 1280 and len(indexes.semantic) == len(indexes.image)
    finally:
        indexes.close()
    retriever = Retriever(get_settings())
    try:
        assert retriever.search("a red motorbike", 3, granularity="source")[0].citation.source == "motorcycle.mp4"
    finally:
        retriever.close()
