"""The kernel probe `argus doctor` runs: it passes the real registered implementation and catches a wrong one."""

from __future__ import annotations

import pytest
import torch

import kernels.hf_integration as hf_integration
from app.doctor import attention_check, probe_check
from kernels.probe import probe_attention

pytestmark = pytest.mark.unit


def test_the_registered_implementation_passes_the_probe() -> None:
    result = probe_attention("cpu")
    assert result.ok and result.path == "reference" and result.max_error < 1e-5
    assert "the tiled PyTorch reference (cpu)" in result.describe() and "matches" in result.describe()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_on_a_gpu_the_probe_runs_triton() -> None:
    result = probe_attention("cuda")
    assert result.ok and result.path == "triton" and "Triton on CUDA" in result.describe()


def test_a_wrong_prefill_kernel_fails_the_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    real = hf_integration.flash_attention
    # Forgets causality: every query sees the future keys too.
    monkeypatch.setattr(hf_integration, "flash_attention", lambda q, k, v, causal, **kw: real(q, k, v, causal=False, **kw))
    result = probe_attention("cpu")
    assert not result.ok and "DOES NOT match" in result.describe()
    check = probe_check()
    assert check.state == "failed" and check.fix


def test_a_decode_kernel_that_ignores_padding_fails_the_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    real = hf_integration.flash_decoding
    monkeypatch.setattr(hf_integration, "flash_decoding",
                        lambda q, k, v, attention_mask=None, scale=None: real(q, k, v, attention_mask=None, scale=scale))
    assert not probe_attention("cpu").ok


def test_a_kernel_that_cannot_run_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("no kernel image is available for execution on the device")

    monkeypatch.setattr(hf_integration, "flash_attention", broken)
    check = probe_check()
    assert check.state == "failed" and "no kernel image" in check.detail


def test_the_doctor_probes_once_per_process() -> None:
    first = attention_check()
    assert first.state == "ok" and attention_check() is first


def test_the_api_does_not_wait_for_a_running_probe() -> None:
    import threading

    import app.doctor as doctor

    started, release = threading.Event(), threading.Event()

    def slow_probe():
        started.set()
        release.wait(30)
        return doctor.Check("attention kernels", "ok", "probed")

    saved = list(doctor._attention)
    doctor._attention.clear()
    original = doctor.probe_check
    doctor.probe_check = slow_probe
    try:
        doctor.warm_attention_check()
        assert started.wait(30)
        assert doctor.attention_check(wait=False) is doctor.PROBING  # the API answers at once
        release.set()
        assert doctor.attention_check().detail == "probed"  # the CLI waits for the finding
    finally:
        release.set()
        doctor.probe_check = original
        doctor._attention[:] = saved
