"""The tiled PyTorch reference (the CPU path and the oracle of the Triton kernels) against naive attention,
torch's scaled_dot_product_attention and torch.autograd.gradcheck."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from kernels import flash_attention, reference
from kernels.attention import resolve_backend

pytestmark = pytest.mark.unit

# atol/rtol of the output against a float64 oracle: the reference accumulates in fp32 and rounds the
# result to the input dtype once.
TOLERANCES = {
    torch.float32: (2e-5, 2e-5),
    torch.float16: (2e-3, 2e-3),
    torch.bfloat16: (1.6e-2, 1.6e-2),
}

# (q_len, kv_len, head_dim): inside one tile, ragged over several tiles, a short query chunk after a longer
# cache (bottom-right causal alignment), and a single decoding query.
SHAPES = [(37, 37, 64), (130, 130, 128), (9, 70, 64), (1, 77, 64)]
HEADS = [(4, 4), (4, 2), (8, 1)]  # (q_heads, kv_heads): MHA, GQA 2:1, MQA


def _qkv(batch, q_heads, kv_heads, q_len, kv_len, head_dim, dtype, requires_grad=False, seed=0):
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(batch, q_heads, q_len, head_dim, generator=gen).to(dtype)
    k = torch.randn(batch, kv_heads, kv_len, head_dim, generator=gen).to(dtype)
    v = torch.randn(batch, kv_heads, kv_len, head_dim, generator=gen).to(dtype)
    return [t.requires_grad_(requires_grad) for t in (q, k, v)]


@pytest.fixture
def small_tiles(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiles of 8 so that small inputs span many Q and K/V blocks, ragged edges included."""
    monkeypatch.setattr(reference, "BLOCK_M", 8)
    monkeypatch.setattr(reference, "BLOCK_N", 8)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("heads", HEADS, ids=lambda h: f"h{h[0]}kv{h[1]}")
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"q{s[0]}k{s[1]}d{s[2]}")
def test_forward_matches_naive_and_sdpa(naive_attention, dtype, causal, heads, shape):
    q_len, kv_len, head_dim = shape
    q, k, v = _qkv(2, *heads, q_len, kv_len, head_dim, dtype)
    out = flash_attention(q, k, v, causal=causal)
    assert out.dtype == dtype and out.shape == q.shape

    atol, rtol = TOLERANCES[dtype]
    torch.testing.assert_close(out.double(), naive_attention(q, k, v, causal=causal), atol=atol, rtol=rtol)

    # sdpa's own causal flag is top-left aligned, so it gets the bottom-right pattern as an explicit mask.
    sdpa_mask = torch.ones(q_len, kv_len, dtype=torch.bool).tril(kv_len - q_len) if causal else None
    expected = F.scaled_dot_product_attention(q.float(), k.float(), v.float(), attn_mask=sdpa_mask, enable_gqa=True)
    torch.testing.assert_close(out.float(), expected, atol=atol, rtol=rtol)


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("heads", HEADS, ids=lambda h: f"h{h[0]}kv{h[1]}")
def test_many_tiles_match_naive(naive_attention, small_tiles, causal, heads):
    q, k, v = _qkv(2, *heads, 29, 45, 16, torch.float32)
    torch.testing.assert_close(
        flash_attention(q, k, v, causal=causal).double(), naive_attention(q, k, v, causal=causal), atol=2e-5, rtol=2e-5
    )


@pytest.mark.parametrize("mask_dtype", [torch.bool, torch.int64, torch.float32], ids=str)
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_key_padding(naive_attention, left_padding, small_tiles, mask_dtype, causal):
    """Left padding (the generation layout) and right padding, as bool or 0/1 masks."""
    q, k, v = _qkv(3, 4, 2, 21, 21, 16, torch.float32, requires_grad=True)
    keep = left_padding(3, 21, [0, 5, 17])
    keep[0, 18:] = False  # right padding on the first row
    out = flash_attention(q, k, v, causal=causal, attention_mask=keep.to(mask_dtype))
    expected = naive_attention(q, k, v, causal=causal, key_padding=keep)
    torch.testing.assert_close(out.double(), expected, atol=2e-5, rtol=2e-5)

    grads = torch.autograd.grad((out * out).sum(), (q, k, v))
    expected_grads = torch.autograd.grad((expected * expected).sum(), (q, k, v))
    for got, want in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(got, want.to(got.dtype), atol=1e-4, rtol=1e-4)
    # Padded keys receive no gradient.
    assert torch.all(grads[1][~keep[:, None, :, None].expand_as(k)] == 0)
    assert torch.all(grads[2][~keep[:, None, :, None].expand_as(v)] == 0)


def test_fully_masked_rows_give_zeros_not_nan(left_padding):
    """Causal + left padding: the padded query rows see no key at all."""
    q, k, v = _qkv(2, 4, 2, 12, 12, 16, torch.float32, requires_grad=True)
    keep = left_padding(2, 12, [0, 5])
    out = flash_attention(q, k, v, causal=True, attention_mask=keep)
    assert torch.all(out[1, :, :5] == 0)
    assert torch.all(out[1, :, 5:].abs().sum(-1) > 0)
    out.sum().backward()
    for grad in (q.grad, k.grad, v.grad):
        assert torch.isfinite(grad).all()
    assert torch.all(q.grad[1, :, :5] == 0)


def test_causal_queries_beyond_keys_give_zeros(naive_attention):
    """q_len > kv_len with bottom-right alignment: the first q_len - kv_len queries see nothing."""
    q, k, v = _qkv(1, 2, 2, 20, 8, 16, torch.float32, requires_grad=True)
    out = flash_attention(q, k, v, causal=True)
    assert torch.all(out[:, :, :12] == 0)
    torch.testing.assert_close(out.double(), naive_attention(q, k, v, causal=True), atol=2e-5, rtol=2e-5)
    out.sum().backward()
    assert torch.isfinite(q.grad).all() and torch.all(q.grad[:, :, :12] == 0)


@pytest.mark.parametrize("mask_heads", [1, 4], ids=["heads-broadcast", "per-head"])
def test_4d_masks_bool_and_additive(naive_attention, small_tiles, mask_heads):
    """The 4-D masks transformers builds: bool, and additive with the dtype minimum (eager) or -inf."""
    q, k, v = _qkv(2, 4, 2, 19, 23, 16, torch.float32)
    gen = torch.Generator().manual_seed(1)
    keep = torch.rand(2, mask_heads, 19, 23, generator=gen) > 0.4
    keep[1, 0, 3] = False  # one fully masked row
    out_bool = flash_attention(q, k, v, attention_mask=keep)
    torch.testing.assert_close(out_bool.double(), naive_attention(q, k, v, mask=keep), atol=2e-5, rtol=2e-5)
    assert torch.all(out_bool[1, :, 3] == 0) if mask_heads == 1 else torch.all(out_bool[1, 0, 3] == 0)

    for fill in (torch.finfo(torch.float32).min, float("-inf")):
        additive = torch.zeros(keep.shape).masked_fill(~keep, fill)
        torch.testing.assert_close(flash_attention(q, k, v, attention_mask=additive), out_bool, atol=1e-6, rtol=1e-6)


def test_additive_bias_values(naive_attention, small_tiles):
    """Finite additive values are a bias on the scores, not just a mask."""
    q, k, v = _qkv(2, 2, 2, 13, 13, 16, torch.float32, requires_grad=True)
    bias = torch.randn(2, 2, 13, 13, generator=torch.Generator().manual_seed(2))
    out = flash_attention(q, k, v, causal=True, attention_mask=bias)
    expected = naive_attention(q, k, v, causal=True, mask=bias)
    torch.testing.assert_close(out.double(), expected, atol=2e-5, rtol=2e-5)
    grads = torch.autograd.grad(out.sum(), (q, k, v))
    expected_grads = torch.autograd.grad(expected.sum(), (q, k, v))
    for got, want in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(got, want.to(got.dtype), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("heads", HEADS, ids=lambda h: f"h{h[0]}kv{h[1]}")
@pytest.mark.parametrize("lengths", [(33, 33), (7, 40)], ids=["square", "chunk"])
def test_gradients_match_sdpa(small_tiles, causal, heads, lengths):
    """dQ, dK, dV of the hand-written backward against autograd through sdpa (float32)."""
    q_len, kv_len = lengths
    q, k, v = _qkv(2, *heads, q_len, kv_len, 32, torch.float32, requires_grad=True)
    grad_out = torch.randn(2, heads[0], q_len, 32, generator=torch.Generator().manual_seed(3))
    out = flash_attention(q, k, v, causal=causal)
    grads = torch.autograd.grad(out, (q, k, v), grad_out)

    mask = torch.ones(q_len, kv_len, dtype=torch.bool).tril(kv_len - q_len) if causal else None
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True)
    expected_grads = torch.autograd.grad(expected, (q, k, v), grad_out)
    for got, want in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize(
    "case",
    [
        {"heads": (2, 2), "lengths": (5, 5), "causal": False, "mask": None},
        {"heads": (2, 1), "lengths": (7, 7), "causal": True, "mask": "left-padding"},
        {"heads": (3, 1), "lengths": (4, 9), "causal": True, "mask": None},
        {"heads": (2, 1), "lengths": (5, 6), "causal": False, "mask": "bias"},
    ],
    ids=["mha", "gqa-causal-padding", "mqa-chunk", "bias"],
)
def test_gradcheck_float64(monkeypatch, case):
    # Tiles of 4 so that the backward's block loops and causal skips run on these tiny shapes.
    monkeypatch.setattr(reference, "BLOCK_M", 4)
    monkeypatch.setattr(reference, "BLOCK_N", 4)
    q_len, kv_len = case["lengths"]
    q, k, v = _qkv(2, *case["heads"], q_len, kv_len, 4, torch.float64, requires_grad=True)
    mask = None
    if case["mask"] == "left-padding":
        mask = torch.arange(kv_len)[None, :] >= torch.tensor([[0], [3]])
    elif case["mask"] == "bias":
        mask = torch.randn(2, 1, q_len, kv_len, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
        mask[0, 0, 1, 2:] = float("-inf")

    def fn(q, k, v):
        return flash_attention(q, k, v, causal=case["causal"], attention_mask=mask)

    assert torch.autograd.gradcheck(fn, (q, k, v), eps=1e-6, atol=1e-5)


def test_default_scale_and_explicit_scale(naive_attention):
    q, k, v = _qkv(1, 2, 2, 10, 10, 16, torch.float32)
    torch.testing.assert_close(
        flash_attention(q, k, v, scale=0.3).double(), naive_attention(q, k, v, scale=0.3), atol=2e-5, rtol=2e-5
    )
    assert not torch.allclose(flash_attention(q, k, v, scale=0.3), flash_attention(q, k, v))


def test_backend_dispatch(monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    assert resolve_backend(None, torch.device("cpu")) == "reference"
    assert resolve_backend(None, torch.device("cuda")) == "triton"
    with pytest.raises(RuntimeError, match="TRITON_INTERPRET"):
        resolve_backend("triton", torch.device("cpu"))
    with pytest.raises(ValueError, match="unknown backend"):
        resolve_backend("cuda", torch.device("cpu"))


@pytest.mark.parametrize(
    "shapes, mask, message",
    [
        (((1, 4, 8, 16), (1, 3, 8, 16), (1, 3, 8, 16)), None, "multiple of kv_heads"),
        (((1, 2, 8, 16), (1, 2, 8, 32), (1, 2, 8, 32)), None, "head_dim"),
        (((1, 2, 8, 16), (1, 2, 8, 16), (1, 2, 9, 16)), None, "same shape"),
        (((2, 2, 8, 16), (2, 2, 8, 16), (2, 2, 8, 16)), torch.ones(2, 7, dtype=torch.bool), "key padding"),
        (((2, 2, 8, 16), (2, 2, 8, 16), (2, 2, 8, 16)), torch.ones(2, 3, 8, 8, dtype=torch.bool), "broadcast"),
    ],
)
def test_input_validation(shapes, mask, message):
    q, k, v = (torch.randn(s) for s in shapes)
    with pytest.raises(ValueError, match=message):
        flash_attention(q, k, v, attention_mask=mask)


def test_triton_backend_rejects_unsupported_dtype_and_head_dim(monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    q = torch.randn(1, 2, 8, 64)
    with pytest.raises(ValueError, match="float16 or bfloat16"):
        flash_attention(q, q, q, backend="triton")
    q = torch.randn(1, 2, 8, 32, dtype=torch.float16)
    with pytest.raises(ValueError, match="head_dim"):
        flash_attention(q, q, q, backend="triton")
