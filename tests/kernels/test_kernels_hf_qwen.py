"""transformers integration, on tiny Qwen2/Qwen3 models with RANDOM weights (a plumbing test: no checkpoint is
loaded). The same weights run with attn_implementation="sdpa" and with ours must give the same logits and
the same parameter gradients, with and without left padding, in training, prefill and cached decoding."""

from __future__ import annotations

import copy

import pytest
import torch
from transformers import AttentionInterface, Qwen2Config, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM
from transformers.cache_utils import DynamicCache
from transformers.masking_utils import (
    ALL_MASK_ATTENTION_FUNCTIONS,
    causal_mask_function,
    sliding_window_causal_mask_function,
)

from kernels import hf_integration
from kernels.hf_integration import ATTN_IMPLEMENTATION, argus_mask

pytestmark = pytest.mark.unit

VOCAB = 97
SEQ = 12
PADS = [0, 5]  # leading padding tokens per row in the padded batch


def _random_weight_config(arch: str, **overrides) -> Qwen2Config | Qwen3Config:
    common = {
        "vocab_size": VOCAB, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64,
        # Larger than the default 0.02 so that attention is far from uniform and masking errors show.
        "initializer_range": 0.3,
    }
    if arch == "qwen3":
        return Qwen3Config(head_dim=16, **common, **overrides)
    return Qwen2Config(**common, **overrides)


def _model_pair(arch: str, **overrides) -> tuple[torch.nn.Module, torch.nn.Module]:
    """Two copies of one randomly initialised model, one per attention implementation. Each gets its own
    config object: transformers stores the implementation on the config, so a shared one would be switched
    for both."""
    model_cls = Qwen3ForCausalLM if arch == "qwen3" else Qwen2ForCausalLM
    torch.manual_seed(0)
    config = _random_weight_config(arch, **overrides)
    sdpa = model_cls._from_config(copy.deepcopy(config), attn_implementation="sdpa")
    ours = model_cls._from_config(copy.deepcopy(config), attn_implementation=ATTN_IMPLEMENTATION)
    ours.load_state_dict(sdpa.state_dict())
    assert sdpa.config._attn_implementation == "sdpa"
    assert ours.config._attn_implementation == ATTN_IMPLEMENTATION
    return sdpa, ours


def _batch(padded: bool) -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.randint(1, VOCAB, (2, SEQ), generator=torch.Generator().manual_seed(1))
    mask = torch.ones(2, SEQ, dtype=torch.long)
    if padded:
        mask = (torch.arange(SEQ)[None, :] >= torch.tensor(PADS)[:, None]).long()
        ids = ids.masked_fill(mask == 0, 0)
    return ids, mask


def test_registered_under_a_name_transformers_accepts():
    assert ATTN_IMPLEMENTATION in AttentionInterface().valid_keys()
    assert ALL_MASK_ATTENTION_FUNCTIONS[ATTN_IMPLEMENTATION] is argus_mask
    # transformers routes any name containing "flash" to its FlashAttention loader.
    assert "flash" not in ATTN_IMPLEMENTATION
    assert hf_integration.register() == ATTN_IMPLEMENTATION


def test_mask_builder_keeps_padding_2d_and_other_patterns_4d():
    keep = torch.tensor([[False, True, True, True], [True, True, True, True]])
    common = {"batch_size": 2, "q_length": 4, "kv_length": 4, "device": "cpu", "dtype": torch.float32}
    assert argus_mask(**common, mask_function=causal_mask_function, attention_mask=torch.ones_like(keep)) is None
    padding = argus_mask(**common, mask_function=causal_mask_function, attention_mask=keep)
    assert torch.equal(padding, keep)
    sliding = argus_mask(**common, mask_function=sliding_window_causal_mask_function(2), attention_mask=keep)
    expected = torch.tensor([[1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]], dtype=torch.bool)
    assert sliding.shape == (2, 1, 4, 4)
    assert torch.equal(sliding[1, 0], expected)
    assert torch.equal(sliding[0, 0], expected & keep[0])


@pytest.mark.parametrize("padded", [False, True], ids=["no-padding", "left-padding"])
@pytest.mark.parametrize("arch", ["qwen2", "qwen3"])
def test_logits_and_gradients_match_sdpa(arch, padded):
    sdpa, ours = _model_pair(arch)
    ids, mask = _batch(padded)
    labels = ids.masked_fill(mask == 0, -100)
    real = mask.bool()

    results = []
    for model in (sdpa, ours):
        model.train()
        out = model(input_ids=ids, attention_mask=mask, labels=labels)
        out.loss.backward()
        grads = {name: p.grad.clone() for name, p in model.named_parameters()}
        results.append((out.logits.detach(), grads))

    (logits_sdpa, grads_sdpa), (logits_ours, grads_ours) = results
    # Only real tokens are compared: what a padded position holds differs between implementations.
    torch.testing.assert_close(logits_ours[real], logits_sdpa[real], atol=2e-5, rtol=2e-5)
    assert grads_ours.keys() == grads_sdpa.keys()
    for name, grad in grads_sdpa.items():
        assert torch.isfinite(grads_ours[name]).all(), name
        torch.testing.assert_close(grads_ours[name], grad, atol=2e-5, rtol=1e-4, msg=name)


def test_padding_is_not_ignored():
    """Guards the test above: the same padded batch without its mask must give different logits."""
    _, ours = _model_pair("qwen2")
    ids, mask = _batch(padded=True)
    with torch.no_grad():
        masked = ours(input_ids=ids, attention_mask=mask).logits
        unmasked = ours(input_ids=ids).logits
    assert not torch.allclose(masked[1, PADS[1]:], unmasked[1, PADS[1]:], atol=1e-3)


@pytest.mark.parametrize("arch", ["qwen2", "qwen3"])
def test_cached_decoding_matches_sdpa(arch, monkeypatch):
    """Prefill, then token-by-token decoding on a DynamicCache: the flash-decoding path."""
    decode_calls = []
    flash_decoding = hf_integration.flash_decoding

    def counting_flash_decoding(*args, **kwargs):
        decode_calls.append(args[0].shape)
        return flash_decoding(*args, **kwargs)

    monkeypatch.setattr(hf_integration, "flash_decoding", counting_flash_decoding)
    sdpa, ours = _model_pair(arch)
    ids, mask = _batch(padded=True)
    next_tokens = torch.randint(1, VOCAB, (2, 3), generator=torch.Generator().manual_seed(2))

    logits = []
    for model in (sdpa, ours):
        model.eval()
        cache = DynamicCache(config=model.config)
        step_mask = mask
        with torch.no_grad():
            steps = [model(input_ids=ids, attention_mask=step_mask, past_key_values=cache, use_cache=True).logits[:, -1]]
            for t in range(next_tokens.shape[1]):
                step_mask = torch.cat([step_mask, torch.ones(2, 1, dtype=step_mask.dtype)], dim=1)
                out = model(input_ids=next_tokens[:, t : t + 1], attention_mask=step_mask, past_key_values=cache, use_cache=True)
                steps.append(out.logits[:, -1])
        logits.append(torch.stack(steps))

    torch.testing.assert_close(logits[1], logits[0], atol=2e-5, rtol=2e-5)
    assert len(decode_calls) == next_tokens.shape[1] * ours.config.num_hidden_layers


def test_sliding_window_layers_match_sdpa():
    """Sliding-window layers take the 4-D mask path."""
    sdpa, ours = _model_pair("qwen3", use_sliding_window=True, sliding_window=4, max_window_layers=1)
    assert ours.config.layer_types == ["full_attention", "sliding_attention"]
    ids, mask = _batch(padded=True)
    with torch.no_grad():
        expected = sdpa(input_ids=ids, attention_mask=mask).logits
        got = ours(input_ids=ids, attention_mask=mask).logits
    torch.testing.assert_close(got[mask.bool()], expected[mask.bool()], atol=2e-5, rtol=2e-5)


def test_lora_gradients_match_sdpa():
    """LoRA fine-tuning runs through the custom backward: adapter gradients equal those under sdpa."""
    from peft import LoraConfig, get_peft_model

    sdpa, ours = _model_pair("qwen2")
    ids, mask = _batch(padded=True)
    labels = ids.masked_fill(mask == 0, -100)
    lora_grads = []
    for model in (sdpa, ours):
        torch.manual_seed(3)  # identical adapter initialisation
        lora = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
        lora.train()
        lora(input_ids=ids, attention_mask=mask, labels=labels).loss.backward()
        lora_grads.append({n: p.grad.clone() for n, p in lora.named_parameters() if p.requires_grad})

    assert lora_grads[0] and lora_grads[0].keys() == lora_grads[1].keys()
    for name, grad in lora_grads[0].items():
        assert grad.abs().sum() > 0, name
        torch.testing.assert_close(lora_grads[1][name], grad, atol=2e-5, rtol=1e-4, msg=name)
