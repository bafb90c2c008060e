"""Batch invariance: a sequence's result is bitwise identical whatever else is in the batch."""

from __future__ import annotations

import pytest
import torch

from kernels import flash_attention, flash_decoding

pytestmark = pytest.mark.unit


def _rows(n, q_heads, kv_heads, q_len, kv_len, head_dim, seed):
    gen = torch.Generator().manual_seed(seed)
    return (
        torch.randn(n, q_heads, q_len, head_dim, generator=gen),
        torch.randn(n, kv_heads, kv_len, head_dim, generator=gen),
        torch.randn(n, kv_heads, kv_len, head_dim, generator=gen),
    )


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_forward_and_backward_are_batch_invariant(causal):
    q, k, v = _rows(1, 4, 2, 70, 70, 32, seed=0)
    keep = torch.arange(70)[None, :] >= 9  # this row is left padded
    grad_out = torch.randn(1, 4, 70, 32, generator=torch.Generator().manual_seed(5))

    def run(q, k, v, keep, grad_out):
        q, k, v = (t.clone().requires_grad_(True) for t in (q, k, v))
        out = flash_attention(q, k, v, causal=causal, attention_mask=keep)
        return (out, *torch.autograd.grad(out, (q, k, v), grad_out))

    alone = run(q, k, v, keep, grad_out)
    for n_others, seed, position in [(1, 1, 0), (4, 2, 3)]:
        oq, ok, ov = _rows(n_others, 4, 2, 70, 70, 32, seed)
        other_keep = torch.arange(70)[None, :] >= torch.randint(0, 40, (n_others, 1), generator=torch.Generator().manual_seed(seed))
        other_grad = torch.randn(n_others, 4, 70, 32, generator=torch.Generator().manual_seed(seed))

        def insert(row, others, at=position):
            return torch.cat([others[:at], row, others[at:]])

        batched = run(insert(q, oq), insert(k, ok), insert(v, ov), insert(keep, other_keep), insert(grad_out, other_grad))
        for single, together in zip(alone, batched, strict=True):
            assert torch.equal(single[0], together[position])


def test_decoding_is_batch_invariant():
    q, k, v = _rows(1, 8, 2, 1, 700, 64, seed=0)
    keep = torch.arange(700)[None, :] >= 120
    alone = flash_decoding(q, k, v, attention_mask=keep)
    oq, ok, ov = _rows(4, 8, 2, 1, 700, 64, seed=1)
    batched = flash_decoding(
        torch.cat([oq, q]), torch.cat([ok, k]), torch.cat([ov, v]),
        attention_mask=torch.cat([torch.ones(4, 700, dtype=torch.bool), keep]),
    )
    assert torch.equal(alone[0], batched[4])
