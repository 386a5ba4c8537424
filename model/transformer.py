"""The Mistral-style decoder, top to bottom: norm -> rotary embedding -> attention -> SwiGLU
-> block -> model.

Token embedding; N pre-norm blocks (RMSNorm in fp32, grouped-query attention with rotary
positions and a sliding window, SwiGLU feed-forward; no biases anywhere); a final norm; an
untied output head. Mistral 7B (Jiang et al. 2023) is this with the ``mistral-7b`` preset.

Rotary layout: the half-split ("rotate_half") convention of Hugging Face's Llama/Mistral,
pairing dimension d with d + head_dim/2. Mistral's own reference code pairs adjacent
dimensions (2d, 2d+1) instead; the two are the same model up to a fixed permutation of the
rows of wq and wk. Using Hugging Face's pairing makes the export a renaming of tensors, and
the export test proves it on the logits.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from glassworks.model.attention import AttnFn, CausalMask, get_backend, positions_in_segments
from glassworks.model.config import ModelConfig

KVFn = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


class RMSNorm(nn.Module):
    """Root-mean-square norm (Zhang & Sennrich 2019), computed in fp32 whatever the input
    dtype: in bf16 the mean of squares loses the precision the normalisation depends on."""

    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x32 = x.float()
        x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x32.to(x.dtype)


def rope_tables(positions: torch.Tensor, head_dim: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin ``[B, S, 1, head_dim]`` (fp32) for integer positions ``[B, S]``."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, device=positions.device).float() / head_dim))
    freqs = positions[..., None].float() * inv_freq  # (B, S, D/2)
    angles = torch.cat((freqs, freqs), dim=-1)[:, :, None, :]  # (B, S, 1, D), half-split pairing
    return angles.cos(), angles.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate ``x [B, S, H, D]``: pairs (d, d + D/2) turn by position * inv_freq[d]."""
    x1, x2 = x.chunk(2, dim=-1)
    rotated = torch.cat((-x2, x1), dim=-1)
    return x * cos.to(x.dtype) + rotated * sin.to(x.dtype)


class Attention(nn.Module):
    """Grouped-query attention (Ainslie et al. 2023): n_kv_heads key/value heads, each shared
    by n_heads / n_kv_heads query heads; the backend decides how to avoid repeating them."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.n_heads, self.n_kv_heads, self.head_dim = config.n_heads, config.n_kv_heads, config.head_dim
        self.wq = nn.Linear(config.dim, config.n_heads * config.head_dim, bias=False)
        self.wk = nn.Linear(config.dim, config.n_kv_heads * config.head_dim, bias=False)
        self.wv = nn.Linear(config.dim, config.n_kv_heads * config.head_dim, bias=False)
        self.wo = nn.Linear(config.n_heads * config.head_dim, config.dim, bias=False)

    def forward(self, x, cos, sin, attend: AttnFn, kv: KVFn | None = None):
        B, S, _ = x.shape
        q = self.wq(x).view(B, S, self.n_heads, self.head_dim)  # (B, S, H, D)
        k = self.wk(x).view(B, S, self.n_kv_heads, self.head_dim)  # (B, S, Hkv, D)
        v = self.wv(x).view(B, S, self.n_kv_heads, self.head_dim)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if kv is not None:  # the cache hands back its window followed by these keys
            k, v = kv(k, v)  # (B, W + S, Hkv, D)
        out = attend(q, k, v)  # (B, S, H, D)
        return self.wo(out.reshape(B, S, self.n_heads * self.head_dim))


class FeedForward(nn.Module):
    """SwiGLU (Shazeer 2020): w2(silu(w1 x) * w3 x)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.w1 = nn.Linear(config.dim, config.hidden_dim, bias=False)  # gate
        self.w3 = nn.Linear(config.dim, config.hidden_dim, bias=False)  # up
        self.w2 = nn.Linear(config.hidden_dim, config.dim, bias=False)  # down

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    """Pre-norm residual block: x + attn(norm(x)), then + ffn(norm(.))."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.attention_norm = RMSNorm(config.dim, config.norm_eps)
        self.attention = Attention(config)
        self.ffn_norm = RMSNorm(config.dim, config.norm_eps)
        self.feed_forward = FeedForward(config)

    def forward(self, x, cos, sin, attend: AttnFn, kv: KVFn | None = None):
        x = x + self.attention(self.attention_norm(x), cos, sin, attend, kv)
        return x + self.feed_forward(self.ffn_norm(x))


class Transformer(nn.Module):
    """The decoder. ``forward(tokens [B, S]) -> logits [B, S, vocab]``.

    ``segment_ids [B, S]`` keeps packed documents apart (each document attends only to
    itself and its positions restart at 0). With a ``RollingCache`` the call continues the
    cached sequences instead: see ``glassworks.model.cache``.
    """

    def __init__(self, config: ModelConfig, backend: str = "auto"):
        super().__init__()
        self.config = config
        self.backend_name = backend
        self.activation_checkpointing = False
        """Recompute each block in the backward pass instead of storing its activations."""
        self.tok_embeddings = nn.Embedding(config.vocab_size, config.dim)
        self.layers = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.norm = RMSNorm(config.dim, config.norm_eps)
        self.output = nn.Linear(config.dim, config.vocab_size, bias=False)
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Normal(0, init_std) embeddings and matrices; the projections that write into the
        residual stream (wo, w2) get init_std / sqrt(2 * n_layers) (GPT-2, Radford et al.
        2019) so its variance does not grow with depth; norm weights 1."""
        std = self.config.init_std
        residual_std = std / math.sqrt(2 * self.config.n_layers)
        for name, param in self.named_parameters():
            if param.ndim == 1:
                nn.init.ones_(param)
            elif name.endswith(("attention.wo.weight", "feed_forward.w2.weight")):
                nn.init.normal_(param, 0.0, residual_std, generator=generator)
            else:
                nn.init.normal_(param, 0.0, std, generator=generator)

    def param_groups(self, weight_decay: float) -> list[dict]:
        """Optimizer groups: weight decay on the matrices of the linear layers (output head
        included) only; norm gains and the token embedding are not decayed (decaying an
        embedding shrinks the rows of rare tokens, which get few gradient updates)."""
        decay, no_decay = [], []
        for name, param in self.named_parameters():
            if not param.requires_grad:
                continue
            is_matrix = param.ndim == 2 and not name.startswith("tok_embeddings")
            (decay if is_matrix else no_decay).append(param)
        return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]

    def set_attention_backend(self, name: str) -> None:
        """Switch the attention backend (``auto``, ``sdpa``, ``xformers``, ``flex``)."""
        get_backend(name, self.output.weight.device)  # fail now, not mid-forward
        self.backend_name = name

    def forward(self, tokens: torch.Tensor, *, segment_ids: torch.Tensor | None = None,
                cache=None, lengths: torch.Tensor | None = None,
                select: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``[B, S, vocab]`` (or ``[B, 1, vocab]`` at the index ``select[b]`` of each row).

        With ``cache``, ``tokens`` continue each row of the cache; ``lengths [B]`` says how many
        of them are real in each row (the rest is padding that is neither attended to by real
        tokens nor cached).
        """
        B, S = tokens.shape
        device = tokens.device
        backend = get_backend(self.backend_name, device)
        step = None
        if cache is not None:
            if segment_ids is not None:
                raise ValueError("segment_ids describe packed training rows; a cached call continues one sequence per row")
            step = cache.begin(S, lengths)
            positions, mask = step.positions, step.mask
        else:
            if segment_ids is not None:
                positions = positions_in_segments(segment_ids)
            else:
                positions = torch.arange(S, device=device)[None]
            mask = CausalMask(self.config.window, segment_ids)
        attend = backend.prepare(mask, S, device)
        cos, sin = rope_tables(positions, self.config.head_dim, self.config.rope_theta)

        h = self.tok_embeddings(tokens)  # (B, S, dim)
        for i, layer in enumerate(self.layers):
            kv = step.kv(i) if step is not None else None
            if self.activation_checkpointing and self.training and kv is None:
                h = checkpoint(layer, h, cos, sin, attend, use_reentrant=False)
            else:
                h = layer(h, cos, sin, attend, kv)
        if step is not None:
            cache.commit(step)
        if select is not None:
            h = h[torch.arange(B, device=device), select][:, None]  # (B, 1, dim)
        return self.output(self.norm(h))  # (B, S, vocab)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def build(config: ModelConfig, device: torch.device | str | None = None, dtype: torch.dtype | None = None,
          backend: str = "auto", seed: int | None = None) -> Transformer:
    """A freshly initialised model; ``seed`` makes the init reproducible; ``device="meta"``
    builds it without allocating any weights (to count or to load into later)."""
    with torch.device(device or "cpu"):
        model = Transformer(config, backend=backend)
    if seed is not None and str(device) != "meta":
        model.reset_parameters(torch.Generator(device=model.output.weight.device).manual_seed(seed))
    if dtype is not None:
        model.to(dtype)
    return model
