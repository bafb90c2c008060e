"""Runs the Triton kernels under Triton's interpreter on CPU tensors; driven by test_kernels_triton_interpreter.py.

    TRITON_INTERPRET=1 python interpret_runner.py cases.pt results.pt

The interpreter is chosen when triton is imported, which is why this runs in its own process. It reads a list
of cases (inputs and options) and writes the kernels' outputs; the comparison against the reference happens
in the test process.
"""

from __future__ import annotations

import os
import sys

import torch


def _patch_interpreter_bf16_dot() -> None:
    """Triton's interpreter stores bfloat16 as raw uint16 and its `tl.dot` multiplies those bit patterns
    (bfloat16 is documented as unsupported there, triton-lang/triton#11584). Upcast bfloat16 dot operands to
    float32 first, which is what the GPU's tensor cores compute (exact products, fp32 accumulation), so that
    the bfloat16 paths of the kernels can be checked on CPU too."""
    import triton.language as tl
    from triton.runtime import interpreter

    create_dot = interpreter.InterpreterBuilder.create_dot

    def create_dot_bf16(self, a, b, d, input_precision, max_num_imprecise_acc):
        a = self.cast_impl(a, tl.float32) if a.dtype == tl.bfloat16 else a
        b = self.cast_impl(b, tl.float32) if b.dtype == tl.bfloat16 else b
        return create_dot(self, a, b, d, input_precision, max_num_imprecise_acc)

    interpreter.InterpreterBuilder.create_dot = create_dot_bf16


def run_case(case: dict) -> dict:
    from kernels import flash_attention, triton_flash

    q, k, v = case["q"], case["k"], case["v"]
    if case["kind"] == "decode":
        out = triton_flash.decode_forward(q, k, v, case["key_padding"], case["scale"], case["split_size"], block_n=16)
        return {"out": out}
    if case["kind"] == "public":
        q, k, v = (t.clone().requires_grad_(True) for t in (q, k, v))
        out = flash_attention(q, k, v, causal=case["causal"], attention_mask=case["mask"], backend="triton")
        dq, dk, dv = torch.autograd.grad(out, (q, k, v), case["grad_out"])
        return {"out": out.detach(), "dq": dq, "dk": dk, "dv": dv}
    blocks = {"block_m": case["block_m"], "block_n": case["block_n"]}
    args = (case["key_padding"], case["bias"], case["causal"], case["scale"])
    out, lse = triton_flash.attention_forward(q, k, v, *args, **blocks)
    dq, dk, dv = triton_flash.attention_backward(case["grad_out"], q, k, v, out, lse, *args, **blocks)
    return {"out": out, "lse": lse, "dq": dq, "dk": dk, "dv": dv}


def main(cases_path: str, results_path: str) -> None:
    if os.environ.get("TRITON_INTERPRET") != "1":
        raise SystemExit("set TRITON_INTERPRET=1 before running this script")
    _patch_interpreter_bf16_dot()
    cases = torch.load(cases_path)
    torch.save({name: run_case(case) for name, case in cases.items()}, results_path)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
