"""The Triton kernels compiled for a real GPU at real sizes. Skipped where CUDA is not available.

Accuracy criterion (the one FlashAttention's own tests use): against a float64 oracle, our error must stay
within twice the error of torch's sdpa on the same half-precision inputs, plus a small absolute slack.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from kernels import flash_attention, flash_decoding

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


def _inputs(batch, q_heads, kv_heads, q_len, kv_len, head_dim, dtype, seed=0, requires_grad=False):
    gen = torch.Generator(device="cuda").manual_seed(seed)
    shapes = [(batch, q_heads, q_len, head_dim), (batch, kv_heads, kv_len, head_dim), (batch, kv_heads, kv_len, head_dim)]
    return [torch.randn(s, generator=gen, device="cuda", dtype=dtype).requires_grad_(requires_grad) for s in shapes]


def _visibility(q_len, kv_len, causal, keep):
    """(batch or 1, 1, q_len, kv_len) bool: bottom-right causal pattern and key padding."""
    mask = torch.ones(q_len, kv_len, dtype=torch.bool, device="cuda")
    if causal:
        mask = mask.tril(kv_len - q_len)
    return mask[None, None] & keep[:, None, None, :] if keep is not None else mask[None, None]


def _sdpa(q, k, v, causal, keep):
    """torch's sdpa with the kernels' semantics as an explicit mask. Rows that see no key are unmasked so that
    no backend produces NaN there; callers exclude those rows (zero output, zero incoming gradient)."""
    mask = _visibility(q.shape[2], k.shape[2], causal, keep)
    mask = mask | ~mask.any(dim=-1, keepdim=True)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True)


def _assert_within_twice_sdpa_error(ours, sdpa, oracle, what):
    ours_err = (ours.double() - oracle).abs().max().item()
    sdpa_err = (sdpa.double() - oracle).abs().max().item()
    assert ours_err <= 2 * sdpa_err + 1e-3, f"{what}: ours {ours_err:.3e} vs sdpa {sdpa_err:.3e}"


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=str)
@pytest.mark.parametrize("head_dim", [64, 128])
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize(
    "dims",
    [(2, 16, 16, 1024, 1024), (2, 16, 4, 2047, 2047), (1, 8, 1, 4096, 4096), (2, 16, 2, 300, 1500)],
    ids=["mha-1k", "gqa4-ragged-2k", "mqa-4k", "gqa8-chunk"],
)
@pytest.mark.parametrize("padded", [False, True], ids=["dense", "left-padded"])
def test_forward_backward_against_float64(naive_attention, dtype, head_dim, causal, dims, padded):
    batch, q_heads, kv_heads, q_len, kv_len = dims
    q, k, v = _inputs(batch, q_heads, kv_heads, q_len, kv_len, head_dim, dtype, requires_grad=True)
    keep = None
    if padded:
        pads = torch.tensor([(b + 1) * kv_len // (2 * batch) for b in range(batch)], device="cuda")
        keep = torch.arange(kv_len, device="cuda")[None, :] >= pads[:, None]
    # Rows that see no key (left padding under causal) get no incoming gradient, as in a real model.
    sees_key = _visibility(q_len, kv_len, causal, keep).any(dim=-1, keepdim=True)
    grad_out = torch.randn_like(q) * sees_key

    ours = flash_attention(q, k, v, causal=causal, attention_mask=keep)
    ours_grads = torch.autograd.grad(ours, (q, k, v), grad_out)
    sdpa = _sdpa(q, k, v, causal, keep)
    sdpa_grads = torch.autograd.grad(sdpa, (q, k, v), grad_out)
    oracle = naive_attention(q, k, v, causal=causal, key_padding=keep)
    oracle_grads = torch.autograd.grad(oracle, (q, k, v), grad_out.double())

    assert torch.isfinite(ours).all()
    assert torch.all(ours.masked_select(~sees_key) == 0)
    _assert_within_twice_sdpa_error(ours, torch.where(sees_key, sdpa, 0), oracle, "out")
    for name, got, ref, want in zip("qkv", ours_grads, sdpa_grads, oracle_grads, strict=True):
        assert torch.isfinite(got).all(), f"d{name}"
        _assert_within_twice_sdpa_error(got, ref, want, f"d{name}")


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=str)
@pytest.mark.parametrize("head_dim", [64, 128])
def test_4d_mask_path(naive_attention, dtype, head_dim):
    q, k, v = _inputs(2, 8, 2, 777, 777, head_dim, dtype, requires_grad=True)
    keep = torch.rand(2, 1, 777, 777, device="cuda") > 0.2
    out = flash_attention(q, k, v, attention_mask=keep)
    grads = torch.autograd.grad(out.float().square().sum(), (q, k, v))
    oracle = naive_attention(q, k, v, mask=keep)
    oracle_grads = torch.autograd.grad(oracle.square().sum(), (q, k, v))
    sdpa = F.scaled_dot_product_attention(q, k, v, attn_mask=keep, enable_gqa=True)
    sdpa_grads = torch.autograd.grad(sdpa.float().square().sum(), (q, k, v))
    _assert_within_twice_sdpa_error(out, sdpa, oracle, "out")
    for got, ref, want in zip(grads, sdpa_grads, oracle_grads, strict=True):
        _assert_within_twice_sdpa_error(got, ref, want, "grad")


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=str)
@pytest.mark.parametrize("head_dim", [64, 128])
@pytest.mark.parametrize("heads", [(32, 32), (32, 8), (32, 1)], ids=["mha", "gqa4", "mqa"])
def test_flash_decoding_long_cache(naive_attention, dtype, head_dim, heads):
    q, k, v = _inputs(4, *heads, 1, 16384, head_dim, dtype)
    keep = torch.arange(16384, device="cuda")[None, :] >= torch.tensor([[0], [100], [9000], [16384]], device="cuda")
    out = flash_decoding(q, k, v, attention_mask=keep)
    oracle = naive_attention(q, k, v, key_padding=keep)
    sdpa = _sdpa(q, k, v, False, keep)
    assert torch.all(out[3] == 0)
    _assert_within_twice_sdpa_error(out[:3], sdpa[:3], oracle[:3], "decode")


def test_batch_invariance_on_gpu():
    q, k, v = _inputs(6, 16, 4, 1500, 1500, 128, torch.bfloat16, requires_grad=True)
    keep = torch.arange(1500, device="cuda")[None, :] >= torch.tensor([[0], [7], [300], [0], [1000], [64]], device="cuda")
    grad_out = torch.randn_like(q)
    out = flash_attention(q, k, v, causal=True, attention_mask=keep)
    grads = torch.autograd.grad(out, (q, k, v), grad_out)
    for row in (1, 4):
        q1, k1, v1 = (t[row : row + 1].detach().clone().requires_grad_(True) for t in (q, k, v))
        out1 = flash_attention(q1, k1, v1, causal=True, attention_mask=keep[row : row + 1])
        grads1 = torch.autograd.grad(out1, (q1, k1, v1), grad_out[row : row + 1])
        assert torch.equal(out1[0], out[row])
        for g1, g in zip(grads1, grads, strict=True):
            assert torch.equal(g1[0], g[row])

    qd, kd, vd = _inputs(5, 32, 8, 1, 9000, 128, torch.bfloat16, seed=1)
    together = flash_decoding(qd, kd, vd)
    assert torch.equal(flash_decoding(qd[2:3], kd[2:3], vd[2:3])[0], together[2])


def test_tiny_qwen_bf16_matches_sdpa():
    """Random-weight Qwen2 (head_dim 64) in bf16 on the GPU, Triton path end to end, left padding included.
    bf16 logits drift through the layers, so both bf16 runs are judged against the same model in float32."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from kernels.hf_integration import ATTN_IMPLEMENTATION

    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=512, hidden_size=256, intermediate_size=512, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, initializer_range=0.1,
    )
    oracle = Qwen2ForCausalLM._from_config(copy.deepcopy(config), attn_implementation="sdpa").cuda()
    models = {}
    for name in ("sdpa", ATTN_IMPLEMENTATION):
        model = Qwen2ForCausalLM._from_config(copy.deepcopy(config), attn_implementation=name, dtype=torch.bfloat16)
        model.load_state_dict(oracle.state_dict())
        models[name] = model.cuda()
    ids = torch.randint(1, 512, (2, 300), device="cuda")
    mask = torch.ones_like(ids)
    mask[1, :37] = 0
    real = mask.bool()
    with torch.no_grad():
        expected = oracle(input_ids=ids, attention_mask=mask).logits.double()[real]
        sdpa, ours = (models[n](input_ids=ids, attention_mask=mask).logits[real] for n in ("sdpa", ATTN_IMPLEMENTATION))
    _assert_within_twice_sdpa_error(ours, sdpa, expected, "logits")
