"""A tiny forward through the registered `argus_attention` implementation, checked against PyTorch's SDPA:
what `argus doctor` reports for the attention kernels, instead of assuming they work.

The call goes through transformers' `AttentionInterface` by name, as a model loaded with
`attn_implementation="argus_attention"` makes it: prefill (causal, with key padding) and a decode step.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

PATHS = {"triton": "Triton on CUDA", "reference": "the tiled PyTorch reference"}
# bf16 on the GPU rounds to ~3 significant digits; float32 on the CPU path agrees far closer.
TOLERANCE = {torch.bfloat16: 3e-2, torch.float32: 1e-4}


@dataclass
class ProbeResult:
    path: str  # "triton" or "reference": the backend the forward ran on
    device: str
    max_error: float  # largest absolute difference from SDPA over the probe's outputs
    tolerance: float

    @property
    def ok(self) -> bool:
        return self.max_error <= self.tolerance

    def describe(self) -> str:
        verdict = "matches" if self.ok else "DOES NOT match"
        return (f"{PATHS[self.path]} ({self.device}): a prefill and a decode step through the registered "
                f"implementation {verdict} PyTorch SDPA (max error {self.max_error:.1e}, tolerance {self.tolerance:.0e})")


class _Layer(torch.nn.Module):
    is_causal = True


def probe_attention(device: str | None = None) -> ProbeResult:
    """Run the registered implementation once on small random tensors; raises if it cannot run at all."""
    from transformers import AttentionInterface

    from kernels.attention import resolve_backend
    from kernels.hf_integration import ATTN_IMPLEMENTATION, register

    register()
    forward = AttentionInterface()[ATTN_IMPLEMENTATION]
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    dtype = torch.bfloat16 if dev.type == "cuda" else torch.float32
    generator = torch.Generator(device="cpu").manual_seed(0)

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator).to(dev, dtype)

    batch, q_heads, kv_heads, seq, dim = 2, 4, 2, 24, 64  # grouped-query, like the shipped Qwen2.5
    q, k, v = rand(batch, q_heads, seq, dim), rand(batch, kv_heads, seq, dim), rand(batch, kv_heads, seq, dim)
    padding = torch.ones(batch, seq, dtype=torch.bool, device=dev)
    padding[1, :5] = False  # the second sequence is left-padded
    layer = _Layer()
    with torch.no_grad():
        prefill, _ = forward(layer, q, k, v, padding)
        step, _ = forward(layer, q[:, :, -1:], k, v, padding)  # one new token over the cache: flash decoding

    kr, vr = k.repeat_interleave(q_heads // kv_heads, 1).float(), v.repeat_interleave(q_heads // kv_heads, 1).float()
    causal = torch.ones(seq, seq, dtype=torch.bool, device=dev).tril()
    mask = causal[None, None] & padding[:, None, None, :]
    expected = torch.nn.functional.scaled_dot_product_attention(q.float(), kr, vr, attn_mask=mask).transpose(1, 2)
    rows = padding.clone()  # rows of padded queries attend to nothing: no defined output to compare
    error = (prefill.float() - expected)[rows].abs().max()
    error = torch.maximum(error, (step.float() - expected[:, -1:]).abs().max())
    return ProbeResult(resolve_backend(None, dev), str(dev), float(error), TOLERANCE[dtype])
