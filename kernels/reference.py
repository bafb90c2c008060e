"""PyTorch reference of the tiled FlashAttention-2 algorithm.

This module is both the CPU execution path and the oracle the Triton kernels are tested against, so it
follows the kernels step by step: Q blocks outer, K/V blocks inner, an online softmax with a running max
and sum, an unnormalised accumulator divided once at the end, and one log-sum-exp per query row kept for
the backward pass. It works on the normalised inputs produced by `kernels.attention`:

- `q`: (batch, q_heads, q_len, head_dim); `k`, `v`: (batch, kv_heads, kv_len, head_dim) with
  `q_heads % kv_heads == 0` (grouped-query attention maps query head `h` to K/V head `h // group`).
- `key_padding`: optional bool (batch, kv_len), True for keys that take part in attention.
- `bias`: optional float32 additive bias of shape (batch, q_heads, q_len, kv_len); `-inf` masks.
- `causal`: bottom-right aligned, query `i` sees key `j` iff `j <= i + kv_len - q_len`.

Batch invariance: every batch element is computed on its own with the same sequence of tile operations,
so a row's result never depends on what else is in the batch.
"""

from __future__ import annotations

import torch

# Tile sizes, read at call time so that tests can shrink them to exercise many tiles on small inputs.
BLOCK_M = 64
BLOCK_N = 64


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    # fp16/bf16/fp32 accumulate in fp32; float64 stays float64 so gradcheck sees exact arithmetic.
    return torch.float64 if dtype == torch.float64 else torch.float32


def _first_valid_key(key_padding: torch.Tensor | None, b: int) -> int:
    """Index of the first key that is not padding; K/V blocks before it are skipped entirely."""
    if key_padding is None:
        return 0
    return int(key_padding[b].to(torch.int8).argmax())


def _tile_mask(
    key_padding: torch.Tensor | None,
    bias: torch.Tensor | None,
    b: int,
    rows: slice,
    cols: slice,
    causal: bool,
    diagonal: int,
    kv_heads: int,
    group: int,
    device: torch.device,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Visibility (1, 1, rows, cols) and bias tile (kv_heads, group, rows, cols) of one tile pair."""
    row_ids = torch.arange(rows.start, rows.stop, device=device)
    col_ids = torch.arange(cols.start, cols.stop, device=device)
    visible = torch.ones(row_ids.numel(), col_ids.numel(), dtype=torch.bool, device=device)
    if causal:
        visible &= col_ids[None, :] <= row_ids[:, None] + diagonal
    if key_padding is not None:
        visible &= key_padding[b, cols][None, :]
    bias_tile = None
    if bias is not None:
        tile = bias[b, :, rows, cols]
        bias_tile = tile.reshape(kv_heads, group, tile.shape[1], tile.shape[2])
    return visible[None, None], bias_tile


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
    """Returns the attention output (dtype of `q`) and the natural-log LSE per query row (float32/64).

    Rows that see no key at all get a zero output and an LSE of +inf, so that the backward pass
    recomputes P = exp(S - LSE) = 0 for them instead of NaN.
    """
    batch, q_heads, q_len, head_dim = q.shape
    kv_heads, kv_len = k.shape[1], k.shape[2]
    group = q_heads // kv_heads
    diagonal = kv_len - q_len
    dtype = _compute_dtype(q.dtype)
    block_m = block_m or BLOCK_M
    block_n = block_n or BLOCK_N
    out = torch.empty_like(q)
    lse = torch.empty(batch, q_heads, q_len, dtype=dtype, device=q.device)

    for b in range(batch):
        kv_start = _first_valid_key(key_padding, b) // block_n * block_n
        for m0 in range(0, q_len, block_m):
            m1 = min(m0 + block_m, q_len)
            # Query heads that share a K/V head are stacked as (kv_heads, group * rows): GQA without repeating K/V.
            q_tile = q[b, :, m0:m1].to(dtype).reshape(kv_heads, group * (m1 - m0), head_dim)

            m_i = torch.full((kv_heads, group, m1 - m0), float("-inf"), dtype=dtype, device=q.device)
            l_i = torch.zeros_like(m_i)
            acc = torch.zeros(kv_heads, group, m1 - m0, head_dim, dtype=dtype, device=q.device)

            # Causal early exit: K/V blocks entirely above the diagonal of this Q block are never visited.
            kv_end = min(kv_len, max(m1 + diagonal, 0)) if causal else kv_len
            for n0 in range(kv_start, kv_end, block_n):
                n1 = min(n0 + block_n, kv_len)
                k_tile = k[b, :, n0:n1].to(dtype)
                v_tile = v[b, :, n0:n1].to(dtype)

                s = (q_tile @ k_tile.transpose(1, 2)).view(kv_heads, group, m1 - m0, n1 - n0) * scale
                visible, bias_tile = _tile_mask(
                    key_padding, bias, b, slice(m0, m1), slice(n0, n1), causal, diagonal, kv_heads, group, q.device
                )
                if bias_tile is not None:
                    s = s + bias_tile.to(dtype)
                s = s.masked_fill(~visible, float("-inf"))

                m_new = torch.maximum(m_i, s.amax(dim=-1))
                # A row that has seen no visible key yet keeps max -inf; shift by 0 so exp gives 0, not NaN.
                m_safe = torch.where(m_new == float("-inf"), 0.0, m_new)
                p = torch.exp(s - m_safe[..., None])
                alpha = torch.exp(m_i - m_safe)
                l_i = alpha * l_i + p.sum(dim=-1)
                pv = p.view(kv_heads, group * (m1 - m0), n1 - n0) @ v_tile
                acc = alpha[..., None] * acc + pv.view(kv_heads, group, m1 - m0, head_dim)
                m_i = m_new

            empty = l_i == 0
            l_safe = torch.where(empty, 1.0, l_i)
            out[b, :, m0:m1] = (acc / l_safe[..., None]).reshape(q_heads, m1 - m0, head_dim).to(q.dtype)
            lse[b, :, m0:m1] = torch.where(empty, float("inf"), m_i + torch.log(l_safe)).reshape(q_heads, -1)
    return out, lse


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
    """FlashAttention-2 backward: K/V blocks outer, Q blocks inner, P recomputed from the saved LSE.

        P  = exp(S - LSE)          dV = P^T dO
        dP = dO V^T                D  = rowsum(dO * O)
        dS = P * (dP - D)          dQ = scale * dS K,   dK = scale * dS^T Q
    """
    batch, q_heads, q_len, head_dim = q.shape
    kv_heads, kv_len = k.shape[1], k.shape[2]
    group = q_heads // kv_heads
    diagonal = kv_len - q_len
    dtype = _compute_dtype(q.dtype)
    block_m = block_m or BLOCK_M
    block_n = block_n or BLOCK_N
    delta = (grad_out.to(dtype) * out.to(dtype)).sum(dim=-1)
    dq = torch.empty_like(q)
    dk = torch.empty_like(k)
    dv = torch.empty_like(v)

    for b in range(batch):
        dq_b = torch.zeros(kv_heads, group, q_len, head_dim, dtype=dtype, device=q.device)
        kv_start = _first_valid_key(key_padding, b) // block_n * block_n
        dk[b, :, :kv_start] = 0
        dv[b, :, :kv_start] = 0
        for n0 in range(kv_start, kv_len, block_n):
            n1 = min(n0 + block_n, kv_len)
            k_tile = k[b, :, n0:n1].to(dtype)
            v_tile = v[b, :, n0:n1].to(dtype)
            dk_tile = torch.zeros_like(k_tile)
            dv_tile = torch.zeros_like(v_tile)

            # Causal: only queries at or below the diagonal see this K/V block.
            q_start = max(0, n0 - diagonal) // block_m * block_m if causal else 0
            for m0 in range(q_start, q_len, block_m):
                m1 = min(m0 + block_m, q_len)
                shape4 = (kv_heads, group, m1 - m0)
                q_tile = q[b, :, m0:m1].to(dtype).reshape(kv_heads, -1, head_dim)
                do_tile = grad_out[b, :, m0:m1].to(dtype).reshape(kv_heads, -1, head_dim)
                lse_tile = lse[b, :, m0:m1].reshape(shape4)
                delta_tile = delta[b, :, m0:m1].reshape(shape4)

                s = (q_tile @ k_tile.transpose(1, 2)).view(*shape4, n1 - n0) * scale
                visible, bias_tile = _tile_mask(
                    key_padding, bias, b, slice(m0, m1), slice(n0, n1), causal, diagonal, kv_heads, group, q.device
                )
                if bias_tile is not None:
                    s = s + bias_tile.to(dtype)
                s = s.masked_fill(~visible, float("-inf"))
                p = torch.exp(s - lse_tile[..., None])  # rows with LSE = +inf give exactly 0

                p_flat = p.view(kv_heads, -1, n1 - n0)
                dv_tile += p_flat.transpose(1, 2) @ do_tile
                dp = (do_tile @ v_tile.transpose(1, 2)).view(*shape4, n1 - n0)
                ds = (p * (dp - delta_tile[..., None])).view(kv_heads, -1, n1 - n0)
                dq_b[:, :, m0:m1] += (ds @ k_tile).view(*shape4, head_dim) * scale
                dk_tile += ds.transpose(1, 2) @ q_tile * scale

            dk[b, :, n0:n1] = dk_tile.to(k.dtype)
            dv[b, :, n0:n1] = dv_tile.to(v.dtype)
        dq[b] = dq_b.reshape(q_heads, q_len, head_dim).to(q.dtype)
    return dq, dk, dv


def decode_forward(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    key_padding: torch.Tensor | None,
    scale: float,
    split_size: int,
) -> torch.Tensor:
    """Flash-decoding for one query token: the K/V cache is cut into splits of `split_size` keys, each split
    yields a normalised partial output and its LSE, and the partials are merged by rescaling with
    exp(LSE_split - max LSE). Splits that see no key (LSE = -inf) get weight 0."""
    batch, q_heads, _, head_dim = q.shape
    kv_heads, kv_len = k.shape[1], k.shape[2]
    group = q_heads // kv_heads
    dtype = _compute_dtype(q.dtype)
    out = torch.empty_like(q)

    for b in range(batch):
        q_b = q[b, :, 0].to(dtype).view(kv_heads, group, head_dim)
        partial_out, partial_lse = [], []
        for n0 in range(0, kv_len, split_size):
            n1 = min(n0 + split_size, kv_len)
            s = (q_b @ k[b, :, n0:n1].to(dtype).transpose(1, 2)) * scale  # (kv_heads, group, keys)
            if key_padding is not None:
                s = s.masked_fill(~key_padding[b, n0:n1], float("-inf"))
            m = s.amax(dim=-1, keepdim=True)
            p = torch.exp(s - torch.where(m == float("-inf"), 0.0, m))
            l_split = p.sum(dim=-1, keepdim=True)
            partial_out.append((p @ v[b, :, n0:n1].to(dtype)) / torch.where(l_split == 0, 1.0, l_split))
            partial_lse.append(m + torch.log(l_split))  # -inf for a fully padded split
        lse = torch.stack(partial_lse)  # (splits, kv_heads, group, 1)
        lse_max = lse.amax(dim=0)
        weight = torch.exp(lse - torch.where(lse_max == float("-inf"), 0.0, lse_max))
        total = weight.sum(dim=0)
        merged = (weight * torch.stack(partial_out)).sum(dim=0) / torch.where(total == 0, 1.0, total)
        out[b, :, 0] = merged.reshape(q_heads, head_dim).to(q.dtype)
    return out
