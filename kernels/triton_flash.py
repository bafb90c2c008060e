"""Launchers of the Triton FlashAttention-2 forward and backward kernels and of the flash-decoding kernel.

Conventions shared with `kernels.reference` (the oracle these kernels are tested against):

- q: (batch, q_heads, q_len, head_dim); k, v: (batch, kv_heads, kv_len, head_dim). Any strides are accepted,
  so the transposed views transformers passes need no copy. Query head `h` reads K/V head `h // group`:
  grouped-query and multi-query attention by index mapping, K/V are never repeated in memory.
- key_padding: optional (batch, kv_len) uint8, nonzero for keys that take part in attention.
- bias: optional float32 additive bias of shape (batch, q_heads, q_len, kv_len), usually an expanded view with
  stride 0 on the broadcast dimensions.
- causal is bottom-right aligned: query i sees key j iff j <= i + kv_len - q_len.
- Scores live in the log2 domain inside the kernels (exp2 is cheaper than exp); the saved LSE is natural-log,
  +inf for rows that see no key so that the backward recomputes P = 0 for them.

The `@triton.jit` kernels themselves are in `kernels.triton_flash_kernels` (forward and backward) and
`kernels.triton_decoding_kernels` (flash-decoding); this module launches them: tile sizes, argument packing
and grids. `kernels.attention` uses it as the "triton" backend.
"""

from __future__ import annotations

import torch
import triton

from kernels.triton_decoding_kernels import _decode_reduce_kernel, _decode_split_kernel
from kernels.triton_flash_kernels import (
    LOG2E,
    _bwd_dkdv_kernel,
    _bwd_dq_kernel,
    _bwd_preprocess,
    _fwd_kernel,
)


def _launch_config(head_dim: int) -> dict[str, int]:
    """Tile sizes and launch parameters. Not tuned on hardware: no GPU was available when they were chosen."""
    big = head_dim > 64
    return {
        "fwd_block_m": 128,
        "fwd_block_n": 64,
        "bwd_block_m": 64,
        "bwd_block_n": 64,
        "num_warps": 8 if big else 4,
        "num_stages": 2 if big else 3,
    }


def _key_padding_args(key_padding: torch.Tensor | None, like: torch.Tensor) -> tuple:
    """Key padding as a byte tensor (a plain pointer inside the kernels, same storage) and its strides."""
    if key_padding is None:
        return like, 0, 0
    as_bytes = key_padding.view(torch.uint8)
    return as_bytes, as_bytes.stride(0), as_bytes.stride(1)


def _first_valid_key(key_padding: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    """Index of the first attended key per batch row: K/V blocks of pure left padding before it are skipped."""
    if key_padding is None:
        return like
    return key_padding.to(torch.int32).argmax(dim=1).to(torch.int32)


def _bias_args(bias: torch.Tensor | None, like: torch.Tensor) -> tuple:
    """Bias and its strides. Absent tensors are replaced by any tensor: the HAS_* flags keep kernels off them."""
    if bias is None:
        return like, 0, 0, 0, 0
    return (bias, *bias.stride())


# ----------------------------------------------------------------------------------------------------------
# Forward
# ----------------------------------------------------------------------------------------------------------


def attention_forward(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    key_padding: torch.Tensor | None,
    bias: torch.Tensor | None,
    causal: bool,
    scale: float,
    block_m: int | None = None,
    block_n: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    batch, q_heads, q_len, head_dim = q.shape
    kv_heads, kv_len = k.shape[1], k.shape[2]
    cfg = _launch_config(head_dim)
    block_m = block_m or cfg["fwd_block_m"]
    block_n = block_n or cfg["fwd_block_n"]

    out = torch.empty_like(q)
    lse = torch.empty(batch, q_heads, q_len, dtype=torch.float32, device=q.device)
    kp, stride_kpb, stride_kpn = _key_padding_args(key_padding, q)
    first_valid = _first_valid_key(key_padding, q)
    bias_t, *bias_strides = _bias_args(bias, q)
    grid = (triton.cdiv(q_len, block_m), batch * q_heads)
    _fwd_kernel[grid](
        q, k, v, out, lse, kp, first_valid, bias_t,
        *q.stride(), *k.stride(), *v.stride(), *out.stride(),
        stride_kpb, stride_kpn, *bias_strides,
        q_heads, q_heads // kv_heads, q_len, kv_len, scale * LOG2E,
        HEAD_DIM=head_dim, BLOCK_M=block_m, BLOCK_N=block_n, CAUSAL=causal,
        HAS_KEY_PADDING=key_padding is not None, HAS_BIAS=bias is not None,
        num_warps=cfg["num_warps"], num_stages=cfg["num_stages"],
    )
    return out, lse


# ----------------------------------------------------------------------------------------------------------
# Backward
# ----------------------------------------------------------------------------------------------------------


def attention_backward(
    grad_out: torch.Tensor,
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    out: torch.Tensor,
    lse: torch.Tensor,
    key_padding: torch.Tensor | None,
    bias: torch.Tensor | None,
    causal: bool,
    scale: float,
    block_m: int | None = None,
    block_n: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    batch, q_heads, q_len, head_dim = q.shape
    kv_heads, kv_len = k.shape[1], k.shape[2]
    group = q_heads // kv_heads
    cfg = _launch_config(head_dim)
    block_m = block_m or cfg["bwd_block_m"]
    block_n = block_n or cfg["bwd_block_n"]
    launch = {"num_warps": cfg["num_warps"], "num_stages": cfg["num_stages"]}

    delta = torch.empty(batch, q_heads, q_len, dtype=torch.float32, device=q.device)
    _bwd_preprocess[(triton.cdiv(q_len, block_m), batch * q_heads)](
        out, grad_out, delta, *out.stride(), *grad_out.stride(), q_heads, q_len,
        HEAD_DIM=head_dim, BLOCK_M=block_m,
    )

    dq = torch.empty_like(q)
    dk = torch.empty_like(k)
    dv = torch.empty_like(v)
    kp, stride_kpb, stride_kpn = _key_padding_args(key_padding, q)
    first_valid = _first_valid_key(key_padding, q)
    bias_t, *bias_strides = _bias_args(bias, q)
    flags = {
        "HEAD_DIM": head_dim, "BLOCK_M": block_m, "BLOCK_N": block_n, "CAUSAL": causal,
        "HAS_KEY_PADDING": key_padding is not None, "HAS_BIAS": bias is not None,
    }
    _bwd_dkdv_kernel[(triton.cdiv(kv_len, block_n), batch * kv_heads)](
        q, k, v, grad_out, lse, delta, dk, dv, kp, first_valid, bias_t,
        *q.stride(), *k.stride(), *v.stride(), *grad_out.stride(), *dk.stride(), *dv.stride(),
        stride_kpb, stride_kpn, *bias_strides,
        q_heads, kv_heads, group, q_len, kv_len, scale, scale * LOG2E,
        **flags, **launch,
    )
    _bwd_dq_kernel[(triton.cdiv(q_len, block_m), batch * q_heads)](
        q, k, v, grad_out, lse, delta, dq, kp, first_valid, bias_t,
        *q.stride(), *k.stride(), *v.stride(), *grad_out.stride(), *dq.stride(),
        stride_kpb, stride_kpn, *bias_strides,
        q_heads, group, q_len, kv_len, scale, scale * LOG2E,
        **flags, **launch,
    )
    return dq, dk, dv


# ----------------------------------------------------------------------------------------------------------
# Flash-decoding
# ----------------------------------------------------------------------------------------------------------


def decode_forward(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    key_padding: torch.Tensor | None,
    scale: float,
    split_size: int,
    block_n: int = 64,
) -> torch.Tensor:
    batch, q_heads, _, head_dim = q.shape
    kv_heads, kv_len = k.shape[1], k.shape[2]
    group = q_heads // kv_heads
    num_splits = triton.cdiv(kv_len, split_size)

    partial_out = torch.empty(batch, q_heads, num_splits, head_dim, dtype=torch.float32, device=q.device)
    partial_lse = torch.empty(batch, q_heads, num_splits, dtype=torch.float32, device=q.device)
    kp, stride_kpb, stride_kpn = _key_padding_args(key_padding, q)
    q_token = q[:, :, 0]
    _decode_split_kernel[(num_splits, batch * kv_heads)](
        q_token, k, v, partial_out, partial_lse, kp,
        *q_token.stride(), *k.stride(), *v.stride(), stride_kpb, stride_kpn,
        kv_heads, group, kv_len, split_size, num_splits, scale * LOG2E,
        # tl.dot needs at least 16 rows: the group is padded up and the extra rows masked.
        HEAD_DIM=head_dim, BLOCK_G=max(16, triton.next_power_of_2(group)), BLOCK_N=block_n,
        HAS_KEY_PADDING=key_padding is not None,
    )
    out = torch.empty_like(q)
    out_token = out[:, :, 0]
    _decode_reduce_kernel[(batch * q_heads,)](
        partial_out, partial_lse, out_token, *out_token.stride(), q_heads, num_splits,
        HEAD_DIM=head_dim, BLOCK_S=max(2, triton.next_power_of_2(num_splits)),
    )
    return out
