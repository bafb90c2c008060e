"""Custom attention kernels: FlashAttention-2 (Triton on CUDA, a tiled PyTorch reference elsewhere),
flash-decoding, and their registration as a transformers attention implementation.

This package must stay importable without transformers: transformers probes for a package named `kernels`
while it is being imported, so importing transformers from here would be circular. The registration lives
in `kernels.hf_integration`.
"""

from kernels.attention import flash_attention
from kernels.flash_decoding import flash_decoding

__all__ = ["flash_attention", "flash_decoding"]
