"""The legal-judgement tool: CAIL2018 data, a TF-IDF baseline, a LoRA charge classifier on a Qwen base model,
a FAISS precedent base, LLM sentencing from precedents, the CAIL2018 metrics and the `predict` entry point.

State lives under ARGUS_HOME/legal: `baseline/` (with the term estimate), `classifier/` (adapter, head, labels, metrics.json and the
resumable `checkpoint/`) and `precedents/` (the FAISS case base).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from core.settings import Settings


def baseline_dir(settings: Settings) -> Path:
    return settings.legal_dir / "baseline"


def classifier_dir(settings: Settings) -> Path:
    return settings.legal_dir / "classifier"


def precedents_dir(settings: Settings) -> Path:
    return settings.legal_dir / "precedents"


def base_model(settings: Settings) -> str:
    """The classifier's base model: `legal_base_model`, else the shipped Qwen2.5 0.5B conversion."""
    from models.registry import get_registry

    return str(get_registry(settings).resolve("legal_base"))


def save_pickled(model: Any, folder: Path, filename: str) -> Path:
    """A scikit-learn model (baseline, term estimate) pickled into `folder`; the file's path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / filename
    with path.open("wb") as f:
        pickle.dump(model, f)
    return path


def load_pickled(folder: Path, filename: str, what: str) -> Any:
    """What `save_pickled` wrote (files of our own `argus legal train` only: unpickling runs code)."""
    path = folder / filename
    if not path.is_file():
        raise FileNotFoundError(f"no {what} at {path}; train one with `argus legal train`")
    with path.open("rb") as f:
        return pickle.load(f)
