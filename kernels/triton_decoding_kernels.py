"""The Triton JIT kernels of flash-decoding: one split of the K/V cache per program, then the reduction
that merges the splits.

Device code only: `kernels.triton_flash.decode_forward` launches them. Kept apart from the FlashAttention-2
kernels (`kernels.triton_flash_kernels`), with which they share no code.
"""

from __future__ import annotations

import triton
import triton.language as tl


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
