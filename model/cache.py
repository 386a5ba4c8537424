"""Rolling buffer KV cache: memory bounded by the window W, not by the sequence length.

With sliding-window attention no query ever looks further back than W-1 positions, so a
cache of W slots per row is enough (Mistral 7B, section 2). The key of absolute position p
lives in slot ``p mod W``; a newer key overwrites the one exactly W positions older, which
no later query can see any more.

Worked example, W = 4, one row, a prompt of 6 tokens prefilled in one chunk, then decode:

    prefill positions 0..5   -> attend: [empty x4 | 0 1 2 3 4 5]  (cache first, then chunk)
                                write the last 4:  slots [4 5 2 3]  (slot = pos mod 4)
    decode position 6        -> attend: [4 5 2 3 | 6], write slot 2:  [4 5 6 3]
    decode position 7        -> attend: [4 5 6 3 | 7], write slot 3:  [4 5 6 7]

The cache is never unrotated: each slot's absolute position is kept (``slot_pos``, -1 for
empty), and the attention mask is computed from positions (``SlotMask``), so key order does
not matter. The query at 7 sees 4..7 (itself and the W-1 before it); the key at 3 is
masked by the window, the one at 8 would be by causality.

Rows are independent: each has its own next position, so a batch of prompts of different
lengths is prefilled as one padded chunk (``lengths`` gives each row's real count); padding
tokens take positions after the row's real ones, so no real query sees them, and they are
not written.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from glassworks.model.attention import SlotMask


@dataclass
class CacheStep:
    """What one forward call over a chunk needs from the cache, computed once for all layers."""

    cache: "RollingCache"
    positions: torch.Tensor  # (B, S) absolute position of every chunk token (padding included)
    mask: SlotMask  # queries = chunk, keys = the cache slots then the chunk
    write_rows: torch.Tensor  # (N,) row of each token to store
    write_tokens: torch.Tensor  # (N,) its index in the chunk
    write_slots: torch.Tensor  # (N,) the slot it goes to (position mod size)
    lengths: torch.Tensor  # (B,) real tokens per row

    def kv(self, layer: int):
        """The function the layer's attention calls: it returns the cached keys followed by
        the chunk's, then stores the chunk's newest keys for the next call."""

        def exchange(k: torch.Tensor, v: torch.Tensor):
            cache = self.cache
            keys = torch.cat((cache.k[layer], k), dim=1)  # (B, size + S, Hkv, D), a copy
            values = torch.cat((cache.v[layer], v), dim=1)
            cache.k[layer, self.write_rows, self.write_slots] = k[self.write_rows, self.write_tokens]
            cache.v[layer, self.write_rows, self.write_slots] = v[self.write_rows, self.write_tokens]
            return keys, values

        return exchange


class RollingCache:
    """Per-layer key/value buffers ``[layers, B, size, Hkv, D]`` plus each slot's position."""

    def __init__(self, n_layers: int, batch: int, size: int, n_kv_heads: int, head_dim: int, *,
                 window: int | None, dtype: torch.dtype = torch.float32, device=None):
        if window is not None and size > window:
            size = window  # more slots than the window would hold keys nobody can see
        self.size = size
        self.window = window
        self.k = torch.zeros(n_layers, batch, size, n_kv_heads, head_dim, dtype=dtype, device=device)
        self.v = torch.zeros_like(self.k)
        self.slot_pos = torch.full((batch, size), -1, dtype=torch.long, device=device)
        self.next_pos = torch.zeros(batch, dtype=torch.long, device=device)

    @classmethod
    def for_model(cls, model, batch: int, capacity: int | None = None) -> "RollingCache":
        """A cache for ``model``: W slots with a sliding window (fewer when ``capacity``, the
        longest total length to be cached, is shorter); ``capacity`` slots without one."""
        config = model.config
        size = capacity if config.window is None else min(config.window, capacity or config.window)
        if size is None:
            raise ValueError("a model without a sliding window needs the cache capacity (longest total length)")
        weight = model.output.weight
        return cls(config.n_layers, batch, size, config.n_kv_heads, config.head_dim, window=config.window,
                   dtype=weight.dtype, device=weight.device)

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (self.k, self.v, self.slot_pos, self.next_pos))

    def reset(self) -> None:
        self.slot_pos.fill_(-1)
        self.next_pos.zero_()

    def begin(self, chunk: int, lengths: torch.Tensor | None = None) -> CacheStep:
        """Plan a forward call over ``chunk`` new tokens per row (``lengths[b]`` of them real)."""
        batch = self.next_pos.shape[0]
        device = self.next_pos.device
        every_token_real = lengths is None
        if lengths is None:
            lengths = torch.full((batch,), chunk, dtype=torch.long, device=device)
        lengths = lengths.to(device=device, dtype=torch.long)
        if lengths.shape != (batch,):
            raise ValueError(f"lengths has shape {tuple(lengths.shape)}, the cache holds {batch} rows")
        if self.window is None or self.size < self.window:  # slots are not recycled: they must not run out
            longest = int((self.next_pos + lengths).max())
            if longest > self.size:
                raise ValueError(f"cache of {self.size} slots is full ({longest} positions needed); "
                                 "build it with a larger capacity, or did you forget to reset it?")
        index = torch.arange(chunk, device=device)
        positions = self.next_pos[:, None] + index  # (B, S)
        if every_token_real and chunk <= self.size:  # decode: every token is stored, no host sync
            rows = torch.arange(batch, device=device).repeat_interleave(chunk)
            tokens = index.repeat(batch)
        else:  # padding is never stored, and of a long chunk only the newest `size` tokens
            keep = (index < lengths[:, None]) & (index >= lengths[:, None] - self.size)
            rows, tokens = keep.nonzero(as_tuple=True)
        slots = positions[rows, tokens] % self.size
        mask = SlotMask(q_pos=positions, k_pos=torch.cat((self.slot_pos, positions), dim=1), window=self.window)
        return CacheStep(self, positions, mask, rows, tokens, slots, lengths)

    def commit(self, step: CacheStep) -> None:
        """After every layer stored its keys: record the slots' positions, advance the rows."""
        self.slot_pos[step.write_rows, step.write_slots] = step.positions[step.write_rows, step.write_tokens]
        self.next_pos += step.lengths
