"""Attention: one window convention, and every backend computing the same thing."""

import pytest
import torch

from glassworks.model.attention import (
    CausalMask,
    SlotMask,
    available_backends,
    dense_mask,
    get_backend,
    positions_in_segments,
    segment_lengths,
    segments_from_starts,
    xformers_bias,
)
from glassworks.model.transformer import build

CPU = torch.device("cpu")


def test_window_convention_query_sees_itself_and_w_minus_1_before():
    mask = dense_mask(CausalMask(window=3), 6)[0, 0]
    assert mask.tolist()[5] == [False, False, False, True, True, True]
    assert mask.tolist()[1] == [True, True, False, False, False, False]
    assert mask.sum(1).tolist() == [1, 2, 3, 3, 3, 3]


def test_slot_mask_reads_positions_not_order():
    # rotated cache of W=4 holding positions 4 5 6 3, one empty slot marked -1, then query 7
    q_pos = torch.tensor([[7]])
    k_pos = torch.tensor([[4, 5, 6, 3, -1, 7]])
    assert dense_mask(SlotMask(q_pos, k_pos, window=4))[0, 0, 0].tolist() == [True, True, True, False, False, True]


def test_segments_positions_and_lengths():
    seg = segments_from_starts([[0, 3], [4]], 6)
    assert seg.tolist() == [[0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 1, 1]]
    assert positions_in_segments(seg).tolist() == [[0, 1, 2, 0, 1, 2], [0, 1, 2, 3, 0, 1]]
    assert segment_lengths(seg) == [3, 3, 4, 2]
    with pytest.raises(ValueError, match="outside a sequence of 6"):
        segments_from_starts([[6]], 6)


def _block_diagonal(mask: torch.Tensor) -> torch.Tensor:
    """[B, 1, S, S] per-row masks -> the [B*S, B*S] mask of the flattened batch."""
    B, _, S, _ = mask.shape
    return torch.block_diag(*(mask[b, 0] for b in range(B))) if mask.shape[0] > 1 else mask[0, 0]


@pytest.mark.parametrize("window", [None, 3, 5, 40])
@pytest.mark.parametrize("starts", [None, [[0, 4, 9], [0, 1, 2, 11]], [[0], [7]]])
def test_xformers_bias_materializes_to_the_sdpa_mask(window, starts):
    S = 16
    seg = segments_from_starts(starts, S) if starts else None
    mask = CausalMask(window=window, segment_ids=seg)
    bias = xformers_bias(mask, S)
    expected = dense_mask(mask, S)
    if seg is None:
        materialized = bias.materialize((S, S))
        assert torch.equal(torch.isfinite(materialized), expected[0, 0])
    else:  # packed: one block-diagonal row over the flattened batch, nothing across rows
        materialized = bias.materialize((2 * S, 2 * S))
        assert torch.equal(torch.isfinite(materialized), _block_diagonal(expected.expand(2, 1, S, S)))


def test_cpu_backends_are_sdpa_and_flex_and_xformers_needs_cuda():
    assert available_backends("cpu") == ["sdpa", "flex"]
    assert get_backend("auto", "cpu").name == "sdpa"
    with pytest.raises(ValueError, match="needs a CUDA device"):
        get_backend("xformers", "cpu")
    with pytest.raises(ValueError, match="unknown attention backend"):
        get_backend("fast", "cpu")


def _random_qkv(B=2, S=40, H=4, Hkv=2, D=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(B, S, H, D, generator=g), torch.randn(B, S, Hkv, D, generator=g),
            torch.randn(B, S, Hkv, D, generator=g))


def _reference(q, k, v, allowed):
    """Plain softmax attention with repeated KV heads: what every backend must equal."""
    G = q.shape[2] // k.shape[2]
    k, v = k.repeat_interleave(G, dim=2), v.repeat_interleave(G, dim=2)
    scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / q.shape[-1] ** 0.5
    scores = scores.masked_fill(~allowed, float("-inf"))
    return torch.einsum("bhqk,bkhd->bqhd", scores.softmax(-1), v)


@pytest.mark.parametrize("backend", available_backends(CPU))
@pytest.mark.parametrize("window", [None, 8, 64])
@pytest.mark.parametrize("packed", [False, True])
def test_every_backend_equals_reference_attention(backend, window, packed):
    q, k, v = _random_qkv()
    seg = segments_from_starts([[0, 13, 30], [0, 25]], 40) if packed else None
    mask = CausalMask(window=window, segment_ids=seg)
    out = get_backend(backend, CPU).prepare(mask, 40, CPU)(q, k, v)
    torch.testing.assert_close(out, _reference(q, k, v, dense_mask(mask, 40)), atol=1e-5, rtol=1e-5)


def test_sdpa_with_repeated_kv_heads_equals_grouped_queries():
    """The CUDA masked path repeats KV heads; the same function on CPU must not change results."""
    from glassworks.model.attention import _sdpa

    q, k, v = _random_qkv()
    allowed = dense_mask(CausalMask(window=8), 40)
    torch.testing.assert_close(_sdpa(q, k, v, allowed, False, repeat_kv=True),
                               _sdpa(q, k, v, allowed, False, repeat_kv=False), atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("backend", available_backends(CPU))
def test_every_backend_gives_the_same_model_outputs_and_gradients(backend, small_model, tokens):
    seg = segments_from_starts([[0, 30], [0, 60, 61]], tokens.shape[1])
    with torch.no_grad():
        reference = [small_model(tokens), small_model(tokens, segment_ids=seg)]
        small_model.set_attention_backend(backend)
        torch.testing.assert_close(small_model(tokens), reference[0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(small_model(tokens, segment_ids=seg), reference[1], atol=1e-5, rtol=1e-5)

    if backend == "flex":
        return  # FlexAttention has no backward on CPU (torch raises); its gradients are a GPU matter
    grads = {}
    for name in ("sdpa", backend):
        small_model.zero_grad()
        small_model.set_attention_backend(name)
        small_model(tokens, segment_ids=seg).logsumexp(-1).mean().backward()
        grads[name] = small_model.layers[0].attention.wq.weight.grad.clone()
    torch.testing.assert_close(grads[backend], grads["sdpa"], atol=1e-5, rtol=1e-4)


def test_the_window_changes_the_output_once_it_binds(small_config, tokens):
    import dataclasses

    windowed = build(small_config, seed=0).eval()
    full = build(dataclasses.replace(small_config, window=None), seed=0).eval()
    with torch.no_grad():
        a, b = windowed(tokens), full(tokens)
    W = small_config.window
    torch.testing.assert_close(a[:, :W], b[:, :W])  # nothing to mask yet
    assert (a[:, W:] - b[:, W:]).abs().max() > 1e-3


def test_a_packed_document_is_computed_as_if_alone(small_model, tokens):
    seg = segments_from_starts([[0, 37], [0]], tokens.shape[1])
    with torch.no_grad():
        packed = small_model(tokens, segment_ids=seg)
        alone = small_model(tokens[:1, 37:])
        first = small_model(tokens[:1, :37])
    torch.testing.assert_close(packed[0, 37:], alone[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(packed[0, :37], first[0], atol=1e-5, rtol=1e-5)
