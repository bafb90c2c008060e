"""The classifier: what is saved is what loads, padding does not change logits, training lowers the loss and
a resumed run continues exactly. On the tiny random Qwen2 (seconds), and once on the real base model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from models.legal.classifier import ADAPTER_FILE, LegalClassifier, compact_fact
from models.legal.labels import LabelSet
from models.legal.train import TrainConfig, train

ATTENTION = "argus_attention"
FACTS = [
    "公诉机关指控，2015年1月30日23时12分许，被告人曾某饮酒后无证驾驶摩托车，经检验血液中乙醇含量为187.2mg/100ml。",
    "被告人王某在超市盗窃手机一部。",
    "被告人李某以非法占有为目的，虚构事实骗取他人钱财共计人民币5万元，数额巨大。" * 3,
]
LABELS = LabelSet(["危险驾驶", "盗窃", "诈骗", "故意伤害"])


def randomise_trainables(classifier: LegalClassifier, seed: int = 1) -> None:
    """Give LoRA B (zero at creation) and the head non-trivial values, as training would."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in classifier.model.parameters():
            if param.requires_grad:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.05)


@pytest.mark.unit
def test_save_load_round_trip_gives_identical_logits(tiny_qwen2: str, tmp_path: Path) -> None:
    classifier = LegalClassifier.create(tiny_qwen2, LABELS, max_tokens=48, attn_implementation=ATTENTION)
    randomise_trainables(classifier)
    before = classifier.logits(FACTS)
    classifier.save(tmp_path / "clf")

    loaded = LegalClassifier.load(tmp_path / "clf", ATTENTION)
    assert loaded.labels == LABELS and loaded.meta.max_tokens == 48
    assert torch.equal(loaded.logits(FACTS), before)


@pytest.mark.unit
def test_a_classifier_without_its_head_refuses_to_load(tiny_qwen2: str, tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    classifier = LegalClassifier.create(tiny_qwen2, LABELS, max_tokens=48, attn_implementation=ATTENTION)
    randomise_trainables(classifier)
    classifier.save(tmp_path / "clf")
    tensors = load_file(str(tmp_path / "clf" / ADAPTER_FILE))
    assert any(k.endswith("score.weight") for k in tensors), "the trained head must be inside the adapter"

    # The seed's bug: an adapter saved without the head. Loading it must fail, not give a random head.
    save_file({k: v for k, v in tensors.items() if "score" not in k}, str(tmp_path / "clf" / ADAPTER_FILE))
    with pytest.raises(RuntimeError, match="score"):
        LegalClassifier.load(tmp_path / "clf", ATTENTION)


@pytest.mark.unit
def test_left_padded_batch_matches_each_example_alone(tiny_qwen2: str) -> None:
    classifier = LegalClassifier.create(tiny_qwen2, LABELS, max_tokens=64, attn_implementation=ATTENTION)
    randomise_trainables(classifier)
    sequences = [classifier.encoder.ids(f) for f in FACTS]
    assert len({len(s) for s in sequences}) == 3  # really different lengths, so rows really are padded
    batch = classifier.encoder.collate(sequences)
    assert batch["attention_mask"][:, 0].tolist().count(0) == 2  # padding on the left
    classifier.model.eval()
    with torch.no_grad():
        together = classifier.forward(batch)
        alone = torch.cat([classifier.forward(classifier.encoder.collate([s])) for s in sequences])
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-5)


@pytest.mark.unit
def test_encoder_truncates_and_never_emits_the_pad_token(tiny_qwen2: str) -> None:
    classifier = LegalClassifier.create(tiny_qwen2, LABELS, max_tokens=32, attn_implementation=ATTENTION)
    encoder = classifier.encoder
    huge = encoder.ids("被告人张某盗窃。" * 12_500)  # 100k characters
    assert len(huge) == 32
    assert encoder.tokenizer.decode(huge).endswith("罪名：")
    tricky = encoder.ids("<|endoftext|>被告人张某盗窃")
    assert encoder.tokenizer.pad_token_id not in tricky
    assert compact_fact("某某县人民检察院指控：2014年5月29日11时许，被告人胡某") == "被告人胡某"


def _losses(out_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (out_dir / "train_log.jsonl").read_text().splitlines()]


@pytest.mark.unit
def test_a_few_training_steps_lower_the_loss(tiny_qwen2: str, small_train: Path, tmp_path: Path) -> None:
    config = TrainConfig(train_file=small_train, out_dir=tmp_path / "run", base_model=tiny_qwen2,
                         attn_implementation=ATTENTION, max_tokens=48, batch_size=4, epochs=4, limit=8,
                         probe=False, lr=1e-3, head_lr=1e-2, warmup_steps=1)
    result = train(config, log=lambda _: None)
    steps = _losses(tmp_path / "run")
    assert result.state.global_step == len(steps) == 8
    first = sum(s["loss"] for s in steps if s["epoch"] == 1) / 2
    last = sum(s["loss"] for s in steps if s["epoch"] == 4) / 2
    assert last < first


class Interrupted(Exception):
    pass


@pytest.mark.unit
def test_a_resumed_run_ends_exactly_where_an_uninterrupted_one_does(tiny_qwen2: str, small_train: Path,
                                                                    tmp_path: Path) -> None:
    def config(out: str) -> TrainConfig:
        return TrainConfig(train_file=small_train, valid_file=small_train.parent / "valid.jsonl",
                           out_dir=tmp_path / out, base_model=tiny_qwen2, attn_implementation=ATTENTION,
                           max_tokens=48, batch_size=4, epochs=2, limit=16, checkpoint_every=3, lr=1e-3)

    straight = train(config("straight"), log=lambda _: None)

    def crash_at_step_7(phase: str, done: int, total: int) -> None:
        if phase == "epoch 2" and done == 3:
            raise Interrupted

    with pytest.raises(Interrupted):
        train(config("resumed"), progress=crash_at_step_7, log=lambda _: None)
    messages: list[str] = []
    resumed = train(config("resumed"), log=messages.append)
    assert any("resuming at epoch 2, batch 2, step 6" in m for m in messages)
    assert resumed.state.global_step == straight.state.global_step == 8

    a = LegalClassifier.load(tmp_path / "straight", ATTENTION)
    b = LegalClassifier.load(tmp_path / "resumed", ATTENTION)
    trained_a = {k: v for k, v in a.model.state_dict().items() if "lora_" in k or "modules_to_save" in k}
    trained_b = {k: v for k, v in b.model.state_dict().items() if "lora_" in k or "modules_to_save" in k}
    assert trained_a.keys() == trained_b.keys() and any("score" in k for k in trained_a)
    for name, value in trained_a.items():
        assert torch.equal(value, trained_b[name]), name
    for key in ("accuracy", "micro_f1", "macro_f1", "n", "case_ids"):
        assert resumed.metrics["validation"][key] == straight.metrics["validation"][key]


@pytest.mark.integration
def test_real_base_model_trains_saves_and_pads(real_base: str, small_train: Path, tmp_path: Path) -> None:
    """The shipped Qwen2.5 0.5B: a handful of steps, then the saved classifier reloads to the same logits."""
    config = TrainConfig(train_file=small_train, out_dir=tmp_path / "real", base_model=real_base,
                         attn_implementation=ATTENTION, max_tokens=24, batch_size=2, epochs=2, limit=4,
                         probe=False, lr=1e-3, head_lr=5e-3, warmup_steps=1)
    train(config, log=lambda _: None)
    steps = _losses(tmp_path / "real")
    assert len(steps) == 4 and all(torch.isfinite(torch.tensor(s["loss"])) for s in steps)

    loaded = LegalClassifier.load(tmp_path / "real", ATTENTION)
    assert loaded.model.get_base_model().config._attn_implementation == ATTENTION
    sequences = [loaded.encoder.ids(f) for f in FACTS[:2]]
    with torch.no_grad():
        together = loaded.forward(loaded.encoder.collate(sequences))
        alone = torch.cat([loaded.forward(loaded.encoder.collate([s])) for s in sequences])
    torch.testing.assert_close(together, alone, rtol=1e-4, atol=1e-4)
