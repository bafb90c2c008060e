"""Convert a GGUF checkpoint into a Hugging Face safetensors folder, once.

vLLM 0.32 does not load the shipped Qwen2.5 GGUF directly, and the legal classifier
fine-tunes the same weights, so both use this conversion (about 90 s, 1.3 GB in bfloat16).
transformers dequantises the GGUF on load; `GgufConfig(dequantize=True)` is what lets
it save the result.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def convert_gguf_to_hf(gguf: Path, target: Path) -> None:
    """Write `target` (config, tokenizer, safetensors) from the GGUF file `gguf`.

    It knows nothing of the model registry, which registers it as the converter of the
    `chat_llm_gguf` role (models/registry.py, `_load_derivers`).
    """
    import models.torchvision_guard  # noqa: F401, I001  (before transformers, which imports torchvision)
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    folder, name = gguf.parent, gguf.name
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        model = AutoModelForCausalLM.from_pretrained(
            folder, gguf_file=name, dtype=torch.float32, quantization_config=GgufConfig(dequantize=True)
        )
        model.config.quantization_config = None
        # bfloat16 holds a dequantised Q4 checkpoint without loss at half the size (1.3 GB);
        # engines and trainers upcast to the dtype they run in.
        model = model.to(torch.bfloat16)
        tokenizer.save_pretrained(tmp)
        model.save_pretrained(tmp, safe_serialization=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

