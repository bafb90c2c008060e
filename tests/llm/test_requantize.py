"""The Q8_0 copy of a GGUF: same metadata and tensors, quantised matrices in Q8_0 holding nearly the same
values, the token embedding as it was; and when the engine serves it."""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np
import pytest
from gguf.quants import dequantize, quantize

from core.settings import Settings
from models.llm.engine_llamacpp import wants_q8_0
from models.llm.requantize import mostly_q5_0, q8_0_copy

pytestmark = pytest.mark.unit
Q5_0, Q8_0, F32 = gguf.GGMLQuantizationType.Q5_0, gguf.GGMLQuantizationType.Q8_0, gguf.GGMLQuantizationType.F32


def small_gguf(path: Path) -> dict[str, np.ndarray]:
    """A GGUF with two Q5_0 matrices (one the token embedding) and an F32 norm; their float values."""
    rng = np.random.default_rng(0)
    floats = {"token_embd.weight": rng.normal(size=(16, 64)).astype(np.float32),
              "blk.0.ffn_up.weight": rng.normal(size=(32, 64)).astype(np.float32),
              "output_norm.weight": rng.normal(size=(64,)).astype(np.float32)}
    writer = gguf.GGUFWriter(path, arch="qwen2")
    writer.add_block_count(1)
    writer.add_file_type(8)  # mostly Q5_0
    writer.add_string("general.name", "tiny")
    for name, values in floats.items():
        kind = F32 if values.ndim == 1 else Q5_0
        data = values if kind == F32 else quantize(values, kind)
        writer.add_tensor(name, data, raw_dtype=kind)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return floats


def test_the_copy_holds_the_same_model_in_q8_0(tmp_path: Path) -> None:
    src = tmp_path / "tiny.gguf"
    floats = small_gguf(src)
    assert mostly_q5_0(src)
    dst = q8_0_copy(src)
    assert dst.name == "tiny.q8_0.gguf" and q8_0_copy(src) == dst  # written once
    before, after = gguf.GGUFReader(src), gguf.GGUFReader(dst)
    assert after.fields["general.name"].contents() == "tiny" and after.fields["general.file_type"].contents() == 7
    kinds = {t.name: t.tensor_type for t in after.tensors}
    assert kinds == {"token_embd.weight": Q5_0, "blk.0.ffn_up.weight": Q8_0, "output_norm.weight": F32}
    old = {t.name: t for t in before.tensors}
    for tensor in after.tensors:
        values = dequantize(tensor.data, tensor.tensor_type).reshape(floats[tensor.name].shape)
        was = dequantize(old[tensor.name].data, old[tensor.name].tensor_type).reshape(values.shape)
        # Q5_0 values kept to within Q8_0's step (1/127 of the block's largest), far below Q5_0's own error
        assert np.max(np.abs(values - was)) <= np.max(np.abs(was)) / 127 + 1e-6
    assert not mostly_q5_0(dst)


def test_auto_serves_the_copy_only_without_avx512_and_for_mostly_q5_0(tmp_path: Path) -> None:
    src = tmp_path / "tiny.gguf"
    small_gguf(src)
    auto = Settings(home=tmp_path)
    assert wants_q8_0(auto, ["avx2", "fma"], str(src))
    assert not wants_q8_0(auto, ["avx2", "avx512f"], str(src))
    assert not wants_q8_0(auto, ["avx2"], str(q8_0_copy(src)))  # not mostly Q5_0
    assert wants_q8_0(Settings(home=tmp_path, engine_q8_0="on"), ["avx512f"], str(src))
    assert not wants_q8_0(Settings(home=tmp_path, engine_q8_0="off"), ["avx2"], str(src))
