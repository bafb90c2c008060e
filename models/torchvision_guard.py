"""Keep PyPI's CUDA-only torchvision from breaking imports on CPU torch.

The torchvision wheel matching torch 2.13 is a CUDA build: its compiled ops fail to load,
and its Python side then fails with "operator torchvision::nms does not exist", which
also breaks `transformers`. The setup step uninstalls it; when it is installed anyway,
defining the two operator schemas before the first import lets it import (its ops are
never called on the text and vision paths Argus uses). Import this module before
anything that may import torchvision.
"""

from __future__ import annotations

import importlib.util

import torch

_library: torch.library.Library | None = None  # keep a reference: dropping it undefines the ops


def torchvision_installed() -> bool:
    return importlib.util.find_spec("torchvision") is not None


def _ops_defined() -> bool:
    try:
        torch._C._dispatch_find_schema_or_throw("torchvision::nms", "")
        return True
    except RuntimeError:
        return False


def install() -> bool:
    """Define `torchvision::nms` and `torchvision::qnms` if torchvision is present and they are not."""
    global _library
    if not torchvision_installed() or _ops_defined():
        return False
    _library = torch.library.Library("torchvision", "DEF")
    _library.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _library.define("qnms(Tensor qdets, Tensor scores, float iou_threshold) -> Tensor")
    return True


install()
