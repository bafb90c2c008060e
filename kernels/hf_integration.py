"""Registration of the kernels as a transformers attention implementation.

    import kernels.hf_integration  # registers ATTN_IMPLEMENTATION
    model = AutoModelForCausalLM.from_pretrained(path, attn_implementation=kernels.hf_integration.ATTN_IMPLEMENTATION)

Two registrations are needed in transformers 5.x:

- `AttentionInterface` maps the name to the attention function every layer calls.
- `AttentionMaskInterface` maps it to the function that builds the mask. Without one, transformers hands the
  attention function no mask at all (padding would be silently ignored). Ours keeps the common case cheap:
  a plain causal pattern whose queries are the last `q_length` keys (prefill, chunked prefill and decoding with
  a dynamic cache) yields only the (batch, kv_len) key-padding mask, or None without padding, and the kernels
  apply causality themselves (bottom-right aligned). Every other pattern (sliding windows, packed sequences,
  bidirectional or custom masks, static caches) yields the full 4-D boolean mask, applied as given.

The name deliberately avoids the substring "flash": transformers treats any implementation whose name contains
it as a FlashAttention package and tries to import one at model load.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from transformers import AttentionInterface
from transformers.masking_utils import (
    AttentionMaskInterface,
    causal_mask_function,
    prepare_padding_mask,
    sdpa_mask,
)

from kernels.attention import flash_attention
from kernels.flash_decoding import flash_decoding

ATTN_IMPLEMENTATION = "argus_attention"


def argus_mask(
    batch_size: int,
    q_length: int,
    kv_length: int,
    q_offset: int | torch.Tensor = 0,
    kv_offset: int = 0,
    mask_function: Callable = causal_mask_function,
    attention_mask: torch.Tensor | None = None,
    **kwargs,
) -> torch.Tensor | None:
    """Mask builder for `AttentionMaskInterface`: None, a 2-D key-padding mask, or a 4-D boolean mask."""
    queries_at_end = isinstance(q_offset, int) and kv_offset == 0 and q_offset + q_length == kv_length
    if mask_function is causal_mask_function and queries_at_end:
        padding_mask = prepare_padding_mask(attention_mask, kv_length, kv_offset)
        if padding_mask is None:
            return None
        padding_mask = padding_mask[:, :kv_length]
        return None if bool(padding_mask.all()) else padding_mask
    for flag in ("allow_is_causal_skip", "allow_is_bidirectional_skip"):
        kwargs.pop(flag, None)
    return sdpa_mask(
        batch_size=batch_size,
        q_length=q_length,
        kv_length=kv_length,
        q_offset=q_offset,
        kv_offset=kv_offset,
        mask_function=mask_function,
        attention_mask=attention_mask,
        allow_is_causal_skip=False,
        allow_is_bidirectional_skip=False,
        **kwargs,
    )


def argus_attention_forward(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    is_causal: bool | None = None,
    sliding_window: int | None = None,
    **kwargs,
) -> tuple[torch.Tensor, None]:
    """Attention function for `AttentionInterface`: (batch, heads, seq, head_dim) in, (batch, seq, heads,
    head_dim) out, like `sdpa_attention_forward`. K/V heads are not repeated; GQA is handled in the kernels."""
    if dropout > 0.0:
        raise NotImplementedError(f"{ATTN_IMPLEMENTATION} does not implement attention dropout (got {dropout})")
    if kwargs.get("output_attentions", False):
        raise NotImplementedError(f"{ATTN_IMPLEMENTATION} never materialises attention weights; use 'eager'")

    full_mask = attention_mask is not None and attention_mask.dim() == 4
    if sliding_window is not None and not full_mask:
        # `argus_mask` always encodes sliding windows in a 4-D mask; anything else would drop the window.
        raise ValueError(f"{ATTN_IMPLEMENTATION} needs a 4-D mask for sliding-window layers")
    # A 4-D mask already holds the whole pattern, causality included.
    causal = not full_mask and (is_causal if is_causal is not None else getattr(module, "is_causal", True))

    needs_grad = torch.is_grad_enabled() and (query.requires_grad or key.requires_grad or value.requires_grad)
    if query.shape[2] == 1 and not full_mask and not needs_grad:
        out = flash_decoding(query, key, value, attention_mask=attention_mask, scale=scaling)
    else:
        out = flash_attention(query, key, value, causal=causal, attention_mask=attention_mask, scale=scaling)
    return out.transpose(1, 2).contiguous(), None


def register() -> str:
    """Register (idempotently) with transformers and return the `attn_implementation` name to load models with."""
    AttentionInterface.register(ATTN_IMPLEMENTATION, argus_attention_forward)
    AttentionMaskInterface.register(ATTN_IMPLEMENTATION, argus_mask)
    return ATTN_IMPLEMENTATION


register()
