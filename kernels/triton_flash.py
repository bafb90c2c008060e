"""Triton FlashAttention-2 forward and backward kernels, and a flash-decoding kernel.

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
"""

from __future__ import annotations

import math

import torch
import triton
import triton.language as tl

LOG2E = math.log2(math.e)
# The same constants as seen from inside the kernels.
_LOG2E = tl.constexpr(LOG2E)
_LN2 = tl.constexpr(math.log(2.0))


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


@triton.jit
def _fwd_inner(
    acc, l_i, m_i, q,
    k_base, v_base, stride_kn, stride_kd, stride_vn, stride_vd,
    kp_base, stride_kpn,
    bias_base, stride_bm, stride_bn,
    offs_m, offs_d, lo, hi, seqlen_q, seqlen_k, diagonal, qk_scale,
    BLOCK_N: tl.constexpr, MASKED: tl.constexpr, CAUSAL: tl.constexpr,
    HAS_KEY_PADDING: tl.constexpr, HAS_BIAS: tl.constexpr,
):
    """One pass of the online softmax over K/V blocks [lo, hi). MASKED adds the bounds and causal masks,
    which only the blocks on the diagonal and at the ragged end of the sequence need."""
    for start_n in range(lo, hi, BLOCK_N):
        offs_n = start_n + tl.arange(0, BLOCK_N)
        in_bounds = offs_n < seqlen_k
        k_ptrs = k_base + offs_n[None, :] * stride_kn + offs_d[:, None] * stride_kd
        v_ptrs = v_base + offs_n[:, None] * stride_vn + offs_d[None, :] * stride_vd
        if MASKED:
            k = tl.load(k_ptrs, mask=in_bounds[None, :], other=0.0)
            v = tl.load(v_ptrs, mask=in_bounds[:, None], other=0.0)
        else:
            k = tl.load(k_ptrs)
            v = tl.load(v_ptrs)
        s = tl.dot(q, k) * qk_scale
        if HAS_BIAS:
            b_mask = (offs_m[:, None] < seqlen_q) & in_bounds[None, :]
            s += tl.load(bias_base + offs_m[:, None] * stride_bm + offs_n[None, :] * stride_bn,
                         mask=b_mask, other=0.0) * _LOG2E
        if HAS_KEY_PADDING:
            keep = tl.load(kp_base + offs_n * stride_kpn, mask=in_bounds, other=0) != 0
            s = tl.where(keep[None, :], s, float("-inf"))
        if MASKED:
            visible = in_bounds[None, :]
            if CAUSAL:
                visible = visible & (offs_n[None, :] <= offs_m[:, None] + diagonal)
            s = tl.where(visible, s, float("-inf"))

        m_new = tl.maximum(m_i, tl.max(s, 1))
        # Rows with no visible key so far keep a max of -inf; shifting by 0 makes exp2 give 0 instead of NaN.
        m_safe = tl.where(m_new == float("-inf"), 0.0, m_new)
        p = tl.math.exp2(s - m_safe[:, None])
        alpha = tl.math.exp2(m_i - m_safe)
        l_i = l_i * alpha + tl.sum(p, 1)
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
        m_i = m_new
    return acc, l_i, m_i


@triton.jit
def _fwd_kernel(
    Q, K, V, Out, Lse, KeyPadding, FirstValid, Bias,
    stride_qb, stride_qh, stride_qm, stride_qd,
    stride_kb, stride_kh, stride_kn, stride_kd,
    stride_vb, stride_vh, stride_vn, stride_vd,
    stride_ob, stride_oh, stride_om, stride_od,
    stride_kpb, stride_kpn,
    stride_bb, stride_bh, stride_bm, stride_bn,
    q_heads, group, seqlen_q, seqlen_k, qk_scale,
    HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, CAUSAL: tl.constexpr,
    HAS_KEY_PADDING: tl.constexpr, HAS_BIAS: tl.constexpr,
):
    start_m = tl.program_id(0) * BLOCK_M
    off_bh = tl.program_id(1)
    # int64 so that batch and head offsets cannot overflow on large tensors.
    off_b = (off_bh // q_heads).to(tl.int64)
    off_h = (off_bh % q_heads).to(tl.int64)
    off_kvh = off_h // group

    offs_m = start_m + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, HEAD_DIM)
    q = tl.load(Q + off_b * stride_qb + off_h * stride_qh + offs_m[:, None] * stride_qm + offs_d[None, :] * stride_qd,
                mask=offs_m[:, None] < seqlen_q, other=0.0)
    k_base = K + off_b * stride_kb + off_kvh * stride_kh
    v_base = V + off_b * stride_vb + off_kvh * stride_vh
    kp_base = KeyPadding + off_b * stride_kpb
    bias_base = Bias + off_b * stride_bb + off_h * stride_bh

    diagonal = seqlen_k - seqlen_q
    lo = 0
    if HAS_KEY_PADDING:
        # Left padding: blocks before the first real key contribute nothing.
        lo = tl.load(FirstValid + off_b) // BLOCK_N * BLOCK_N
    hi = seqlen_k
    # Blocks in [lo, mid) are fully in bounds and fully below the diagonal for every row of this Q block.
    mid = seqlen_k // BLOCK_N * BLOCK_N
    if CAUSAL:
        # Causal early exit: blocks above the diagonal of the last row are skipped.
        hi = tl.minimum(seqlen_k, tl.maximum(start_m + BLOCK_M + diagonal, 0))
        mid = tl.minimum(mid, tl.maximum(start_m + diagonal + 1, 0) // BLOCK_N * BLOCK_N)
    mid = tl.maximum(tl.minimum(mid, hi), lo)

    m_i = tl.full([BLOCK_M], float("-inf"), dtype=tl.float32)
    l_i = tl.zeros([BLOCK_M], dtype=tl.float32)
    acc = tl.zeros([BLOCK_M, HEAD_DIM], dtype=tl.float32)
    acc, l_i, m_i = _fwd_inner(
        acc, l_i, m_i, q, k_base, v_base, stride_kn, stride_kd, stride_vn, stride_vd,
        kp_base, stride_kpn, bias_base, stride_bm, stride_bn,
        offs_m, offs_d, lo, mid, seqlen_q, seqlen_k, diagonal, qk_scale,
        BLOCK_N, False, CAUSAL, HAS_KEY_PADDING, HAS_BIAS,
    )
    acc, l_i, m_i = _fwd_inner(
        acc, l_i, m_i, q, k_base, v_base, stride_kn, stride_kd, stride_vn, stride_vd,
        kp_base, stride_kpn, bias_base, stride_bm, stride_bn,
        offs_m, offs_d, mid, hi, seqlen_q, seqlen_k, diagonal, qk_scale,
        BLOCK_N, True, CAUSAL, HAS_KEY_PADDING, HAS_BIAS,
    )

    # Normalise once at the end; a row that saw no key outputs zeros and gets LSE = +inf.
    empty = l_i == 0.0
    l_safe = tl.where(empty, 1.0, l_i)
    acc = acc / l_safe[:, None]
    lse = tl.where(empty, float("inf"), (m_i + tl.math.log2(l_safe)) * _LN2)
    row_ok = offs_m < seqlen_q
    tl.store(Lse + off_bh * seqlen_q + offs_m, lse, mask=row_ok)
    tl.store(Out + off_b * stride_ob + off_h * stride_oh + offs_m[:, None] * stride_om + offs_d[None, :] * stride_od,
             acc.to(Out.dtype.element_ty), mask=row_ok[:, None])


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


@triton.jit
def _bwd_preprocess(
    Out, DO, Delta,
    stride_ob, stride_oh, stride_om, stride_od,
    stride_dob, stride_doh, stride_dom, stride_dod,
    q_heads, seqlen_q,
    HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr,
):
    """D = rowsum(dO * O), the term dS = P * (dP - D) needs for every query row."""
    offs_m = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    off_bh = tl.program_id(1)
    off_b = (off_bh // q_heads).to(tl.int64)
    off_h = (off_bh % q_heads).to(tl.int64)
    offs_d = tl.arange(0, HEAD_DIM)
    row_ok = offs_m < seqlen_q
    o = tl.load(Out + off_b * stride_ob + off_h * stride_oh + offs_m[:, None] * stride_om + offs_d[None, :] * stride_od,
                mask=row_ok[:, None], other=0.0).to(tl.float32)
    do = tl.load(DO + off_b * stride_dob + off_h * stride_doh + offs_m[:, None] * stride_dom + offs_d[None, :] * stride_dod,
                 mask=row_ok[:, None], other=0.0).to(tl.float32)
    tl.store(Delta + off_bh * seqlen_q + offs_m, tl.sum(o * do, axis=1), mask=row_ok)


@triton.jit
def _bwd_dkdv_kernel(
    Q, K, V, DO, Lse, Delta, DK, DV, KeyPadding, FirstValid, Bias,
    stride_qb, stride_qh, stride_qm, stride_qd,
    stride_kb, stride_kh, stride_kn, stride_kd,
    stride_vb, stride_vh, stride_vn, stride_vd,
    stride_dob, stride_doh, stride_dom, stride_dod,
    stride_dkb, stride_dkh, stride_dkn, stride_dkd,
    stride_dvb, stride_dvh, stride_dvn, stride_dvd,
    stride_kpb, stride_kpn,
    stride_bb, stride_bh, stride_bm, stride_bn,
    q_heads, kv_heads, group, seqlen_q, seqlen_k, sm_scale, qk_scale,
    HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, CAUSAL: tl.constexpr,
    HAS_KEY_PADDING: tl.constexpr, HAS_BIAS: tl.constexpr,
):
    """dK and dV for one K/V block, summed over every query head of its group and every Q block that sees it.
    One program owns the block, so no atomics are needed and the result is deterministic."""
    start_n = tl.program_id(0) * BLOCK_N
    off_bkv = tl.program_id(1)
    off_b = (off_bkv // kv_heads).to(tl.int64)
    off_kvh = (off_bkv % kv_heads).to(tl.int64)

    offs_n = start_n + tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, HEAD_DIM)
    col_ok = offs_n < seqlen_k
    k = tl.load(K + off_b * stride_kb + off_kvh * stride_kh + offs_n[:, None] * stride_kn + offs_d[None, :] * stride_kd,
                mask=col_ok[:, None], other=0.0)
    v = tl.load(V + off_b * stride_vb + off_kvh * stride_vh + offs_n[:, None] * stride_vn + offs_d[None, :] * stride_vd,
                mask=col_ok[:, None], other=0.0)
    keep = col_ok
    m_start = 0
    if HAS_KEY_PADDING:
        keep = keep & (tl.load(KeyPadding + off_b * stride_kpb + offs_n * stride_kpn, mask=col_ok, other=0) != 0)
        # A block made only of left padding has zero gradient: skip the whole loop.
        m_start = tl.where(start_n + BLOCK_N <= tl.load(FirstValid + off_b), seqlen_q, 0)
    diagonal = seqlen_k - seqlen_q
    if CAUSAL:
        # Only queries at or below the diagonal see this block.
        m_start = tl.maximum(m_start, tl.maximum(start_n - diagonal, 0) // BLOCK_M * BLOCK_M)

    dk = tl.zeros([BLOCK_N, HEAD_DIM], dtype=tl.float32)
    dv = tl.zeros([BLOCK_N, HEAD_DIM], dtype=tl.float32)
    for g in range(group):
        off_h = off_kvh * group + g
        q_base = Q + off_b * stride_qb + off_h * stride_qh
        do_base = DO + off_b * stride_dob + off_h * stride_doh
        bias_base = Bias + off_b * stride_bb + off_h * stride_bh
        row_base = (off_b * q_heads + off_h) * seqlen_q
        for start_m in range(m_start, seqlen_q, BLOCK_M):
            offs_m = start_m + tl.arange(0, BLOCK_M)
            row_ok = offs_m < seqlen_q
            q = tl.load(q_base + offs_m[:, None] * stride_qm + offs_d[None, :] * stride_qd,
                        mask=row_ok[:, None], other=0.0)
            do = tl.load(do_base + offs_m[:, None] * stride_dom + offs_d[None, :] * stride_dod,
                         mask=row_ok[:, None], other=0.0)
            # Out-of-range rows get LSE = +inf, hence P = 0.
            lse = tl.load(Lse + row_base + offs_m, mask=row_ok, other=float("inf")) * _LOG2E
            delta = tl.load(Delta + row_base + offs_m, mask=row_ok, other=0.0)

            # Work on the transposed tile S^T (keys x queries) so that dV = P^T dO needs no transpose.
            s_t = tl.dot(k, tl.trans(q)) * qk_scale
            if HAS_BIAS:
                b_mask = col_ok[:, None] & row_ok[None, :]
                s_t += tl.load(bias_base + offs_m[None, :] * stride_bm + offs_n[:, None] * stride_bn,
                               mask=b_mask, other=0.0) * _LOG2E
            visible = keep[:, None]
            if CAUSAL:
                visible = visible & (offs_n[:, None] <= offs_m[None, :] + diagonal)
            s_t = tl.where(visible, s_t, float("-inf"))
            p_t = tl.math.exp2(s_t - lse[None, :])

            dv += tl.dot(p_t.to(do.dtype), do)
            dp_t = tl.dot(v, tl.trans(do))
            ds_t = p_t * (dp_t - delta[None, :])
            dk += tl.dot(ds_t.to(q.dtype), q)

    dk *= sm_scale
    tl.store(DK + off_b * stride_dkb + off_kvh * stride_dkh + offs_n[:, None] * stride_dkn + offs_d[None, :] * stride_dkd,
             dk.to(DK.dtype.element_ty), mask=col_ok[:, None])
    tl.store(DV + off_b * stride_dvb + off_kvh * stride_dvh + offs_n[:, None] * stride_dvn + offs_d[None, :] * stride_dvd,
             dv.to(DV.dtype.element_ty), mask=col_ok[:, None])


@triton.jit
def _bwd_dq_kernel(
    Q, K, V, DO, Lse, Delta, DQ, KeyPadding, FirstValid, Bias,
    stride_qb, stride_qh, stride_qm, stride_qd,
    stride_kb, stride_kh, stride_kn, stride_kd,
    stride_vb, stride_vh, stride_vn, stride_vd,
    stride_dob, stride_doh, stride_dom, stride_dod,
    stride_dqb, stride_dqh, stride_dqm, stride_dqd,
    stride_kpb, stride_kpn,
    stride_bb, stride_bh, stride_bm, stride_bn,
    q_heads, group, seqlen_q, seqlen_k, sm_scale, qk_scale,
    HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, CAUSAL: tl.constexpr,
    HAS_KEY_PADDING: tl.constexpr, HAS_BIAS: tl.constexpr,
):
    """dQ for one Q block: K/V blocks inner, the same visiting range as the forward pass."""
    start_m = tl.program_id(0) * BLOCK_M
    off_bh = tl.program_id(1)
    # int64 so that batch and head offsets cannot overflow on large tensors.
    off_b = (off_bh // q_heads).to(tl.int64)
    off_h = (off_bh % q_heads).to(tl.int64)
    off_kvh = off_h // group

    offs_m = start_m + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, HEAD_DIM)
    row_ok = offs_m < seqlen_q
    q = tl.load(Q + off_b * stride_qb + off_h * stride_qh + offs_m[:, None] * stride_qm + offs_d[None, :] * stride_qd,
                mask=row_ok[:, None], other=0.0)
    do = tl.load(DO + off_b * stride_dob + off_h * stride_doh + offs_m[:, None] * stride_dom + offs_d[None, :] * stride_dod,
                 mask=row_ok[:, None], other=0.0)
    lse = tl.load(Lse + off_bh * seqlen_q + offs_m, mask=row_ok, other=float("inf")) * _LOG2E
    delta = tl.load(Delta + off_bh * seqlen_q + offs_m, mask=row_ok, other=0.0)
    k_base = K + off_b * stride_kb + off_kvh * stride_kh
    v_base = V + off_b * stride_vb + off_kvh * stride_vh
    kp_base = KeyPadding + off_b * stride_kpb
    bias_base = Bias + off_b * stride_bb + off_h * stride_bh

    diagonal = seqlen_k - seqlen_q
    lo = 0
    if HAS_KEY_PADDING:
        lo = tl.load(FirstValid + off_b) // BLOCK_N * BLOCK_N
    hi = seqlen_k
    if CAUSAL:
        hi = tl.minimum(seqlen_k, tl.maximum(start_m + BLOCK_M + diagonal, 0))

    dq = tl.zeros([BLOCK_M, HEAD_DIM], dtype=tl.float32)
    for start_n in range(lo, hi, BLOCK_N):
        offs_n = start_n + tl.arange(0, BLOCK_N)
        col_ok = offs_n < seqlen_k
        k = tl.load(k_base + offs_n[:, None] * stride_kn + offs_d[None, :] * stride_kd, mask=col_ok[:, None], other=0.0)
        v = tl.load(v_base + offs_n[:, None] * stride_vn + offs_d[None, :] * stride_vd, mask=col_ok[:, None], other=0.0)
        s = tl.dot(q, tl.trans(k)) * qk_scale
        if HAS_BIAS:
            b_mask = row_ok[:, None] & col_ok[None, :]
            s += tl.load(bias_base + offs_m[:, None] * stride_bm + offs_n[None, :] * stride_bn,
                         mask=b_mask, other=0.0) * _LOG2E
        visible = col_ok[None, :]
        if HAS_KEY_PADDING:
            visible = visible & (tl.load(kp_base + offs_n * stride_kpn, mask=col_ok, other=0) != 0)[None, :]
        if CAUSAL:
            visible = visible & (offs_n[None, :] <= offs_m[:, None] + diagonal)
        s = tl.where(visible, s, float("-inf"))
        p = tl.math.exp2(s - lse[:, None])
        dp = tl.dot(do, tl.trans(v))
        ds = p * (dp - delta[:, None])
        dq += tl.dot(ds.to(k.dtype), k)

    dq *= sm_scale
    tl.store(DQ + off_b * stride_dqb + off_h * stride_dqh + offs_m[:, None] * stride_dqm + offs_d[None, :] * stride_dqd,
             dq.to(DQ.dtype.element_ty), mask=row_ok[:, None])


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


@triton.jit
def _decode_split_kernel(
    Q, K, V, PartialOut, PartialLse, KeyPadding,
    stride_qb, stride_qh, stride_qd,
    stride_kb, stride_kh, stride_kn, stride_kd,
    stride_vb, stride_vh, stride_vn, stride_vd,
    stride_kpb, stride_kpn,
    kv_heads, group, seqlen_k, split_size, num_splits, qk_scale,
    HEAD_DIM: tl.constexpr, BLOCK_G: tl.constexpr, BLOCK_N: tl.constexpr, HAS_KEY_PADDING: tl.constexpr,
):
    """One program: one split of the K/V cache for one K/V head and all the query heads that share it, so each
    K/V tile is read once per group. Writes the split's normalised output and its log2-domain LSE."""
    split = tl.program_id(0)
    off_bkv = tl.program_id(1)
    off_b = (off_bkv // kv_heads).to(tl.int64)
    off_kvh = (off_bkv % kv_heads).to(tl.int64)

    offs_g = tl.arange(0, BLOCK_G)
    offs_d = tl.arange(0, HEAD_DIM)
    head_ok = offs_g < group
    heads = off_kvh * group + offs_g
    q = tl.load(Q + off_b * stride_qb + heads[:, None] * stride_qh + offs_d[None, :] * stride_qd,
                mask=head_ok[:, None], other=0.0)
    k_base = K + off_b * stride_kb + off_kvh * stride_kh
    v_base = V + off_b * stride_vb + off_kvh * stride_vh

    start = split * split_size
    end = tl.minimum(start + split_size, seqlen_k)
    m_i = tl.full([BLOCK_G], float("-inf"), dtype=tl.float32)
    l_i = tl.zeros([BLOCK_G], dtype=tl.float32)
    acc = tl.zeros([BLOCK_G, HEAD_DIM], dtype=tl.float32)
    for start_n in range(start, end, BLOCK_N):
        offs_n = start_n + tl.arange(0, BLOCK_N)
        keep = offs_n < end
        if HAS_KEY_PADDING:
            keep = keep & (tl.load(KeyPadding + off_b * stride_kpb + offs_n * stride_kpn, mask=keep, other=0) != 0)
        k = tl.load(k_base + offs_n[None, :] * stride_kn + offs_d[:, None] * stride_kd, mask=keep[None, :], other=0.0)
        s = tl.where(keep[None, :], tl.dot(q, k) * qk_scale, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(s, 1))
        m_safe = tl.where(m_new == float("-inf"), 0.0, m_new)
        p = tl.math.exp2(s - m_safe[:, None])
        alpha = tl.math.exp2(m_i - m_safe)
        l_i = l_i * alpha + tl.sum(p, 1)
        v = tl.load(v_base + offs_n[:, None] * stride_vn + offs_d[None, :] * stride_vd, mask=keep[:, None], other=0.0)
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
        m_i = m_new

    # A split that saw no key keeps m_i = -inf, so its LSE is -inf and it gets weight 0 in the reduction.
    l_safe = tl.where(l_i == 0.0, 1.0, l_i)
    lse = m_i + tl.math.log2(l_safe)
    rows = (off_b * kv_heads * group + heads) * num_splits + split
    tl.store(PartialLse + rows, lse, mask=head_ok)
    tl.store(PartialOut + rows[:, None] * HEAD_DIM + offs_d[None, :], acc / l_safe[:, None], mask=head_ok[:, None])


@triton.jit
def _decode_reduce_kernel(
    PartialOut, PartialLse, Out,
    stride_ob, stride_oh, stride_od,
    q_heads, num_splits,
    HEAD_DIM: tl.constexpr, BLOCK_S: tl.constexpr,
):
    """Merge the splits of one (batch, head): out = sum_s w_s o_s / sum_s w_s with w_s = 2^(lse_s - max lse)."""
    off_bh = tl.program_id(0)
    off_b = off_bh // q_heads
    off_h = off_bh % q_heads
    offs_s = tl.arange(0, BLOCK_S)
    offs_d = tl.arange(0, HEAD_DIM)
    split_ok = offs_s < num_splits
    lse = tl.load(PartialLse + off_bh * num_splits + offs_s, mask=split_ok, other=float("-inf"))
    lse_max = tl.max(lse, 0)
    weight = tl.math.exp2(lse - tl.where(lse_max == float("-inf"), 0.0, lse_max))
    total = tl.sum(weight, 0)
    partial = tl.load(PartialOut + (off_bh * num_splits + offs_s)[:, None] * HEAD_DIM + offs_d[None, :],
                      mask=split_ok[:, None], other=0.0)
    out = tl.sum(weight[:, None] * partial, 0) / tl.where(total == 0.0, 1.0, total)
    tl.store(Out + off_b * stride_ob + off_h * stride_oh + offs_d * stride_od, out.to(Out.dtype.element_ty))


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
