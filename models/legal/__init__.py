"""The legal-judgement tool: CAIL2018 data, a TF-IDF baseline, a LoRA charge classifier on a Qwen base model,
a FAISS precedent base, LLM sentencing from precedents, the CAIL2018 metrics and the `predict` entry point.

State lives under ARGUS_HOME/legal: `baseline/`, `classifier/` (adapter, head, labels, metrics.json and the
resumable `checkpoint/`) and `precedents/` (the FAISS case base).
"""

from __future__ import annotations

from pathlib import Path

from app.settings import Settings


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
