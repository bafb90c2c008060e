"""Attention throughput: our FlashAttention-2 kernels against torch sdpa and naive attention.

    python bench/bench_attention.py                       # full sweep on a CUDA GPU
    python bench/bench_attention.py --seq-lens 1024 4096 --head-dims 128 --json bench/results/h100.json

On a GPU: bf16, sequence lengths 512-8192, head dims 64 and 128, causal and not; forward and backward TFLOP/s
for ours (Triton), sdpa restricted to its FlashAttention backend, and naive attention (matmul + softmax +
matmul, skipped when its score matrix would not fit the memory budget). Ratios against sdpa are measured in
the same process, and each TFLOP/s is also given as a fraction of the GPU's dense bf16 peak.

Without CUDA there are no Triton timings: the script says so and times the CPU reference against sdpa on
small sizes, which only shows that the plumbing works.

FLOPs follow the FlashAttention papers: forward 4 * batch * heads * q_len * kv_len * head_dim (two matmuls),
halved when causal; backward 2.5x the forward (five matmuls against two).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from kernels import flash_attention

# Dense (no sparsity) bf16 tensor-core peaks from the vendors' datasheets, in TFLOP/s.
DENSE_BF16_PEAK_TFLOPS = {
    "H100 SXM": 989.4,
    "H100 80GB HBM3": 989.4,
    "H100 NVL": 835.5,
    "H100 PCIe": 756.0,
    "H200": 989.4,
    "A100": 312.0,
    "L40S": 362.1,
    "L4": 121.0,
}


def gpu_peak_tflops(name: str) -> float | None:
    for key, peak in DENSE_BF16_PEAK_TFLOPS.items():
        if key in name:
            return peak
    return None


def naive_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool) -> torch.Tensor:
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if causal:
        visible = torch.ones(q.shape[2], k.shape[2], dtype=torch.bool, device=q.device).tril()
        scores = scores.masked_fill(~visible, float("-inf"))
    return torch.softmax(scores.float(), dim=-1).to(q.dtype) @ v


def sdpa_flash(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool) -> torch.Tensor:
    from torch.nn.attention import SDPBackend, sdpa_kernel

    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)


def sdpa_any(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool) -> torch.Tensor:
    return F.scaled_dot_product_attention(q, k, v, is_causal=causal)


def ours(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool) -> torch.Tensor:
    return flash_attention(q, k, v, causal=causal)


def time_ms(fn: Callable[[], object], cuda: bool, warmup: int, repeats: int) -> float:
    """Median wall time of `fn` in milliseconds."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        if cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            samples.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - t0) * 1e3)
    return sorted(samples)[len(samples) // 2]


def measure(
    impl: Callable, batch: int, heads: int, seq_len: int, head_dim: int, causal: bool,
    dtype: torch.dtype, device: str, warmup: int, repeats: int,
) -> tuple[float, float]:
    """(forward ms, backward ms) for one implementation."""
    q, k, v = (torch.randn(batch, heads, seq_len, head_dim, device=device, dtype=dtype, requires_grad=True) for _ in range(3))
    grad_out = torch.randn(batch, heads, seq_len, head_dim, device=device, dtype=dtype)
    cuda = device == "cuda"
    forward_ms = time_ms(lambda: impl(q, k, v, causal), cuda, warmup, repeats)
    out = impl(q, k, v, causal)
    backward_ms = time_ms(lambda: torch.autograd.grad(out, (q, k, v), grad_out, retain_graph=True), cuda, warmup, repeats)
    return forward_ms, backward_ms


def percent(fraction: float | None) -> str:
    return f"{100 * fraction:7.1f}%" if fraction is not None else f"{'n/a':>8}"


def forward_flops(batch: int, heads: int, seq_len: int, head_dim: int, causal: bool) -> float:
    flops = 4.0 * batch * heads * seq_len * seq_len * head_dim
    return flops / 2 if causal else flops


def run(args: argparse.Namespace) -> list[dict]:
    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    if cuda:
        name = torch.cuda.get_device_name()
        peak = args.peak_tflops or gpu_peak_tflops(name)
        dtype = torch.bfloat16
        impls = {"ours": ours, "sdpa": sdpa_flash, "naive": naive_attention}
        print(f"GPU: {name}; dense bf16 peak: {f'{peak:.1f} TFLOP/s' if peak else 'unknown (pass --peak-tflops)'}")
    else:
        name, peak, dtype = "cpu", None, torch.float32
        impls = {"ours": ours, "sdpa": sdpa_any, "naive": naive_attention}
        print(
            "No CUDA device: Triton timings need a GPU. Timing the CPU reference path (float32) against sdpa on "
            "small sizes instead; these numbers say nothing about the Triton kernels."
        )

    rows = []
    header = f"{'seq':>6} {'hdim':>4} {'causal':>6} {'impl':>6} {'fwd TF/s':>9} {'bwd TF/s':>9} {'fwd %pk':>8} {'bwd %pk':>8} {'fwd/sdpa':>8} {'bwd/sdpa':>8}"
    print(header)
    for head_dim in args.head_dims:
        for seq_len in args.seq_lens:
            batch = max(1, args.tokens // seq_len)
            heads = args.hidden // head_dim
            for causal in (False, True):
                fwd_flops = forward_flops(batch, heads, seq_len, head_dim, causal)
                results = {}
                for impl_name, impl in impls.items():
                    score_bytes = batch * heads * seq_len * seq_len * 4 * 3  # fp32 softmax and its copies
                    if impl_name == "naive" and score_bytes > args.naive_mem_gb * 2**30:
                        continue
                    fwd_ms, bwd_ms = measure(impl, batch, heads, seq_len, head_dim, causal, dtype, device, args.warmup, args.repeats)
                    results[impl_name] = (fwd_flops / fwd_ms / 1e9, 2.5 * fwd_flops / bwd_ms / 1e9)
                for impl_name, (fwd_tf, bwd_tf) in results.items():
                    sdpa_fwd, sdpa_bwd = results["sdpa"]
                    row = {
                        "device": name, "dtype": str(dtype).removeprefix("torch."), "batch": batch, "heads": heads,
                        "seq_len": seq_len, "head_dim": head_dim, "causal": causal, "impl": impl_name,
                        "fwd_tflops": fwd_tf, "bwd_tflops": bwd_tf,
                        "fwd_frac_peak": fwd_tf / peak if peak else None, "bwd_frac_peak": bwd_tf / peak if peak else None,
                        "fwd_vs_sdpa": fwd_tf / sdpa_fwd, "bwd_vs_sdpa": bwd_tf / sdpa_bwd,
                    }
                    rows.append(row)
                    print(
                        f"{seq_len:>6} {head_dim:>4} {causal!s:>6} {impl_name:>6} {fwd_tf:>9.4g} {bwd_tf:>9.4g} "
                        f"{percent(row['fwd_frac_peak'])} {percent(row['bwd_frac_peak'])} {row['fwd_vs_sdpa']:>8.2f} {row['bwd_vs_sdpa']:>8.2f}"
                    )
    return rows


def main() -> None:
    cuda = torch.cuda.is_available()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seq-lens", type=int, nargs="+", default=[512, 1024, 2048, 4096, 8192] if cuda else [128, 256])
    parser.add_argument("--head-dims", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--tokens", type=int, default=16384 if cuda else 512, help="batch * seq_len per measurement")
    parser.add_argument("--hidden", type=int, default=2048 if cuda else 256, help="heads * head_dim")
    parser.add_argument("--peak-tflops", type=float, default=None, help="dense bf16 peak, if the GPU is not known")
    parser.add_argument("--naive-mem-gb", type=float, default=16.0, help="skip naive attention above this score size")
    parser.add_argument("--warmup", type=int, default=5 if cuda else 1)
    parser.add_argument("--repeats", type=int, default=20 if cuda else 3)
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON here")
    args = parser.parse_args()
    rows = run(args)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
