"""Pre-training in context-length phases: ``train(config, run_dir) -> TrainSummary``.

    from glassworks.model.train import load_train_config, train
    summary = train(load_train_config("configs/train-demo.yaml"), "run")

Importing this package loads no torch. Modules, in reading order: config (the typed
sections), schedule (learning rate and kept steps), data (batches from packed shards),
trainer (model, optimizer, one step), state (checkpoints with optimizer, RNG and cursor),
parallel (torchrun, DDP, FSDP2), metrics (JSONL, MFU, loss plot), run (phases, resume,
signals, provenance), cli (`glassworks train`).
"""

from __future__ import annotations

from glassworks.model.train.config import TrainConfig, load_train_config


def train(config, run_dir, progress: bool = False, stop_at: int | None = None):
    """Train or resume every phase of ``config`` in ``run_dir``; see ``glassworks.model.train.run``."""
    from glassworks.model.train.run import train as _train

    return _train(config, run_dir, progress=progress, stop_at=stop_at)


__all__ = ["TrainConfig", "load_train_config", "train"]
