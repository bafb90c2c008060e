"""A Q8_0 copy of a GGUF whose matrices are mostly Q5_0, for CPUs without AVX-512.

llama.cpp prefills Q8_0 matrices with faster kernels than Q5_0 ones on AVX2 (the 0.5B, whose file is
mostly Q5_0: 192-208 against 164-170 prompt tokens/s with two threads, generation 39-43 against 44-46
tokens/s; docs/engine.md), while with AVX-512 both run alike. Every quantised matrix but the token
embedding (read one row a token) is re-quantised to Q8_0 with gguf-py: a Q5_0 block's values lie on a
coarser grid of the same range, so Q8_0 holds them nearly exactly. The copy is written once, beside the
original (~15 s and 625 MB for the 0.5B), by `argus models prepare` or on the engine's first start.
"""

from __future__ import annotations

import os
from pathlib import Path

Q8_0_SUFFIX = ".q8_0.gguf"
MOSTLY_Q8_0 = 7  # general.file_type of a mostly-Q8_0 file (llama_ftype)
KEEP_AS_IS = ("token_embd.weight",)


def mostly_q5_0(path: Path) -> bool:
    """Whether Q5_0 matrices hold most of the file's bytes (the files this copy helps)."""
    import gguf

    reader = gguf.GGUFReader(path)
    sizes: dict[str, int] = {}
    for tensor in reader.tensors:
        sizes[tensor.tensor_type.name] = sizes.get(tensor.tensor_type.name, 0) + int(tensor.n_bytes)
    return sizes.get("Q5_0", 0) * 2 > sum(sizes.values())


def q8_0_copy(src: Path) -> Path:
    """`src` with its quantised matrices in Q8_0, written once beside it; the copy's path."""
    dst = src.with_name(src.name.removesuffix(".gguf") + Q8_0_SUFFIX)
    if dst.is_file():
        return dst
    tmp = dst.with_name(f".{dst.name}.tmp-{os.getpid()}")
    try:
        _convert(src, tmp)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return dst


def _convert(src: Path, dst: Path) -> None:
    import gguf
    from gguf.quants import dequantize, quantize

    plain = {gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16, gguf.GGMLQuantizationType.BF16,
             gguf.GGMLQuantizationType.Q8_0}
    reader = gguf.GGUFReader(src)
    writer = gguf.GGUFWriter(dst, arch=reader.fields[gguf.Keys.General.ARCHITECTURE].contents())
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue  # written by the writer itself
        kind = field.types[0]
        value = MOSTLY_Q8_0 if field.name == gguf.Keys.General.FILE_TYPE else field.contents()
        writer.add_key_value(field.name, value, kind,
                             sub_type=field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None)
    tensors = []
    for tensor in reader.tensors:
        if tensor.tensor_type in plain or tensor.name in KEEP_AS_IS:
            tensors.append((tensor.name, tensor.data, tensor.tensor_type))
        else:
            values = dequantize(tensor.data, tensor.tensor_type)
            tensors.append((tensor.name, quantize(values, gguf.GGMLQuantizationType.Q8_0),
                            gguf.GGMLQuantizationType.Q8_0))
    for name, data, kind in tensors:
        writer.add_tensor_info(name, data.shape, data.dtype, data.nbytes, kind)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for _, data, _ in tensors:
        writer.write_tensor_data(data)
    writer.close()
