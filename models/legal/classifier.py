"""The charge classifier: a Qwen-family causal LM with a sequence-classification (`score`) head and LoRA.

Construction follows the seed's recipe and its lessons:

- `AutoModelForSequenceClassification` on the base causal LM: a linear `score` head (no bias) on the hidden
  state of the last real token. `config.pad_token_id` comes from the tokenizer, so the model finds that token.
- LoRA r=16, alpha=16, dropout 0.1 on `q_proj` and `v_proj`, with `modules_to_save=["score"]`: the trained
  head is saved inside the adapter. A head left out of the adapter is the seed's bug (good test scores, a
  random head after reloading), so `save` checks the adapter file holds it and `load` checks it was restored.
- Left padding with the attention mask from the collator, position ids counted from the first real token,
  truncation to `max_tokens`, and the pad token never produced from text (`split_special_tokens`).
- Attention runs through the project's kernels (`kernels.hf_integration`); "sdpa" only when configured.

Input text: `案情：<compacted fact>` cut to fit, then `\n罪名：` ("charge:"), so the pooled token is always the
same cue whatever the truncation. Compacting drops the prosecutor's preamble and dates, which cost tokens
and say nothing about the charge.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from models.legal.labels import LabelSet, select_charges

PREFIX = "案情："
SUFFIX = "\n罪名："
LORA_R = 16
LORA_ALPHA = 16
LORA_DROPOUT = 0.1
LORA_TARGETS = ("q_proj", "v_proj")
ADAPTER_FILE = "adapter_model.safetensors"
META_FILE = "classifier.json"
LABELS_FILE = "labels.json"
# Characters kept before tokenising: a token covers at least one character in practice, and anything past
# this many characters would be truncated anyway. Keeps a 100k-character fact cheap.
CHARS_PER_TOKEN_CUT = 4

_PREAMBLE = re.compile(r"^.{0,40}?(?:人民检察院|公诉机关)(?:起诉书)?(?:起诉)?指控[，,：:\s]*")
_DATE = re.compile(r"\d{2,4}年(?:\d{1,2}月)?(?:\d{1,2}日)?(?:\d{1,2}时)?(?:\d{1,2}分)?(?:许|左右)?[，,]?")
_TIME = re.compile(r"\d{1,2}(?:月\d{1,2}日)?(?:\d{1,2}时)(?:\d{1,2}分)?(?:许|左右)?[，,]?")
_SPACE = re.compile(r"\s+")


def compact_fact(fact: str) -> str:
    text = _PREAMBLE.sub("", fact.strip(), count=1)
    text = _TIME.sub("", _DATE.sub("", text))
    return _SPACE.sub(" ", text).strip()


@dataclass
class ClassifierMeta:
    """What `load` needs besides the adapter: saved as classifier.json next to it."""

    base_model: str
    max_tokens: int
    num_labels: int
    trained_with_attention: str

    @staticmethod
    def read(folder: Path) -> ClassifierMeta:
        """The metadata of the classifier saved in `folder`, without loading the model."""
        path = Path(folder) / META_FILE
        if not path.is_file():
            raise FileNotFoundError(f"no trained legal classifier in {folder}; train one with `argus legal train`")
        return ClassifierMeta(**json.loads(path.read_text(encoding="utf-8")))


def resolve_attention(name: str) -> str:
    """The attn_implementation to load with; the project's kernels register theirs on import."""
    if name == "argus_attention":
        from kernels.hf_integration import register

        return register()
    return name


@contextmanager
def _quiet_transformers() -> Iterator[None]:
    # Loading a causal LM as a classifier always reports a fresh `score` and an unused `lm_head`; both are
    # expected here (the head comes from the adapter, checked in `load`), so the report is noise.
    from transformers.utils import logging

    level = logging.get_verbosity()
    logging.set_verbosity_error()
    try:
        yield
    finally:
        logging.set_verbosity(level)


@lru_cache(maxsize=4)
def load_tokenizer(base_model: str):
    """The base model's tokenizer, set to pad on the left (cached: parsing it takes seconds)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_model)
    if tokenizer.pad_token_id is None:
        raise ValueError(f"{base_model}: the tokenizer defines no pad token; the classifier needs one")
    tokenizer.padding_side = "left"
    return tokenizer


def load_base(base_model: str, num_labels: int, pad_token_id: int, attn_implementation: str):
    from transformers import AutoModelForSequenceClassification

    with _quiet_transformers():
        return AutoModelForSequenceClassification.from_pretrained(
            base_model,
            num_labels=num_labels,
            problem_type="single_label_classification",  # soft-target cross-entropy, see labels.py
            pad_token_id=pad_token_id,
            attn_implementation=resolve_attention(attn_implementation),
            dtype=torch.float32,
        )


def lora_config():
    from peft import LoraConfig, TaskType

    return LoraConfig(
        task_type=TaskType.SEQ_CLS,
        r=LORA_R,
        lora_alpha=LORA_ALPHA,
        lora_dropout=LORA_DROPOUT,
        target_modules=list(LORA_TARGETS),
        bias="none",
        modules_to_save=["score"],
    )


class Encoder:
    """Facts to left-padded (input_ids, attention_mask, position_ids) batches."""

    def __init__(self, tokenizer, max_tokens: int):
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self._prefix = self._ids(PREFIX)
        self._suffix = self._ids(SUFFIX)
        if max_tokens <= len(self._prefix) + len(self._suffix):
            raise ValueError(f"max_tokens={max_tokens} leaves no room for the fact")

    def _ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False, split_special_tokens=True)["input_ids"]

    def ids(self, fact: str) -> list[int]:
        room = self.max_tokens - len(self._prefix) - len(self._suffix)
        body = self._ids(compact_fact(fact)[: room * CHARS_PER_TOKEN_CUT])[:room]
        return self._prefix + body + self._suffix

    def collate(self, sequences: Sequence[list[int]]) -> dict[str, torch.Tensor]:
        width = max(len(s) for s in sequences)
        pad = self.tokenizer.pad_token_id
        input_ids = torch.full((len(sequences), width), pad, dtype=torch.long)
        attention_mask = torch.zeros((len(sequences), width), dtype=torch.long)
        for row, seq in enumerate(sequences):
            input_ids[row, width - len(seq):] = torch.tensor(seq, dtype=torch.long)
            attention_mask[row, width - len(seq):] = 1
        # Real tokens are numbered from 0 whatever the padding, so a padded row sees the positions it sees alone.
        position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
        return {"input_ids": input_ids, "attention_mask": attention_mask, "position_ids": position_ids}


class LegalClassifier:
    def __init__(self, model, tokenizer, labels: LabelSet, meta: ClassifierMeta):
        self.model = model
        self.labels = labels
        self.meta = meta
        self.encoder = Encoder(tokenizer, meta.max_tokens)

    @classmethod
    def create(cls, base_model: str, labels: LabelSet, max_tokens: int, attn_implementation: str) -> LegalClassifier:
        """A fresh classifier: the base model, a new head and zero-initialised LoRA adapters."""
        from peft import get_peft_model

        tokenizer = load_tokenizer(base_model)
        base = load_base(base_model, len(labels), tokenizer.pad_token_id, attn_implementation)
        model = get_peft_model(base, lora_config())
        meta = ClassifierMeta(str(base_model), max_tokens, len(labels), attn_implementation)
        return cls(model, tokenizer, labels, meta)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(batch, labels) logits in float32."""
        batch = {k: v.to(self.device) for k, v in batch.items()}
        return self.model(**batch).logits.float()

    @torch.no_grad()
    def features(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(batch, hidden) float32: the final hidden state of the last token, the one the `score` head reads
        (with left padding every row's last position is its last real token)."""
        self.model.eval()
        batch = {k: v.to(self.device) for k, v in batch.items()}
        transformer = self.model.get_base_model().model
        return transformer(**batch).last_hidden_state[:, -1].float().clone()  # not a view of the whole batch

    def set_head(self, weight: torch.Tensor) -> None:
        """Overwrite the trainable `score` head (labels x hidden)."""
        with torch.no_grad():
            _active_score(self.model).weight.copy_(weight.to(self.device))

    @torch.no_grad()
    def logits(self, facts: Sequence[str], batch_size: int = 8) -> torch.Tensor:
        """Logits of each fact, batched by length (so padding stays small) and returned in input order."""
        self.model.eval()
        sequences = [self.encoder.ids(f) for f in facts]
        order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
        out = torch.empty(len(sequences), len(self.labels))
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            out[rows] = self.forward(self.encoder.collate([sequences[i] for i in rows])).cpu()
        return out

    def predict_proba(self, facts: Sequence[str], batch_size: int = 8) -> np.ndarray:
        return torch.softmax(self.logits(facts, batch_size), dim=-1).numpy()

    def predict(self, facts: Sequence[str], batch_size: int = 8) -> list[list[str]]:
        return [[self.labels.names[i] for i in select_charges(p)] for p in self.predict_proba(facts, batch_size)]

    # ------------------------------------------------------------------------------------------ saving
    def save(self, folder: Path) -> None:
        """Adapter (LoRA weights and the trained head), labels and metadata; verified after writing."""
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(str(folder))
        self.labels.save(folder / LABELS_FILE)
        (folder / META_FILE).write_text(json.dumps(asdict(self.meta), indent=1), encoding="utf-8")
        if _saved_head(folder) is None:
            raise RuntimeError(f"{folder / ADAPTER_FILE} holds no `score` head: the saved classifier would be broken")

    @classmethod
    def load(cls, folder: Path, attn_implementation: str, base_model: str | None = None,
             trainable: bool = False) -> LegalClassifier:
        """Exactly what `save` wrote, on its recorded base model (or `base_model`, a copy of the same weights).
        `trainable` keeps the adapter and head trainable, to resume training."""
        from peft import PeftModel

        folder = Path(folder)
        if not (folder / META_FILE).is_file() or not (folder / ADAPTER_FILE).is_file():
            raise FileNotFoundError(f"no trained legal classifier in {folder}; train one with `argus legal train`")
        meta = ClassifierMeta.read(folder)
        labels = LabelSet.load(folder / LABELS_FILE)
        saved = _saved_head(folder)
        if saved is None:
            raise RuntimeError(f"{folder / ADAPTER_FILE} holds no `score` head; refusing to use a random head")
        base_path = base_model or meta.base_model
        tokenizer = load_tokenizer(base_path)
        base = load_base(base_path, len(labels), tokenizer.pad_token_id, attn_implementation)
        model = PeftModel.from_pretrained(base, str(folder), is_trainable=trainable)
        if not torch.equal(saved, _active_head(model).to(saved.dtype)):
            raise RuntimeError(f"the `score` head in {folder} was not restored; refusing to use a random head")
        return cls(model if trainable else model.eval(), tokenizer, labels, meta)


def _saved_head(folder: Path) -> torch.Tensor | None:
    from safetensors.torch import load_file

    tensors = load_file(str(folder / ADAPTER_FILE))
    heads = [v for k, v in tensors.items() if k.endswith("score.weight")]
    return heads[0] if len(heads) == 1 else None


def _active_score(model) -> torch.nn.Linear:
    """The trained copy of `score` that PEFT's `modules_to_save` wrapper uses."""
    wrapper = model.get_base_model().score
    return wrapper.modules_to_save[wrapper.active_adapter]


def _active_head(model) -> torch.Tensor:
    return _active_score(model).weight.detach().cpu()
