"""Fixtures for the attention kernel tests: an independent naive oracle and input builders."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch


def _naive_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    causal: bool = False,
    key_padding: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
    scale: float | None = None,
) -> torch.Tensor:
    """Textbook attention in float64 on materialised scores, K/V heads repeated explicitly.

    Same semantics as the kernels: bottom-right causal alignment, `mask` either bool (True = attend) or
    additive float (values at the dtype's minimum or -inf mask), and rows that see no key give zeros.
    Differentiable, with finite gradients even for fully masked rows."""
    group = q.shape[1] // k.shape[1]
    q64, k64, v64 = q.double(), k.double().repeat_interleave(group, 1), v.double().repeat_interleave(group, 1)
    q_len, kv_len = q.shape[2], k.shape[2]
    scale = q.shape[-1] ** -0.5 if scale is None else scale
    scores = q64 @ k64.transpose(-1, -2) * scale

    allowed = torch.ones(q_len, kv_len, dtype=torch.bool, device=q.device)[None, None]
    if causal:
        allowed = allowed & torch.ones(q_len, kv_len, dtype=torch.bool, device=q.device).tril(kv_len - q_len)
    if key_padding is not None:
        allowed = allowed & key_padding.bool()[:, None, None, :]
    if mask is not None:
        if mask.dtype == torch.bool:
            allowed = allowed & mask
        else:
            allowed = allowed & (mask > torch.finfo(mask.dtype).min)
            scores = scores + torch.where(mask > torch.finfo(mask.dtype).min, mask.double(), 0.0)
    allowed = allowed.expand_as(scores)
    probs = torch.softmax(scores.masked_fill(~allowed, -1e300), dim=-1)
    probs = probs * allowed.any(dim=-1, keepdim=True)
    return probs @ v64


@pytest.fixture
def naive_attention() -> Callable[..., torch.Tensor]:
    return _naive_attention


@pytest.fixture
def left_padding() -> Callable[[int, int, list[int]], torch.Tensor]:
    """Bool (batch, seq_len) masks with the given number of leading padding positions per row."""

    def build(batch: int, seq_len: int, pads: list[int]) -> torch.Tensor:
        assert len(pads) == batch
        positions = torch.arange(seq_len)[None, :]
        return positions >= torch.tensor(pads)[:, None]

    return build
