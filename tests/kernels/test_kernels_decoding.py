"""Flash-decoding (reference path): one query token against a K/V cache split into chunks."""

from __future__ import annotations

import pytest
import torch

from kernels import flash_attention, flash_decoding

pytestmark = pytest.mark.unit


def _decode_inputs(batch, q_heads, kv_heads, kv_len, head_dim, dtype=torch.float32, seed=0):
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(batch, q_heads, 1, head_dim, generator=gen).to(dtype)
    k = torch.randn(batch, kv_heads, kv_len, head_dim, generator=gen).to(dtype)
    v = torch.randn(batch, kv_heads, kv_len, head_dim, generator=gen).to(dtype)
    return q, k, v


@pytest.mark.parametrize("heads", [(4, 4), (8, 2), (8, 1)], ids=lambda h: f"h{h[0]}kv{h[1]}")
@pytest.mark.parametrize("split_size", [16, 50, 1000], ids=lambda s: f"split{s}")
@pytest.mark.parametrize("padded", [False, True], ids=["dense", "left-padded"])
def test_decoding_matches_naive(naive_attention, left_padding, heads, split_size, padded):
    q, k, v = _decode_inputs(3, *heads, 200, 64)
    keep = left_padding(3, 200, [0, 37, 170]) if padded else None
    out = flash_decoding(q, k, v, attention_mask=keep, split_size=split_size)
    assert out.shape == q.shape
    torch.testing.assert_close(out.double(), naive_attention(q, k, v, key_padding=keep), atol=2e-5, rtol=2e-5)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
def test_decoding_half_precision(naive_attention, dtype):
    q, k, v = _decode_inputs(2, 8, 2, 300, 128, dtype)
    out = flash_decoding(q, k, v, split_size=64)
    assert out.dtype == dtype
    tol = 2e-3 if dtype == torch.float16 else 1.6e-2
    torch.testing.assert_close(out.double(), naive_attention(q, k, v), atol=tol, rtol=tol)


def test_fully_padded_row_and_split_give_zeros(naive_attention):
    """A row with no valid key outputs zeros; a split made only of padding gets weight 0, not NaN."""
    q, k, v = _decode_inputs(2, 4, 2, 96, 64)
    keep = torch.ones(2, 96, dtype=torch.bool)
    keep[0] = False
    keep[1, :64] = False  # the first two splits of 32 are pure padding
    out = flash_decoding(q, k, v, attention_mask=keep, split_size=32)
    assert torch.all(out[0] == 0)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out.double(), naive_attention(q, k, v, key_padding=keep), atol=2e-5, rtol=2e-5)


def test_decoding_agrees_with_flash_attention():
    q, k, v = _decode_inputs(2, 8, 2, 150, 64)
    keep = torch.arange(150)[None, :] >= torch.tensor([[0], [20]])
    torch.testing.assert_close(
        flash_decoding(q, k, v, attention_mask=keep, split_size=40),
        flash_attention(q, k, v, causal=True, attention_mask=keep),
        atol=1e-6,
        rtol=1e-6,
    )


def test_decoding_rejects_bad_inputs():
    q, k, v = _decode_inputs(1, 2, 2, 10, 16)
    with pytest.raises(ValueError, match="one query token"):
        flash_decoding(torch.cat([q, q], dim=2), k, v)
    with pytest.raises(ValueError, match="key-padding"):
        flash_decoding(q, k, v, attention_mask=torch.ones(1, 1, 1, 10, dtype=torch.bool))
    with pytest.raises(ValueError, match="split_size"):
        flash_decoding(q, k, v, split_size=0)
