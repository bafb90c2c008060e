"""The Triton kernels themselves, run by Triton's interpreter (TRITON_INTERPRET=1) on CPU, against the reference.

TRITON_INTERPRET must be set before triton is imported, so the kernels run in a child process
(interpret_runner.py); this process keeps its normal environment and holds the oracle. Shapes are tiny and the
tiles small (16/32) so that several Q and K/V blocks, ragged edges, the causal skip and the left-padding skip are
all exercised while the whole module stays within seconds of interpretation.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from kernels import reference

pytestmark = pytest.mark.integration

RUNNER = Path(__file__).with_name("interpret_runner.py")
ROOT = Path(__file__).resolve().parents[2]

# (atol, rtol) against the fp32 reference on the same half-precision inputs. The kernels feed P and dS to
# tensor-core dots in the input dtype, the reference keeps them in fp32.
TOLERANCES = {torch.float16: (4e-3, 2e-2), torch.bfloat16: (3e-2, 5e-2)}


def _tensors(batch, q_heads, kv_heads, q_len, kv_len, head_dim, dtype, seed):
    gen = torch.Generator().manual_seed(seed)
    shapes = [(batch, q_heads, q_len, head_dim), (batch, kv_heads, kv_len, head_dim), (batch, kv_heads, kv_len, head_dim)]
    q, k, v = (torch.randn(s, generator=gen).to(dtype) for s in shapes)
    grad_out = torch.randn(batch, q_heads, q_len, head_dim, generator=gen).to(dtype)
    return q, k, v, grad_out


def _kernel_case(*, dims, dtype, causal, blocks, seed, pads=None, bias_keep=None) -> dict:
    batch, q_heads, kv_heads, q_len, kv_len, head_dim = dims
    q, k, v, grad_out = _tensors(*dims, dtype, seed)
    key_padding = None if pads is None else torch.arange(kv_len)[None, :] >= torch.tensor(pads)[:, None]
    bias = None
    if bias_keep is not None:
        bias = torch.zeros(bias_keep.shape).masked_fill(~bias_keep, float("-inf")).expand(batch, q_heads, q_len, kv_len)
    return {
        "kind": "kernels", "q": q, "k": k, "v": v, "grad_out": grad_out, "key_padding": key_padding,
        "bias": bias, "causal": causal, "scale": head_dim**-0.5, "block_m": blocks[0], "block_n": blocks[1],
    }


def _cases() -> dict[str, dict]:
    scattered = torch.rand(2, 1, 33, 33, generator=torch.Generator().manual_seed(9)) > 0.3
    scattered[0, 0, 5] = False  # a fully masked row
    cases = {
        "fp16-d64-gqa2-causal-leftpad": _kernel_case(
            dims=(2, 4, 2, 40, 40, 64), dtype=torch.float16, causal=True, blocks=(16, 16), seed=0, pads=[0, 21]
        ),
        "fp16-d128-mqa-causal-chunk": _kernel_case(
            dims=(1, 4, 1, 24, 56, 128), dtype=torch.float16, causal=True, blocks=(16, 32), seed=1
        ),
        "fp16-d64-mha-4d-mask": _kernel_case(
            dims=(2, 2, 2, 33, 33, 64), dtype=torch.float16, causal=False, blocks=(16, 16), seed=2, bias_keep=scattered
        ),
        "fp16-d64-gqa3-causal-more-queries-than-keys": _kernel_case(
            dims=(1, 3, 1, 40, 24, 64), dtype=torch.float16, causal=True, blocks=(16, 16), seed=3
        ),
        "bf16-d128-gqa2-causal-leftpad": _kernel_case(
            dims=(2, 2, 1, 48, 48, 128), dtype=torch.bfloat16, causal=True, blocks=(16, 16), seed=4, pads=[33, 0]
        ),
        "bf16-d64-mha-full-rightpad": _kernel_case(
            dims=(1, 2, 2, 30, 30, 64), dtype=torch.bfloat16, causal=False, blocks=(16, 16), seed=5, pads=[0]
        ),
    }
    cases["bf16-d64-mha-full-rightpad"]["key_padding"][0, 25:] = False

    # The public entry point with the kernels' default tiles: mask normalisation, autograd.Function, dispatch.
    q, k, v, grad_out = _tensors(2, 4, 2, 64, 64, 64, torch.float16, seed=6)
    cases["public-api-fp16-d64-gqa2-causal-leftpad"] = {
        "kind": "public", "q": q, "k": k, "v": v, "grad_out": grad_out, "causal": True,
        "mask": (torch.arange(64)[None, :] >= torch.tensor([[0], [13]])).long(),
    }

    for name, dims, dtype, pads, split in [
        ("decode-fp16-d64-gqa4-leftpad", (3, 8, 2, 1, 100, 64), torch.float16, [0, 70, 100], 24),
        ("decode-bf16-d128-mha", (1, 4, 4, 1, 70, 128), torch.bfloat16, None, 48),
    ]:
        q, k, v, _ = _tensors(*dims, dtype, seed=7)
        key_padding = None if pads is None else torch.arange(dims[4])[None, :] >= torch.tensor(pads)[:, None]
        cases[name] = {
            "kind": "decode", "q": q, "k": k, "v": v, "key_padding": key_padding, "scale": dims[5] ** -0.5,
            "split_size": split,
        }
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def interpreted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """All cases in one child process, so triton and the interpreter start once."""
    workdir = tmp_path_factory.mktemp("triton_interpret")
    cases_path, results_path = workdir / "cases.pt", workdir / "results.pt"
    torch.save(CASES, cases_path)
    env = {**os.environ, "TRITON_INTERPRET": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, str(RUNNER), str(cases_path), str(results_path)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, f"interpreter run failed:\n{proc.stdout}\n{proc.stderr}"
    return torch.load(results_path)


def _assert_close(got: torch.Tensor, want: torch.Tensor, dtype: torch.dtype, what: str) -> None:
    assert got.dtype == want.dtype and got.shape == want.shape, what
    assert torch.isfinite(got).all(), f"{what} has non-finite values"
    atol, rtol = TOLERANCES[dtype]
    torch.testing.assert_close(got.float(), want.float(), atol=atol, rtol=rtol, msg=what)


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c["kind"] == "kernels"])
def test_forward_and_backward_kernels(interpreted, name):
    case, got = CASES[name], interpreted[name]
    args = (case["key_padding"], case["bias"], case["causal"], case["scale"])
    out, lse = reference.attention_forward(case["q"], case["k"], case["v"], *args)
    grads = reference.attention_backward(case["grad_out"], case["q"], case["k"], case["v"], out, lse, *args)

    dtype = case["q"].dtype
    _assert_close(got["out"], out, dtype, "out")
    # Rows that see no key: zero output and LSE = +inf in both implementations.
    empty = torch.isinf(lse)
    assert torch.equal(torch.isinf(got["lse"]), empty)
    torch.testing.assert_close(got["lse"][~empty], lse[~empty].float(), atol=1e-4, rtol=1e-4)
    assert torch.all(got["out"][empty] == 0)
    for key, want in zip(("dq", "dk", "dv"), grads, strict=True):
        _assert_close(got[key], want, dtype, key)


def test_fully_masked_rows_are_covered():
    """The cases above include rows that see no key (left padding under causal, q_len > kv_len, a masked row)."""
    names = ["fp16-d64-gqa2-causal-leftpad", "fp16-d64-gqa3-causal-more-queries-than-keys", "fp16-d64-mha-4d-mask"]
    for name in names:
        case = CASES[name]
        args = (case["key_padding"], case["bias"], case["causal"], case["scale"])
        _, lse = reference.attention_forward(case["q"], case["k"], case["v"], *args)
        assert torch.isinf(lse).any(), name


def test_public_api_on_triton_backend(interpreted, naive_attention):
    name = "public-api-fp16-d64-gqa2-causal-leftpad"
    case, got = CASES[name], interpreted[name]
    q, k, v = (case[t].float().requires_grad_(True) for t in ("q", "k", "v"))
    expected = naive_attention(q, k, v, causal=True, key_padding=case["mask"])
    grads = torch.autograd.grad(expected, (q, k, v), case["grad_out"].double())
    _assert_close(got["out"], expected.to(torch.float16), torch.float16, "out")
    for key, want in zip(("dq", "dk", "dv"), grads, strict=True):
        _assert_close(got[key], want.to(torch.float16), torch.float16, key)


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c["kind"] == "decode"])
def test_flash_decoding_kernel(interpreted, name):
    case, got = CASES[name], interpreted[name]
    expected = reference.decode_forward(case["q"], case["k"], case["v"], case["key_padding"], case["scale"], case["split_size"])
    _assert_close(got["out"], expected, case["q"].dtype, "out")
    if case["key_padding"] is not None:
        fully_padded = ~case["key_padding"].any(dim=1)
        assert torch.all(got["out"][fully_padded] == 0)
