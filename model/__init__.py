"""Model: the Mistral-style decoder, attention backends, rolling cache, generation,
checkpoints and the Hugging Face export.

Public surface (importing this package loads no torch; the functions below do):

- ``load(CHECKPOINT_DIR)``: the model of a checkpoint, ``forward(tokens [B, S]) -> logits [B, S, vocab]``.
- ``build(config, seed=...)``, ``preset(name, **overrides)``, ``ModelConfig``, ``parameter_count``.
- ``save_checkpoint(model, DIR, state, tokenizer_dir, run_dir)``, ``CheckpointState``, ``read_config``.
- ``generate(model, prompts, SamplingConfig(...), decode)``, ``RollingCache``.
- ``export_hf(CHECKPOINT_DIR, OUT_DIR)`` / ``import_hf(HF_DIR, CHECKPOINT_DIR)``.

Modules, in reading order: config (shapes, presets, counts), attention (the window
convention and the backends), transformer (the model), cache (rolling buffer), generation,
checkpoint, hf, cli.
"""

from __future__ import annotations

import importlib

from glassworks.model.config import PRESETS, ModelConfig, parameter_count, preset

_LAZY = {
    "load": "glassworks.model.checkpoint",
    "save_checkpoint": "glassworks.model.checkpoint",
    "read_config": "glassworks.model.checkpoint",
    "read_state": "glassworks.model.checkpoint",
    "CheckpointState": "glassworks.model.checkpoint",
    "build": "glassworks.model.transformer",
    "Transformer": "glassworks.model.transformer",
    "RollingCache": "glassworks.model.cache",
    "generate": "glassworks.model.generation",
    "SamplingConfig": "glassworks.model.generation",
    "Completion": "glassworks.model.generation",
    "export_hf": "glassworks.model.hf",
    "import_hf": "glassworks.model.hf",
}

__all__ = ["PRESETS", "ModelConfig", "parameter_count", "preset", *_LAZY]


def __getattr__(name: str):
    """Torch-backed names are imported on first use, so ``import glassworks.model`` stays light."""
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'glassworks.model' has no attribute {name!r}")
