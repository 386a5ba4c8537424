"""The decoder's shape as a typed config, its presets, and parameter counts without weights.

Presets are functions of nothing that return a frozen ``ModelConfig``; a variant is
``dataclasses.replace(preset("tiny"), vocab_size=tok.vocab_size)``. This module imports no
torch, so the CLI and the release area can describe a model without loading one.

The two 7B presets follow Mistral 7B v0.1 (Jiang et al. 2023, table 1) and Moxin-7B (Zhao et
al. 2024: the same blocks, 36 layers instead of 32). Their counts, 7,241,732,096 and
8,114,180,096 parameters (7.24 B and 8.11 B), are what ``parameter_count`` gives and what
the tests pin.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

from glassworks.errors import ConfigError


@dataclass(frozen=True)
class ModelConfig:
    """Shape of a Mistral-style decoder: pre-norm blocks of GQA attention and SwiGLU, no biases."""

    vocab_size: int
    """Rows of the embedding and of the output head; the tokenizer's vocabulary size."""
    dim: int
    """Width of the residual stream."""
    n_layers: int
    n_heads: int
    """Query heads."""
    n_kv_heads: int
    """Key/value heads (grouped-query attention: each serves n_heads // n_kv_heads query heads)."""
    head_dim: int
    """Width of one head; need not equal dim // n_heads."""
    hidden_dim: int
    """Inner width of the SwiGLU feed-forward."""
    window: int | None = None
    """Sliding-window size W: a query sees itself and the W-1 keys before it. None: full causal."""
    rope_theta: float = 10000.0
    """Base of the rotary frequencies (RoFormer, Su et al. 2021)."""
    norm_eps: float = 1e-5
    max_seq_len: int = 4096
    """Longest context the model is trained for; recorded in exports, not a hard limit."""
    init_std: float = 0.02
    """Std of the normal init of embeddings and matrices (GPT-2); residual outputs are scaled
    down further by 1/sqrt(2 * n_layers) so the residual stream does not grow with depth."""

    def __post_init__(self) -> None:
        for name in ("vocab_size", "dim", "n_layers", "n_heads", "n_kv_heads", "head_dim", "hidden_dim",
                     "max_seq_len"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"model config: {name} must be positive, got {getattr(self, name)}")
        if self.n_heads % self.n_kv_heads:
            raise ConfigError(f"model config: n_heads ({self.n_heads}) must be a multiple of n_kv_heads "
                              f"({self.n_kv_heads}) for grouped-query attention")
        if self.head_dim % 2:
            raise ConfigError(f"model config: head_dim must be even for rotary embeddings, got {self.head_dim}")
        if self.window is not None and self.window <= 0:
            raise ConfigError(f"model config: window must be positive or null, got {self.window}")

    def window_binds(self, seq_len: int) -> bool:
        """Whether the sliding window masks anything at this length (else plain causal)."""
        return self.window is not None and seq_len > self.window


def parameter_count(config: ModelConfig) -> int:
    """Exact number of parameters, from the shapes alone (no tensor is allocated)."""
    attention = config.dim * config.head_dim * (2 * config.n_heads + 2 * config.n_kv_heads)
    feed_forward = 3 * config.dim * config.hidden_dim
    norms = 2 * config.dim
    embeddings = 2 * config.vocab_size * config.dim  # input embedding and untied output head
    return config.n_layers * (attention + feed_forward + norms) + embeddings + config.dim


# --- presets --------------------------------------------------------------------------------


def tiny() -> ModelConfig:
    """The CPU demo: ~1.8 M parameters, trains hundreds of steps on two cores in minutes.
    The window (64) is shorter than the longest demo phase, so the demo exercises it."""
    return ModelConfig(vocab_size=2048, dim=128, n_layers=4, n_heads=4, n_kv_heads=2, head_dim=32,
                       hidden_dim=352, window=64, max_seq_len=256)


def m150() -> ModelConfig:
    """A ~150 M model for single-GPU experiments; Mistral's 4:1 query-to-KV head ratio."""
    return ModelConfig(vocab_size=32000, dim=768, n_layers=14, n_heads=12, n_kv_heads=4, head_dim=64,
                       hidden_dim=2560, window=1024, max_seq_len=2048)


def b1() -> ModelConfig:
    """A ~1 B model (TinyLlama-like width) with Mistral's window and 4:1 GQA."""
    return ModelConfig(vocab_size=32000, dim=2048, n_layers=20, n_heads=16, n_kv_heads=4, head_dim=128,
                       hidden_dim=5632, window=4096, max_seq_len=4096)


def mistral_7b() -> ModelConfig:
    """Mistral 7B v0.1: 32 layers, dim 4096, 32/8 heads of 128, SwiGLU 14336, window 4096."""
    return ModelConfig(vocab_size=32000, dim=4096, n_layers=32, n_heads=32, n_kv_heads=8, head_dim=128,
                       hidden_dim=14336, window=4096, rope_theta=10000.0, norm_eps=1e-5, max_seq_len=32768)


def moxin_7b() -> ModelConfig:
    """Moxin-7B: Mistral 7B's blocks, 36 of them."""
    return dataclasses.replace(mistral_7b(), n_layers=36)


PRESETS: dict[str, Callable[[], ModelConfig]] = {
    "tiny": tiny,
    "150m": m150,
    "1b": b1,
    "mistral-7b": mistral_7b,
    "moxin-7b": moxin_7b,
}


def preset(name: str, **overrides) -> ModelConfig:
    """The named preset, with fields replaced by ``overrides`` (e.g. ``vocab_size``)."""
    try:
        config = PRESETS[name]()
    except KeyError:
        raise ConfigError(f"unknown model preset {name!r}; known: {', '.join(PRESETS)}") from None
    return dataclasses.replace(config, **overrides) if overrides else config


def describe_presets() -> list[dict]:
    """One row per preset: name, parameter count and the shape fields a reader compares."""
    rows = []
    for name in PRESETS:
        c = preset(name)
        rows.append({"preset": name, "parameters": parameter_count(c), "layers": c.n_layers, "dim": c.dim,
                     "heads": f"{c.n_heads}/{c.n_kv_heads}x{c.head_dim}", "hidden": c.hidden_dim,
                     "window": c.window, "vocab": c.vocab_size})
    return rows


def format_count(n: int) -> str:
    return f"{n / 1e9:.2f} B" if n >= 1e9 else f"{n / 1e6:.1f} M"


if __name__ == "__main__":  # python -m glassworks.model.config: the preset table
    for row in describe_presets():
        print(f"{row['preset']:>11}  {format_count(row['parameters']):>9}  ({row['parameters']:,})  "
              f"layers={row['layers']} dim={row['dim']} heads={row['heads']} hidden={row['hidden']} "
              f"window={row['window']} vocab={row['vocab']}")
