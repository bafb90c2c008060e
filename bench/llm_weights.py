"""Weight bytes a generated token reads, from a GGUF file's header (no tensor data is loaded).

Decoding one token reads every weight matrix once, except the token embedding, of
which only one row is looked up (when the file has a separate output matrix). The
header is parsed directly: gguf-py's reader maps every tensor and took ~90 s on a busy
2-core machine.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9


def _read(fh: BinaryIO, fmt: str) -> int:
    size = struct.calcsize("<" + fmt)
    return struct.unpack("<" + fmt, fh.read(size))[0]


def _skip_value(fh: BinaryIO, kind: int) -> None:
    if kind == _STRING:
        fh.seek(_read(fh, "Q"), 1)
    elif kind == _ARRAY:
        inner, count = _read(fh, "I"), _read(fh, "Q")
        if inner in _SCALARS:
            fh.seek(struct.calcsize("<" + _SCALARS[inner]) * count, 1)
        else:
            for _ in range(count):
                _skip_value(fh, inner)
    else:
        fh.seek(struct.calcsize("<" + _SCALARS[kind]), 1)


def tensor_sizes(path: Path) -> dict[str, tuple[int, int]]:
    """name -> (elements, bytes) of every tensor in a GGUF v2/v3 file."""
    sizes: dict[str, tuple[int, int]] = {}
    with path.open("rb") as fh:
        if fh.read(4) != b"GGUF":
            raise ValueError(f"{path} is not a GGUF file")
        _read(fh, "I")  # version
        n_tensors, n_kv = _read(fh, "Q"), _read(fh, "Q")
        for _ in range(n_kv):
            fh.seek(_read(fh, "Q"), 1)  # key
            _skip_value(fh, _read(fh, "I"))
        for _ in range(n_tensors):
            name = fh.read(_read(fh, "Q")).decode()
            dims = [_read(fh, "Q") for _ in range(_read(fh, "I"))]
            kind = GGMLQuantizationType(_read(fh, "I"))
            _read(fh, "Q")  # offset
            elements = 1
            for d in dims:
                elements *= d
            block, type_size = GGML_QUANT_SIZES[kind]
            sizes[name] = (elements, elements // block * type_size)
    return sizes


def bytes_per_token(path: Path) -> dict[str, int]:
    """Weight bytes read per generated token: quantised (as llama.cpp runs it) and at float32 (vLLM-CPU)."""
    sizes = tensor_sizes(path)
    total_bytes = sum(b for _, b in sizes.values())
    embedding_elements, embedding_bytes = sizes.get("token_embd.weight", (0, 0))
    separate_output = "output.weight" in sizes
    quantised = total_bytes - embedding_bytes if separate_output else total_bytes
    # The Hugging Face model ties the output matrix to the embedding: its parameters are
    # the GGUF's without the separate output copy, and the tied matrix is read once per token.
    params = sum(e for e, _ in sizes.values()) - (sizes["output.weight"][0] if separate_output else 0)
    return {"gguf_bytes": quantised, "float32_bytes": params * 4, "parameters": params}
