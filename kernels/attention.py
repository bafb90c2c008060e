"""Public FlashAttention-2 entry point: input checks, mask normalisation, backend dispatch and autograd.

`flash_attention(q, k, v, causal=..., attention_mask=..., scale=...)` takes the layout of
`torch.nn.functional.scaled_dot_product_attention`:

- q: (batch, q_heads, q_len, head_dim); k, v: (batch, kv_heads, kv_len, head_dim), q_heads a multiple of
  kv_heads (grouped-query / multi-query attention without repeating K/V).
- causal: bottom-right aligned like FlashAttention-2, so query i sees key j iff j <= i + kv_len - q_len
  (the usual lower-triangular mask when q_len == kv_len, and correct for a query chunk appended to a cache).
- attention_mask, one of
    * (batch, kv_len) key-padding mask, bool or 0/1 of any dtype, True/1 = attend. Left and right padding
      both work; it is combined with `causal`.
    * a 4-D mask broadcastable to (batch, q_heads, q_len, kv_len), as transformers builds them: bool with
      True = attend, or additive float where 0 = attend and -inf or the dtype's minimum (the value eager
      attention uses) = masked. Other float values are added to the scores as a bias.
- scale: defaults to 1 / sqrt(head_dim).

A query row that sees no key (e.g. a left-padding position under a causal mask) outputs zeros, and its
gradients are zero, never NaN. Masks are not differentiated.

Backends: "triton" (CUDA tensors, or CPU tensors under TRITON_INTERPRET=1) and "reference" (the tiled PyTorch
implementation in `kernels.reference`). By default CUDA inputs use Triton and everything else the reference.
"""

from __future__ import annotations

import math
import os
from types import ModuleType
from typing import Literal

import torch

from kernels import reference

Backend = Literal["triton", "reference"]
SUPPORTED_HEAD_DIMS = (64, 128)
TRITON_DTYPES = (torch.float16, torch.bfloat16)


def resolve_backend(backend: Backend | None, device: torch.device) -> Backend:
    if backend is None:
        return "triton" if device.type == "cuda" else "reference"
    if backend not in ("triton", "reference"):
        raise ValueError(f"unknown backend {backend!r}; expected 'triton' or 'reference'")
    if backend == "triton" and device.type != "cuda" and os.environ.get("TRITON_INTERPRET") != "1":
        raise RuntimeError(
            "the Triton backend needs CUDA tensors; CPU tensors only run under Triton's interpreter "
            "(TRITON_INTERPRET=1 set before triton is imported)"
        )
    return backend


def backend_module(backend: Backend) -> ModuleType:
    if backend == "reference":
        return reference
    # Imported lazily: Triton is only needed on the GPU path and in the interpreter tests.
    from kernels import triton_flash

    return triton_flash


def check_qkv(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, backend: Backend) -> None:
    if q.dim() != 4 or k.dim() != 4 or v.dim() != 4:
        raise ValueError("q, k and v must be 4-D: (batch, heads, seq_len, head_dim)")
    if k.shape != v.shape:
        raise ValueError(f"k and v must have the same shape, got {tuple(k.shape)} and {tuple(v.shape)}")
    if q.shape[0] != k.shape[0] or q.shape[3] != k.shape[3]:
        raise ValueError(f"q {tuple(q.shape)} and k {tuple(k.shape)} disagree on batch size or head_dim")
    if q.shape[1] % k.shape[1] != 0:
        raise ValueError(f"q_heads ({q.shape[1]}) must be a multiple of kv_heads ({k.shape[1]})")
    if not (q.dtype == k.dtype == v.dtype):
        raise ValueError(f"q, k and v must share a dtype, got {q.dtype}, {k.dtype}, {v.dtype}")
    if backend == "triton":
        if q.dtype not in TRITON_DTYPES:
            raise ValueError(f"the Triton kernels take float16 or bfloat16, got {q.dtype}")
        if q.shape[3] not in SUPPORTED_HEAD_DIMS:
            raise ValueError(f"the Triton kernels support head_dim in {SUPPORTED_HEAD_DIMS}, got {q.shape[3]}")


def normalize_mask(
    attention_mask: torch.Tensor | None, q: torch.Tensor, k: torch.Tensor
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Split `attention_mask` into a bool (batch, kv_len) key-padding mask or a float32 additive bias
    expanded (stride 0 on broadcast dimensions, no copy) to (batch, q_heads, q_len, kv_len), -inf where masked."""
    if attention_mask is None:
        return None, None
    batch, q_heads, q_len, _ = q.shape
    kv_len = k.shape[2]
    if attention_mask.dim() == 2:
        if tuple(attention_mask.shape) != (batch, kv_len):
            raise ValueError(f"key padding mask must be (batch, kv_len) = {(batch, kv_len)}, got {tuple(attention_mask.shape)}")
        return attention_mask.to(device=q.device, dtype=torch.bool), None
    if attention_mask.dim() != 4:
        raise ValueError(f"attention_mask must be 2-D (key padding) or 4-D, got {attention_mask.dim()}-D")
    mb, mh, mq, mk = attention_mask.shape
    if mb not in (1, batch) or mh not in (1, q_heads) or mq not in (1, q_len) or mk != kv_len:
        raise ValueError(
            f"4-D mask {tuple(attention_mask.shape)} does not broadcast to {(batch, q_heads, q_len, kv_len)}"
        )
    mask = attention_mask.to(q.device)
    if mask.dtype == torch.bool:
        bias = torch.zeros(mask.shape, dtype=torch.float32, device=q.device).masked_fill_(~mask, float("-inf"))
    else:
        masked = mask <= torch.finfo(mask.dtype).min
        bias = mask.to(torch.float32).masked_fill_(masked, float("-inf"))
    return None, bias.expand(batch, q_heads, q_len, kv_len)


class FlashAttentionFunction(torch.autograd.Function):
    """Forward saves O and the per-row LSE; backward recomputes P from them (FlashAttention-2)."""

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        key_padding: torch.Tensor | None,
        bias: torch.Tensor | None,
        causal: bool,
        scale: float,
        backend: Backend,
    ) -> torch.Tensor:
        impl = backend_module(backend)
        out, lse = impl.attention_forward(q, k, v, key_padding, bias, causal, scale)
        ctx.save_for_backward(q, k, v, out, lse, key_padding, bias)
        ctx.causal, ctx.scale, ctx.backend = causal, scale, backend
        return out

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad_out: torch.Tensor) -> tuple:
        q, k, v, out, lse, key_padding, bias = ctx.saved_tensors
        impl = backend_module(ctx.backend)
        dq, dk, dv = impl.attention_backward(grad_out, q, k, v, out, lse, key_padding, bias, ctx.causal, ctx.scale)
        return dq, dk, dv, None, None, None, None, None


def flash_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    causal: bool = False,
    attention_mask: torch.Tensor | None = None,
    scale: float | None = None,
    backend: Backend | None = None,
) -> torch.Tensor:
    """FlashAttention-2 with a backward pass; returns (batch, q_heads, q_len, head_dim) in the dtype of q."""
    resolved = resolve_backend(backend, q.device)
    check_qkv(q, k, v, resolved)
    key_padding, bias = normalize_mask(attention_mask, q, k)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    return FlashAttentionFunction.apply(q, k, v, key_padding, bias, causal, scale, resolved)
