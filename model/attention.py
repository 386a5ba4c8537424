"""Attention backends behind one interface, and the one window convention they all share.

Window convention (Mistral, xformers, Hugging Face): with window W, the query at position i
sees the keys j with ``i - W < j <= i``: itself and the W-1 keys before it.

A forward pass describes *which* keys each query may see with a mask spec, built once:

- ``CausalMask(window, segment_ids)``: square self-attention over ``[B, S]`` (training,
  one-shot prefill); ``segment_ids`` ``[B, S]`` (non-decreasing per row) keep packed
  documents apart.
- ``SlotMask(q_pos, k_pos, window)``: queries at absolute positions against keys at
  absolute positions, ``k_pos < 0`` marking an empty slot (the rolling cache's path, where
  keys sit in rotated order and only their positions say what they are).

A backend turns a spec into an attention function once per forward (``prepare``), which
every layer then calls with ``q [B, Sq, H, D]`` and ``k, v [B, Sk, Hkv, D]``, GQA-grouped
(query head h reads KV head h // (H // Hkv)), returning ``[B, Sq, H, D]``:

- ``sdpa``: PyTorch scaled_dot_product_attention with ``enable_gqa`` (no repeated KV);
  ``is_causal`` when nothing but causality binds, else a boolean band mask (on CUDA with
  repeated KV heads, which the masked memory-efficient kernel needs). CPU and GPU.
- ``xformers``: ``memory_efficient_attention`` on CUDA only; packed documents as a
  block-diagonal causal (local) bias over the flattened batch. GQA goes in xformers' 5-D
  grouped layout (stride-0 KV, nothing copied) only where the operators xformers dispatches
  to take it in the forward *and*, when gradients are needed, the backward pass; otherwise
  KV heads are repeated into the 4-D layout. (In xformers 0.0.35 every forward op takes the
  grouped layout and no backward op does: training repeats, inference does not.) Slot masks
  go to SDPA (one decode query gains nothing).
- ``flex``: FlexAttention with a block mask from the same predicate (compiled on CUDA;
  on CPU the unfused reference implementation, forward only: torch has no CPU backward).
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

AttnFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True, eq=False)
class CausalMask:
    """Causal self-attention over one square block, within a window and within documents."""

    window: int | None = None
    segment_ids: torch.Tensor | None = None  # (B, S) long, non-decreasing within a row

    def window_binds(self, seq_len: int) -> bool:
        return self.window is not None and seq_len > self.window


@dataclass(frozen=True, eq=False)
class SlotMask:
    """Queries at ``q_pos`` against keys at ``k_pos``; a negative key position is an empty slot."""

    q_pos: torch.Tensor  # (B, Sq) absolute positions of the queries
    k_pos: torch.Tensor  # (B, Sk) absolute positions of the keys, -1 = empty
    window: int | None = None


def dense_mask(mask: CausalMask | SlotMask, seq_len: int | None = None, device=None) -> torch.Tensor:
    """The boolean mask (True = may attend), ``[B or 1, 1, Sq, Sk]``: the reference every
    backend is tested against, and what SDPA consumes when causality alone is not enough."""
    if isinstance(mask, SlotMask):
        q = mask.q_pos[:, :, None]  # (B, Sq, 1)
        k = mask.k_pos[:, None, :]  # (B, 1, Sk)
        allowed = (k >= 0) & (k <= q)
        if mask.window is not None:
            allowed &= q - k < mask.window
        return allowed[:, None]
    if seq_len is None:
        raise ValueError("dense_mask(CausalMask) needs seq_len")
    if mask.segment_ids is not None:
        device = mask.segment_ids.device
    i = torch.arange(seq_len, device=device)
    allowed = i[None, :] <= i[:, None]  # (S, S): key j <= query i
    if mask.window is not None:
        allowed &= i[:, None] - i[None, :] < mask.window
    allowed = allowed[None]  # (1, S, S)
    if mask.segment_ids is not None:
        seg = mask.segment_ids
        allowed = allowed & (seg[:, :, None] == seg[:, None, :])  # (B, S, S)
    return allowed[:, None]


# --- document segments --------------------------------------------------------------------


def segments_from_starts(starts: list[list[int]], seq_len: int, device=None) -> torch.Tensor:
    """Segment ids ``[B, S]`` from each row's document start offsets (0 may be omitted)."""
    mark = torch.zeros(len(starts), seq_len, dtype=torch.long)
    for row, offsets in enumerate(starts):
        for offset in offsets:
            if not 0 <= offset < seq_len:
                raise ValueError(f"row {row}: document start {offset} outside a sequence of {seq_len} tokens")
            if offset > 0:
                mark[row, offset] = 1
    return mark.cumsum(1).to(device)


def positions_in_segments(segment_ids: torch.Tensor) -> torch.Tensor:
    """Position of each token within its document ``[B, S]``: RoPE restarts at every document,
    so a packed document is encoded exactly as it would be alone."""
    B, S = segment_ids.shape
    idx = torch.arange(S, device=segment_ids.device).expand(B, S)
    new = torch.ones_like(segment_ids, dtype=torch.bool)
    new[:, 1:] = segment_ids[:, 1:] != segment_ids[:, :-1]
    start = torch.where(new, idx, torch.zeros_like(idx)).cummax(dim=1).values
    return idx - start


def segment_lengths(segment_ids: torch.Tensor) -> list[int]:
    """Lengths of the runs of equal ids, row after row: the seqlens of the flattened batch."""
    B, S = segment_ids.shape
    rows = torch.arange(B, device=segment_ids.device)[:, None] * (S + 1)
    keys = (rows + segment_ids - segment_ids[:, :1]).flatten()
    return torch.unique_consecutive(keys, return_counts=True)[1].tolist()


# --- backends -------------------------------------------------------------------------------


class SdpaBackend:
    """torch.nn.functional.scaled_dot_product_attention; works on every device."""

    name = "sdpa"

    def prepare(self, mask: CausalMask | SlotMask, q_len: int, device) -> AttnFn:
        if isinstance(mask, CausalMask) and mask.segment_ids is None and not mask.window_binds(q_len):
            return functools.partial(_sdpa, mask=None, causal=True, repeat_kv=False)
        # On CUDA only the math kernel takes both a mask and enable_gqa; repeating the (small)
        # KV heads lets the memory-efficient kernel run instead of materialising S x S scores.
        return functools.partial(_sdpa, mask=dense_mask(mask, q_len, device=device), causal=False,
                                 repeat_kv=torch.device(device).type == "cuda")


def _sdpa(q, k, v, mask, causal, repeat_kv):
    groups = q.shape[2] // k.shape[2]
    if repeat_kv and groups > 1:
        k, v = k.repeat_interleave(groups, dim=2), v.repeat_interleave(groups, dim=2)  # (B, S, H, D)
    out = F.scaled_dot_product_attention(
        q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),  # (B, H, S, D)
        attn_mask=mask, is_causal=causal, enable_gqa=q.shape[2] != k.shape[2],
    )
    return out.transpose(1, 2)  # (B, S, H, D)


class XformersBackend:
    """xformers memory_efficient_attention (CUDA kernels only)."""

    name = "xformers"

    def prepare(self, mask: CausalMask | SlotMask, q_len: int, device) -> AttnFn:
        if isinstance(mask, SlotMask):
            return SdpaBackend().prepare(mask, q_len, device)
        return XformersAttention(mask, q_len, device)


def xformers_bias(mask: CausalMask, seq_len: int, device=None):
    """The xformers attention bias equal to ``dense_mask(mask)``. Packed rows become one
    block-diagonal causal (local) bias over the flattened ``[1, B*S]`` batch; this builds on
    CPU too, so the tests can ``.materialize()`` it against the SDPA mask."""
    from xformers.ops.fmha import attn_bias as xb

    if mask.segment_ids is None:
        if mask.window_binds(seq_len):
            return xb.LowerTriangularFromBottomRightLocalAttentionMask(mask.window)  # square: same as top-left
        return xb.LowerTriangularMask()
    seqlens = segment_lengths(mask.segment_ids)
    bias = xb.BlockDiagonalCausalMask.from_seqlens(seqlens, device=device)
    if mask.window is not None and max(seqlens) > mask.window:
        bias = bias.make_local_attention(mask.window)
    return bias


class XformersAttention:
    """One forward's xformers attention: the bias, and per input signature (shapes, dtype,
    whether gradients flow) the layout xformers has operators for, asked once and reused by
    every layer. Inputs no xformers operator takes (say fp32 with a sliding window, whose
    cutlass backward has no local bias) go to SDPA rather than failing mid-run."""

    def __init__(self, mask: CausalMask, q_len: int, device):
        self.mask, self.q_len, self.device = mask, q_len, device
        self.bias = xformers_bias(mask, q_len, device)
        self.packed = mask.segment_ids is not None
        self._sdpa = None  # the fallback where xformers has no operator: built once, shared by every layer
        self.layouts: dict[tuple, str | None] = {}

    def __call__(self, q, k, v):
        import xformers.ops as xops

        B, S, H, D = q.shape
        needs_grad = torch.is_grad_enabled() and any(t.requires_grad for t in (q, k, v))
        key = (tuple(q.shape), tuple(k.shape), q.dtype, q.device, needs_grad)
        if key not in self.layouts:
            self.layouts[key] = xformers_layout(*self._flat(q, k, v), self.bias, needs_grad)
        layout = self.layouts[key]
        if layout is None:
            warnings.warn(f"xformers has no operator for attention inputs {tuple(q.shape)} {q.dtype} with "
                          f"{type(self.bias).__name__}{' and gradients' if needs_grad else ''}; using SDPA there",
                          stacklevel=2)
            if self._sdpa is None:
                self._sdpa = SdpaBackend().prepare(self.mask, self.q_len, self.device)
            return self._sdpa(q, k, v)
        out = xops.memory_efficient_attention(*_layout(layout, *self._flat(q, k, v)), attn_bias=self.bias)
        return out.reshape(B, S, H, D)

    def _flat(self, q, k, v):
        """Packed rows as one long row: block-diagonal biases describe the flattened batch."""
        if not self.packed:
            return q, k, v
        B, S = q.shape[:2]
        return tuple(t.reshape(1, B * S, *t.shape[2:]) for t in (q, k, v))


def _layout(name: str, q, k, v):
    """``heads``: as given (B, S, H, D) with H == Hkv. ``grouped``: xformers' 5-D layout
    (B, S, G=Hkv, H/G, D) with the KV expanded with stride 0, nothing copied. ``repeated``:
    4-D, KV heads repeated so that query head h reads KV head h // (H / Hkv)."""
    b, s, H, D = q.shape
    Hkv = k.shape[2]
    if name == "grouped":
        q = q.view(b, s, Hkv, H // Hkv, D)
        k = k[:, :, :, None, :].expand(b, s, Hkv, H // Hkv, D)
        v = v[:, :, :, None, :].expand(b, s, Hkv, H // Hkv, D)
    elif name == "repeated":
        k, v = k.repeat_interleave(H // Hkv, dim=2), v.repeat_interleave(H // Hkv, dim=2)  # (b, s, H, D)
    return q, k, v


def xformers_layout(q, k, v, bias, needs_grad: bool) -> str | None:
    """The first layout (``grouped`` before ``repeated`` under GQA, else ``heads``) for which
    xformers' own dispatch finds a forward operator and, with ``needs_grad``, a backward one
    (xformers picks that during the forward and fails there when none fits); None when no
    layout has both. Asking the dispatch follows the capability flags (``SUPPORTS_BMGHK``,
    dtypes, bias types, head sizes) of whatever xformers is installed instead of assuming
    them; were its private dispatch API to move, only the repeated layout is tried blind."""
    candidates = ["heads"] if k.shape[2] == q.shape[2] else ["grouped", "repeated"]
    try:
        from xformers.ops.fmha.common import Inputs
        from xformers.ops.fmha.dispatch import _dispatch_bw, _dispatch_fw
    except ImportError:
        return candidates[-1]
    for name in candidates:
        with torch.no_grad():  # the dispatch reads shapes, strides and dtypes only
            inp = Inputs(*_layout(name, q, k, v), attn_bias=bias)
        try:
            forward = _dispatch_fw(inp, needs_grad)
            if needs_grad:  # the LSE format must match between the passes (varlen biases)
                _dispatch_bw(inp, varlen_lse_packed=forward.VARLEN_LSE_PACKED)
        except NotImplementedError:
            continue
        return name
    return None


class FlexBackend:
    """torch FlexAttention with a block mask built from the same predicate as ``dense_mask``."""

    name = "flex"

    def prepare(self, mask: CausalMask | SlotMask, q_len: int, device) -> AttnFn:
        if isinstance(mask, SlotMask):
            return SdpaBackend().prepare(mask, q_len, device)
        from torch.nn.attention.flex_attention import create_block_mask

        window, seg = mask.window, mask.segment_ids

        def mask_mod(b, h, q_idx, kv_idx):
            allowed = kv_idx <= q_idx
            if window is not None:
                allowed = allowed & (q_idx - kv_idx < window)
            if seg is not None:
                allowed = allowed & (seg[b, q_idx] == seg[b, kv_idx])
            return allowed

        batch = None if seg is None else seg.shape[0]
        block_mask = create_block_mask(mask_mod, batch, None, q_len, q_len, device=device)
        return functools.partial(_flex, block_mask=block_mask)


@functools.cache
def _flex_kernel(device_type: str):
    from torch.nn.attention.flex_attention import flex_attention

    return torch.compile(flex_attention, dynamic=False) if device_type == "cuda" else flex_attention


def _flex(q, k, v, block_mask):
    kernel = _flex_kernel(q.device.type)
    with warnings.catch_warnings():  # on CPU the unfused path is the point (tests); say it once, in the docs
        warnings.filterwarnings("ignore", message="flex_attention called without torch.compile")
        out = kernel(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), block_mask=block_mask,
                     enable_gqa=q.shape[2] != k.shape[2])
    return out.transpose(1, 2)


BACKENDS = {"sdpa": SdpaBackend, "xformers": XformersBackend, "flex": FlexBackend}


@functools.cache
def xformers_kernels_available() -> bool:
    """True when xformers' memory-efficient kernels run here (a CUDA device and a matching build),
    backward included: ``auto`` must not pick a backend that dies at the first training step."""
    if not torch.cuda.is_available():
        return False
    try:
        return xformers_trains("cuda", torch.bfloat16)
    except Exception:  # noqa: BLE001 - any failure means "not usable here"; auto falls back to sdpa
        return False


def xformers_trains(device, dtype: torch.dtype) -> bool:
    """One training step's attention through the xformers path: grouped-query heads, causal,
    forward and backward; False where it would fall back to SDPA."""
    import xformers.ops  # noqa: F401 - raises without a usable build

    q = torch.zeros(1, 16, 4, 64, device=device, dtype=dtype, requires_grad=True)
    kv = torch.zeros(1, 16, 2, 64, device=device, dtype=dtype, requires_grad=True)
    attend = XformersAttention(CausalMask(), 16, q.device)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="xformers has no operator")
        attend(q, kv, kv).sum().backward()
    return None not in attend.layouts.values()  # None: it fell back to SDPA


def available_backends(device: torch.device | str) -> list[str]:
    """The backends that run on ``device``."""
    names = ["sdpa", "flex"]
    if torch.device(device).type == "cuda" and xformers_kernels_available():
        names.insert(1, "xformers")
    return names


def get_backend(name: str, device: torch.device | str):
    """The backend ``name`` (``auto``: xformers on CUDA when its kernels load, else sdpa)."""
    if name == "auto":
        name = "xformers" if torch.device(device).type == "cuda" and xformers_kernels_available() else "sdpa"
    if name not in BACKENDS:
        raise ValueError(f"unknown attention backend {name!r}; known: auto, {', '.join(BACKENDS)}")
    if name == "xformers" and torch.device(device).type != "cuda":
        raise ValueError("the xformers backend needs a CUDA device (xformers has no CPU kernels)")
    return BACKENDS[name]()
