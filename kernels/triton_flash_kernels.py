"""The Triton JIT kernels of FlashAttention-2: the forward pass (online softmax over K/V blocks) and the
backward pass (preprocess, dK/dV, dQ).

Device code only: `kernels.triton_flash` launches them (tile sizes, argument packing, grids) and states the
conventions they share with `kernels.reference`. Kept apart so that the device code reads on its own,
without the host-side launch logic.
"""

from __future__ import annotations

import math

import triton
import triton.language as tl

LOG2E = math.log2(math.e)
# The same constants as seen from inside the kernels.
_LOG2E = tl.constexpr(LOG2E)
_LN2 = tl.constexpr(math.log(2.0))


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
