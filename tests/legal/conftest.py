"""Fixtures of the legal-tool tests: the CAIL2018 sample, a tiny random-weight Qwen2 and a classifier on it.

`tiny_qwen2` is a 2-layer, 64-wide Qwen2 with random weights and the shipped Qwen2.5 tokenizer. It is clearly
not a language model: it exists so that saving, loading, padding and training can be tested in seconds.
Tests on the real base model are marked `integration`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from absent import absent
from llm_engine_fixture import llm_engine  # noqa: F401  (the real vLLM engine, for the pipeline test)

from core.settings import Settings


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: on a shared 2-core machine OpenMP spin-waiting makes small ops far slower with two."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def cail(shared_data: Path) -> Path:
    folder = shared_data / "cail2018"
    if not (folder / "train.jsonl").is_file():
        absent(f"CAIL2018 sample not found in {folder}")
    return folder


@pytest.fixture(scope="session")
def real_base() -> str:
    """The shipped Qwen2.5 0.5B conversion, when prepared; skip otherwise."""
    from models.registry import get_registry

    status = get_registry(Settings(models_dir=Path(os.environ["ARGUS_MODELS_DIR"]))).status("legal_base")
    if status.state != "real" or not status.path or not (Path(status.path) / "config.json").is_file():
        absent("the legal base model is not prepared: run `argus models prepare legal_base`")
    return status.path


@pytest.fixture(scope="session")
def tiny_qwen2(tmp_path_factory: pytest.TempPathFactory, real_base: str) -> str:
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    folder = tmp_path_factory.mktemp("tiny_qwen2")
    tokenizer = AutoTokenizer.from_pretrained(real_base)
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=False)
    torch.manual_seed(0)
    Qwen2ForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session")
def small_train(cail: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 60-case training file (round-robin over charges) with accu.txt beside it."""
    import json
    import shutil

    from models.legal.data import load_cases, round_robin

    folder = tmp_path_factory.mktemp("cail_small")
    shutil.copy(cail / "accu.txt", folder / "accu.txt")
    picked = {c.id for c in round_robin(load_cases(cail / "train.jsonl").cases, seed=0)[:60]}
    lines = (cail / "train.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [line for n, line in enumerate(lines, start=1) if f"train:{n}" in picked]
    (folder / "train.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    valid = [json.loads(line) for line in (cail / "valid.jsonl").read_text(encoding="utf-8").splitlines()[:12]]
    (folder / "valid.jsonl").write_text("\n".join(json.dumps(v, ensure_ascii=False) for v in valid) + "\n",
                                        encoding="utf-8")
    return folder / "train.jsonl"


@pytest.fixture(scope="session")
def legal_settings(tmp_path_factory: pytest.TempPathFactory, tiny_qwen2: str, small_train: Path) -> Settings:
    """An ARGUS_HOME with a classifier on the tiny Qwen2 (a few steps), the TF-IDF baseline the pipeline blends
    with, the term estimate and a 16-case precedent base.

    The tiny classifier is not trained to be right; the tests that use it check behaviour, not accuracy."""
    from models.legal import baseline_dir, classifier_dir, precedents_dir
    from models.legal.baseline import TfidfBaseline
    from models.legal.data import load_cases
    from models.legal.labels import LabelSet, find_accu
    from models.legal.precedents import PrecedentBase
    from models.legal.term_estimate import TermEstimator
    from models.legal.train import TrainConfig, train

    settings = Settings(home=tmp_path_factory.mktemp("legal_home"), legal_data=small_train,
                        legal_attn_implementation="argus_attention", threads=1)
    train(TrainConfig(train_file=small_train, out_dir=classifier_dir(settings), base_model=tiny_qwen2,
                      attn_implementation="argus_attention", max_tokens=48, batch_size=4, limit=16),
          log=lambda _: None)
    cases = load_cases(small_train).cases
    TfidfBaseline(LabelSet.build(find_accu(small_train), cases)[0]).fit(cases).save(baseline_dir(settings))
    TermEstimator().fit(cases).save(baseline_dir(settings))
    PrecedentBase.build(cases[:16], precedents_dir(settings), settings)
    return settings
