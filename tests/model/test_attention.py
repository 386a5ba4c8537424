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


# --- the xformers path on the CPU, against a stand-in kernel that enforces xformers' flags ----
#
# xformers has no CPU kernels. The fixture below makes xformers' dispatch see the CPU as it
# sees a CUDA device (the CUDA operator priority list, "cpu" among each operator's devices, the
# operators reported as built) and replaces memory_efficient_attention by a stand-in that
# refuses what the operator xformers picks would refuse, then computes attention in plain
# torch. glassworks' bias, layout and dispatch questions run unchanged.


def _torch_attention(q, k, v, bias):
    """Softmax attention over xformers-layout inputs (BMHK or BMGHK), computed in fp32."""
    shape = q.shape[:-1] + (v.shape[-1],)
    q, k, v = (t.flatten(2, 3) if t.ndim == 5 else t for t in (q, k, v))  # (B, M, heads, K)
    scores = torch.einsum("bqhd,bkhd->bhqk", q.float(), k.float()) * q.shape[-1] ** -0.5
    if bias is not None:
        scores = scores + bias.materialize((q.shape[1], k.shape[1]), dtype=torch.float32, device=q.device)
    out = torch.einsum("bhqk,bkhd->bqhd", scores.softmax(-1), v.float())
    return out.to(q.dtype).reshape(shape)


def _enforce(op, inp):
    """What the operator's capability flags promise, checked here rather than trusted."""
    if inp.query.ndim == 5 and not op.SUPPORTS_BMGHK:
        raise NotImplementedError(f"{op.NAME} does not take the 5-D BMGHK layout (SUPPORTS_BMGHK = False)")
    if inp.query.dtype not in op.SUPPORTED_DTYPES:
        raise NotImplementedError(f"{op.NAME}: dtype {inp.query.dtype} not in {op.SUPPORTED_DTYPES}")
    if type(inp.attn_bias) not in op.SUPPORTED_ATTN_BIAS_TYPES:
        raise NotImplementedError(f"{op.NAME}: bias {type(inp.attn_bias).__name__} not supported")
    if not op.SUPPORTED_MIN_K <= inp.query.shape[-1] <= op.SUPPORTED_MAX_K:
        raise NotImplementedError(f"{op.NAME}: head size {inp.query.shape[-1]} out of range")


@pytest.fixture
def xformers_as_on_cuda(monkeypatch):
    """Returns the list of (forward op, backward op or None, ndim) of every kernel call."""
    import xformers.ops as xops
    from xformers.ops.fmha import cutlass, dispatch, flash, flash3
    from xformers.ops.fmha.common import Inputs

    monkeypatch.setattr(torch.version, "cuda", "12.8")  # xformers' CUDA operator priority list
    for op in (flash3.FwOp, flash3.BwOp, flash.FwOp, flash.BwOp, cutlass.FwOp, cutlass.BwOp):
        monkeypatch.setattr(op, "SUPPORTED_DEVICES", {"cuda", "cpu"})
        monkeypatch.setattr(op, "is_available", classmethod(lambda cls: True))
    calls = []

    def memory_efficient_attention(query, key, value, attn_bias=None, p=0.0, scale=None, *, op=None,
                                   output_dtype=None):
        assert op is None and p == 0.0 and scale is None and output_dtype is None, "glassworks lets xformers choose"
        inp = Inputs(query=query, key=key, value=value, attn_bias=attn_bias)
        inp.validate_inputs()  # shapes, dtypes, devices: xformers' own checks
        needs_grad = torch.is_grad_enabled() and any(t.requires_grad for t in (query, key, value))
        forward = dispatch._dispatch_fw(inp, needs_grad)  # raises as xformers does when nothing fits
        _enforce(forward, inp)
        backward = None
        if needs_grad:  # xformers picks the backward op during the forward, for these very tensors
            backward = dispatch._dispatch_bw(inp, varlen_lse_packed=forward.VARLEN_LSE_PACKED)
            _enforce(backward, inp)
        calls.append((forward.NAME, backward and backward.NAME, query.ndim))
        return _torch_attention(query, key, value, attn_bias)

    monkeypatch.setattr(xops, "memory_efficient_attention", memory_efficient_attention)
    return calls


def test_the_stand_in_refuses_what_xformers_refuses(xformers_as_on_cuda):
    """The old layout (5-D grouped inputs while training) has no backward operator: the
    stand-in must fail on it exactly where xformers on a GPU does."""
    import xformers.ops as xops
    from xformers.ops.fmha.attn_bias import LowerTriangularMask

    from glassworks.model.attention import _layout

    q, k, v = (t.requires_grad_() for t in _random_qkv())
    with pytest.raises(NotImplementedError, match="BMGHK"):
        xops.memory_efficient_attention(*_layout("grouped", q, k, v), attn_bias=LowerTriangularMask())
    with torch.no_grad():  # inference: the forward operators take the grouped layout
        xops.memory_efficient_attention(*_layout("grouped", q, k, v), attn_bias=LowerTriangularMask())
    with pytest.raises(NotImplementedError, match="No operator found"):  # float64: no operator at all
        xops.memory_efficient_attention(*(t.double() for t in (q, q, q)), attn_bias=LowerTriangularMask())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16], ids=["fp32", "fp16"])
@pytest.mark.parametrize("Hkv", [4, 2, 1], ids=["mha", "gqa", "mqa"])
@pytest.mark.parametrize("window, packed", [(None, False), (8, False), (None, True), (8, True)])
def test_xformers_path_equals_sdpa_forward_and_backward(xformers_as_on_cuda, dtype, Hkv, window, packed):
    import warnings

    from glassworks.model.attention import XformersBackend

    calls = xformers_as_on_cuda
    q, k, v = (t.to(dtype) for t in _random_qkv(Hkv=Hkv))
    seg = segments_from_starts([[0, 13, 30], [0, 25]], 40) if packed else None
    mask = CausalMask(window=window, segment_ids=seg)
    # fp32 goes to cutlass, whose backward has no sliding-window bias for an unpacked batch
    no_backward_op = dtype == torch.float32 and window is not None and not packed
    results = {}
    for name, backend in (("xformers", XformersBackend()), ("sdpa", get_backend("sdpa", CPU))):
        inputs = [t.detach().clone().float().requires_grad_() for t in (q, k, v)]
        attend = backend.prepare(mask, 40, CPU)
        cast = [t.to(dtype) for t in inputs] if name == "xformers" else inputs  # sdpa: the fp32 reference
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = attend(*cast)
        if name == "xformers":
            fallbacks = [w for w in caught if "using SDPA" in str(w.message)]
            assert len(fallbacks) == no_backward_op, [str(w.message) for w in caught]
        out.float().square().sum().backward()
        results[name] = (out.float(), *(t.grad for t in inputs))
    tol = {"atol": 1e-5, "rtol": 1e-4} if dtype == torch.float32 else {"atol": 2e-2, "rtol": 2e-2}
    for got, expected in zip(results["xformers"], results["sdpa"]):
        torch.testing.assert_close(got, expected, **tol)
    if no_backward_op:  # SDPA computed it (checked equal above), xformers was not called
        assert calls == []
    else:  # training: the layout handed over has a backward op: 4-D (KV repeated) under GQA
        family = "cutlass" if dtype == torch.float32 else "fa"  # flash attention takes no fp32
        assert len(calls) == 1 and calls[0][0].startswith(family) and calls[0][1].startswith(family), calls
        assert calls[0][2] == 4, calls
    calls.clear()
    with torch.no_grad():  # inference keeps the grouped layout: nothing repeated
        XformersBackend().prepare(mask, 40, CPU)(q, k, v)
    assert len(calls) == 1 and calls[0][1] is None and calls[0][2] == (4 if Hkv == 4 else 5), calls


def test_xformers_model_logits_and_gradients_equal_sdpa(xformers_as_on_cuda, small_model, tokens, monkeypatch):
    from glassworks.model import transformer
    from glassworks.model.attention import XformersBackend

    real = transformer.get_backend  # its CUDA guard is the one thing bypassed here
    monkeypatch.setattr(transformer, "get_backend",
                        lambda name, device: XformersBackend() if name == "xformers" else real(name, device))
    seg = segments_from_starts([[0, 30], [0, 60, 61]], tokens.shape[1])
    results = {}
    for name in ("sdpa", "xformers"):
        small_model.zero_grad()
        small_model.backend_name = name
        logits = small_model(tokens, segment_ids=seg)
        logits.logsumexp(-1).mean().backward()
        results[name] = (logits.detach(), *(p.grad.clone() for p in small_model.parameters()))
    for got, expected in zip(results["xformers"], results["sdpa"]):
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)
    assert xformers_as_on_cuda and all(call[2] == 4 for call in xformers_as_on_cuda)  # one per layer, 4-D


def test_the_cuda_probe_trains_through_the_xformers_path(xformers_as_on_cuda):
    from glassworks.model.attention import xformers_trains

    assert xformers_trains(CPU, torch.float16)  # flash attention forward and backward, 4-D
    assert [call[1] is not None and call[2] for call in xformers_as_on_cuda] == [4]
    assert not xformers_trains(CPU, torch.float64)  # no operator: SDPA would run, so not "available"
