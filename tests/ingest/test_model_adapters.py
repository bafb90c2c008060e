"""Model adapters for roles without shipped weights: absent unless configured, with one
clear error, and (on tiny random-weight models built here) plumbing that works."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tiny_models import build_tiny_clip, build_tiny_sentence_transformer

from core.settings import Settings
from models.registry import ModelUnavailable

pytestmark = pytest.mark.unit


def test_clip_and_captioner_are_absent_unless_configured(tmp_path: Path) -> None:
    from models.captioner import load_captioner
    from models.clip import load_clip

    settings = Settings(home=tmp_path)
    with pytest.raises(ModelUnavailable, match="clip: not configured; set ARGUS_CLIP_MODEL"):
        load_clip(settings)
    with pytest.raises(ModelUnavailable, match="captioner: not configured; set ARGUS_CAPTIONER_MODEL"):
        load_captioner(settings)


def test_captioner_needs_torchvision_for_video(tmp_path: Path) -> None:
    import importlib.util

    from models.captioner import load_captioner

    if importlib.util.find_spec("torchvision") is not None:
        pytest.skip("torchvision is installed here")
    (tmp_path / "vlm").mkdir()
    with pytest.raises(ModelUnavailable, match="needs torchvision"):
        load_captioner(Settings(home=tmp_path, captioner_model=str(tmp_path / "vlm")))


def test_openai_whisper_backend_without_its_package_is_a_clear_error(tmp_path: Path) -> None:
    import importlib.util

    from models.asr import load_recognizer

    if importlib.util.find_spec("whisper") is not None:
        pytest.skip("openai-whisper is installed here")
    settings = Settings(home=tmp_path, openai_whisper_model=str(tmp_path / "base.pt"))
    with pytest.raises(ModelUnavailable, match="openai-whisper package is not installed"):
        load_recognizer(settings)


def test_fit_frame_keeps_the_seeds_pixel_budget() -> None:
    from models.captioner import MAX_PIXELS, fit_frame

    frame = fit_frame(np.zeros((720, 1280, 3), np.uint8))
    h, w = frame.shape[:2]
    assert h * w <= MAX_PIXELS and h % 28 == 0 and w % 28 == 0
    assert abs(w / h - 1280 / 720) < 0.1


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_clip(tmp_path_factory.mktemp("tiny") / "clip")


@pytest.fixture(scope="module")
def tiny_sentence_transformer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_sentence_transformer(tmp_path_factory.mktemp("tiny") / "st")


def test_configured_clip_embeds_images_and_texts_in_one_space(tiny_clip: Path, tmp_path: Path) -> None:
    from models.clip import load_clip

    clip = load_clip(Settings(home=tmp_path, clip_model=str(tiny_clip)))
    images = clip.embed_images([np.zeros((40, 50, 3), np.uint8), np.full((64, 64, 3), 200, np.uint8)])
    texts = clip.embed_texts(["a cat", "a cup of coffee", "a rocket"])
    assert images.shape == (2, 16) and texts.shape == (3, 16) and images.dtype == np.float32
    assert np.allclose(np.linalg.norm(images, axis=1), 1, atol=1e-5)
    assert np.allclose(np.linalg.norm(texts, axis=1), 1, atol=1e-5)
    assert not np.allclose(texts[0], texts[1])


def test_configured_sentence_transformer_folder_is_used(
    tiny_sentence_transformer: Path, argus_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.settings import get_settings
    from models.text_embedding import (
        SentenceTransformerEmbedder,
        embed_passages,
        embed_query,
        load_text_embedder,
    )

    monkeypatch.setenv("ARGUS_EMBEDDING_MODEL", str(tiny_sentence_transformer))
    get_settings.cache_clear()
    embedder = load_text_embedder()
    assert isinstance(embedder, SentenceTransformerEmbedder) and embedder.dim == 24
    q = embed_query("a cat")
    p = embed_passages(["a cat", "coffee", "rocket"] * 15)  # more than one batch
    assert q.shape == (24,) and p.shape == (45, 24) and p.dtype == np.float32
    assert np.allclose(np.linalg.norm(p, axis=1), 1, atol=1e-5)
    assert np.allclose(p[0], p[3], atol=1e-5)  # batching does not change a vector
    assert not np.array_equal(q, p[0])  # "query: " and "passage: " prompts differ
    assert embed_passages([]).shape == (0, 24)
