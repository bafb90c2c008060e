"""Hybrid search on a small real base: a narrated video with photos and two documents."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.settings import Settings, get_settings
from core.types import SourceType
from pipelines.ingest.jobs import ingest
from pipelines.retrieve.search import Retriever, SearchFilters
from tests.ingest.media_files import speech
from tests.ingest.synth import photo, write_video

pytestmark = pytest.mark.integration

ESPRESSO = """# Espresso guide

## Brewing
An espresso shot should take between 25 and 30 seconds and uses about 9 bar of pressure.

## Cleaning
Backflush the group head with a blind basket every week.
"""
TEA = "乌龙茶起源于福建省安溪县，是一种半发酵茶。铁观音是最有名的乌龙茶之一。\n"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Settings:
    root = tmp_path_factory.mktemp("corpus")
    (root / "espresso.md").write_text(ESPRESSO, encoding="utf-8")
    (root / "oolong_zh.txt").write_text(TEA, encoding="utf-8")
    # 11 s of JFK's speech over three shots: a cat, a coffee cup, an astronaut.
    write_video(root / "talk.mp4", [(photo("chelsea"), 4.0), (photo("coffee"), 4.0), (photo("astronaut"), 3.0)],
                audio=speech(shared_data))
    with pytest.MonkeyPatch.context() as env:  # the base's ARGUS_HOME for this module only
        env.setenv("ARGUS_HOME", str(tmp_path_factory.mktemp("home")))
        get_settings.cache_clear()
        report = ingest([root], recursive=True, progress=False)
        assert report.ok, report.to_dict()
        yield get_settings()
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def retriever(base: Settings) -> Retriever:
    r = Retriever(base)
    yield r
    r.close()


def test_spoken_words_find_the_video_moment(retriever: Retriever) -> None:
    top = retriever.search("ask not what your country can do for you", k=3)[0]
    assert top.citation.source == "talk.mp4" and top.citation.type == SourceType.video
    assert top.citation.t0 is not None and top.citation.t0 < 11 and top.citation.t1 >= top.citation.t0
    assert top.citation.keyframe_id is not None  # a video moment comes with its keyframe
    assert {"keyword", "dense"} <= set(top.channels)
    assert 0 < top.score


def test_document_chunk_cites_its_heading(retriever: Retriever) -> None:
    top = retriever.search("How long should an espresso shot take?", k=3)[0]
    assert top.citation.source == "espresso.md"
    assert "25 and 30 seconds" in top.text
    assert top.citation.heading and "Brewing" in top.citation.heading


def test_chinese_query_finds_chinese_document(retriever: Retriever) -> None:
    top = retriever.search("乌龙茶起源于哪里？", k=3)[0]
    assert top.citation.source == "oolong_zh.txt"


def test_visual_channel_finds_the_cat_shot(retriever: Retriever) -> None:
    hits = retriever.search("cat", k=5)
    cat = next(h for h in hits if "visual" in h.channels)
    assert cat.citation.source == "talk.mp4" and cat.citation.t0 < 4.5


def test_query_image_finds_its_keyframe(retriever: Retriever) -> None:
    hits = Retriever(retriever.settings, channels=("image",)).search("", k=3, image=photo("coffee"))
    assert hits and hits[0].citation.source == "talk.mp4"
    assert 3.5 <= hits[0].citation.t0 <= 8.5 and hits[0].channels["image"] > 0.8


def test_filters(retriever: Retriever) -> None:
    docs = retriever.search("espresso coffee cup", k=10, filters=SearchFilters(types=[SourceType.document]))
    assert docs and all(h.citation.type == SourceType.document for h in docs)
    zh = retriever.search("茶", k=10, filters=SearchFilters(language="zh"))
    assert zh and all(h.citation.source == "oolong_zh.txt" for h in zh)
    unfiltered = retriever.search("country", k=10)
    assert any(h.citation.t1 is None for h in unfiltered)  # documents: no time, so a time filter drops them
    late = retriever.search("country", k=10, filters=SearchFilters(t0=8.0))
    assert late and all(h.citation.t1 is not None and h.citation.t1 >= 8.0 for h in late)


def test_source_granularity_lists_each_source_once(retriever: Retriever) -> None:
    hits = retriever.search("coffee espresso", k=10, granularity="source")
    names = [h.citation.source for h in hits]
    assert len(names) == len(set(names)) and "espresso.md" in names


def test_search_json_contract(base: Settings) -> None:
    env = {**os.environ, "ARGUS_HOME": str(base.home)}
    out = subprocess.run([sys.executable, "-m", "app.cli", "search", "espresso shot seconds", "--json", "-k", "3"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    hits = json.loads(out.stdout)
    assert hits[0]["source"] == "espresso.md"
    assert {"source", "source_id", "score", "channels", "text"} <= set(hits[0])
    assert ("page" in hits[0]) or ("t0" in hits[0] and "t1" in hits[0])
    bad = subprocess.run([sys.executable, "-m", "app.cli", "search", "   "], capture_output=True, text=True, env=env,
                         timeout=300)
    assert bad.returncode == 2 and "empty" in bad.stdout


def test_results_are_stable(retriever: Retriever) -> None:
    a = retriever.search("coffee cup", k=5)
    b = retriever.search("coffee cup", k=5)
    assert [h.model_dump() for h in a] == [h.model_dump() for h in b]
    assert np.all(np.diff([h.score for h in a]) <= 1e-9)
