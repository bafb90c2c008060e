"""Flash-decoding: attention of one new query token against a long K/V cache.

With a single query row, FlashAttention-2's parallelism over Q blocks disappears, so the cache itself is
split: each program attends to one slice of K/V and writes a normalised partial output with its
log-sum-exp, and a second pass merges the partials by rescaling each with exp(LSE_split - max LSE).

The split size is a function of nothing but the cache length (never of the batch size), so a sequence
decodes to the same bits whatever else is in the batch.
"""

from __future__ import annotations

import math

import torch

from kernels.attention import Backend, backend_module, check_qkv, resolve_backend

DEFAULT_SPLIT_SIZE = 512


def flash_decoding(
    q: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    *,
    attention_mask: torch.Tensor | None = None,
    scale: float | None = None,
    split_size: int = DEFAULT_SPLIT_SIZE,
    backend: Backend | None = None,
) -> torch.Tensor:
    """Inference-only attention for q of shape (batch, q_heads, 1, head_dim) against k_cache/v_cache of shape
    (batch, kv_heads, kv_len, head_dim). `attention_mask` is an optional (batch, kv_len) key-padding mask
    (True/1 = attend). Returns (batch, q_heads, 1, head_dim); a row whose keys are all padding gives zeros."""
    resolved = resolve_backend(backend, q.device)
    check_qkv(q, k_cache, v_cache, resolved)
    if q.shape[2] != 1:
        raise ValueError(f"flash_decoding takes exactly one query token, got q_len={q.shape[2]}")
    if split_size <= 0:
        raise ValueError(f"split_size must be positive, got {split_size}")
    key_padding = None
    if attention_mask is not None:
        if tuple(attention_mask.shape) != (k_cache.shape[0], k_cache.shape[2]):
            raise ValueError(
                f"flash_decoding takes a (batch, kv_len) key-padding mask, got {tuple(attention_mask.shape)}"
            )
        key_padding = attention_mask.to(device=q.device, dtype=torch.bool)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    with torch.no_grad():
        return backend_module(resolved).decode_forward(q, k_cache, v_cache, key_padding, scale, split_size)
