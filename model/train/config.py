"""What a training run is: typed sections, each next to the concern it configures.

A config names the model preset, the phases (each one a packed data directory from
`glassworks data build` with its own batch size), the optimizer, the learning-rate
schedule, the checkpoint schedule and the runtime. The *recipe* (everything that changes
the numbers a run computes) is hashed into every trainer checkpoint, so a resume with a
different recipe is refused; the runtime section (device, parallelism, compile) may change
between a run and its resume.

This module imports no torch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from glassworks.config import config_hash, load_config
from glassworks.errors import ConfigError


@dataclass(frozen=True)
class TrainPhase:
    """One context-length phase: the packed shards of ``data/<name>/`` and how to batch them."""

    name: str
    """The phase directory under the data folder (``phase1``) and the stage ``train.<name>``."""
    batch_size: int
    """Sequences per optimizer step, summed over all ranks and accumulation micro-steps."""
    micro_batch_size: int | None = None
    """Sequences per forward pass on one rank; None: batch_size / ranks (no accumulation).
    The rest of the batch is gradient accumulation: batch_size / (micro_batch_size * ranks)."""
    steps: int | None = None
    """Optimizer steps; None: one pass over the phase's sequences (the remainder of the last
    batch is not used). More steps than one pass start a new, differently shuffled pass."""

    def __post_init__(self):
        if self.batch_size <= 0:
            raise ValueError(f"phase {self.name!r}: batch_size must be positive")
        if self.micro_batch_size is not None and self.micro_batch_size <= 0:
            raise ValueError(f"phase {self.name!r}: micro_batch_size must be positive")
        if self.steps is not None and self.steps <= 0:
            raise ValueError(f"phase {self.name!r}: steps must be positive (or null for one pass)")

    def accumulation(self, world_size: int) -> tuple[int, int]:
        """(micro-batch size, micro-steps per optimizer step) on each of ``world_size`` ranks."""
        per_rank, rest = divmod(self.batch_size, world_size)
        micro = self.micro_batch_size or per_rank
        if rest or micro == 0 or per_rank % micro:
            raise ConfigError(f"phase {self.name!r}: batch_size {self.batch_size} is not a multiple of "
                              f"micro_batch_size {micro} x {world_size} rank(s)")
        return micro, per_rank // micro


@dataclass(frozen=True)
class OptimizerConfig:
    """AdamW with decoupled weight decay on the matrices only (Loshchilov & Hutter 2019)."""

    lr: float = 3e-4
    """Peak learning rate, reached at the end of the warmup."""
    beta1: float = 0.9
    beta2: float = 0.95
    """0.95 rather than Adam's 0.999: the second moment follows loss spikes faster (GPT-3, Llama)."""
    eps: float = 1e-8
    weight_decay: float = 0.1
    """On the matrices of the linear layers; norms and the token embedding are not decayed."""
    grad_clip: float = 1.0
    """Global gradient-norm clipping threshold; 0 turns clipping off (the norm is still logged)."""
    z_loss: float = 0.0
    """Coefficient of the z-loss, mean of log(Z)^2 over predicted tokens (PaLM uses 1e-4)."""
    max_z_loss: float = 0.0
    """Coefficient of Baichuan 2's max-z loss, mean of the squared largest logit (they use 2e-4):
    keeps logits from drifting up, which makes bf16 inference sensitive to repetition penalties."""

    def __post_init__(self):
        if self.lr <= 0 or self.eps <= 0:
            raise ValueError("lr and eps must be positive")
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise ValueError("beta1 and beta2 must lie in [0, 1)")
        if min(self.weight_decay, self.grad_clip, self.z_loss, self.max_z_loss) < 0:
            raise ValueError("weight_decay, grad_clip, z_loss and max_z_loss must be >= 0")


@dataclass(frozen=True)
class ScheduleConfig:
    """Linear warmup to the peak, then cosine decay to ``final_lr_ratio`` of it, over all phases."""

    warmup_steps: int = 0
    final_lr_ratio: float = 0.1

    def __post_init__(self):
        if self.warmup_steps < 0 or not 0 <= self.final_lr_ratio <= 1:
            raise ValueError("warmup_steps must be >= 0 and final_lr_ratio in [0, 1]")


@dataclass(frozen=True)
class CheckpointConfig:
    """Which checkpoints a run keeps (Pythia, Biderman et al. 2023: log-spaced early, then every N)."""

    log_spaced_until: int = 512
    """Keep steps 0 (the initialisation), 1, 2, 4, ... up to this step."""
    every: int = 1000
    """Then every this many steps. Each phase's last step and the final step are always kept."""
    resume_every: int = 100
    """Refresh ``train/resume/`` every this many steps (0: only on a signal or a stop)."""
    trainer_state: bool = True
    """Intermediate checkpoints carry the optimizer, RNG and data cursor (so training can be
    resumed or branched from any of them); False keeps only weights there, 3x smaller."""
    storage: Literal["safetensors", "dcp"] = "safetensors"
    """How the trainer state is written. ``safetensors``: gathered on rank 0 into one file
    per kind (simple; right for small models). ``dcp``: torch.distributed.checkpoint shards,
    each rank writing its own asynchronously, loadable on any number of ranks; kept and
    final checkpoints still get the consolidated model.safetensors, ``train/resume`` does not."""

    def __post_init__(self):
        if self.log_spaced_until < 0 or self.every <= 0 or self.resume_every < 0:
            raise ValueError("log_spaced_until and resume_every must be >= 0, every > 0")


@dataclass(frozen=True)
class RuntimeConfig:
    """Where and how the run executes; may change between a run and its resume."""

    device: str = "auto"
    """``auto``: this rank's CUDA device when there is one, else the CPU."""
    parallel: Literal["auto", "ddp", "fsdp"] = "auto"
    """Under torchrun with more than one process: ``ddp`` replicates the model, ``fsdp`` shards
    parameters, gradients and optimizer state (FSDP2 ``fully_shard``); ``auto`` picks ddp."""
    attention: str = "auto"
    """Attention backend (``auto``, ``sdpa``, ``xformers``, ``flex``; see model/attention.py)."""
    precision: Literal["auto", "bf16", "fp32"] = "auto"
    """Compute dtype; master weights, optimizer state and gradient reduction stay fp32.
    ``bf16``: FSDP2's MixedPrecisionPolicy under ``parallel: fsdp``, autocast otherwise (also
    on the CPU, where it is slower and serves tests). ``auto``: bf16 on a GPU that has it."""
    compile: bool = False
    """torch.compile each transformer block (the mask set-up around them stays eager)."""
    activation_checkpointing: bool = False
    """Recompute each block's activations in the backward pass: less memory, ~1/3 more compute."""
    threads: int | None = None
    """CPU threads for torch (None: torch's default)."""


@dataclass(frozen=True)
class TrainConfig:
    """A whole `glassworks train` config (configs/train-*.yaml)."""

    phases: list[TrainPhase]
    model: str = "tiny"
    """Model preset (``python -m glassworks.model.config`` lists them). The vocabulary size is
    the tokenizer's, and max_seq_len becomes the longest phase context."""
    data: Path = Path("data")
    """Folder holding one packed directory per phase; relative: from the run directory."""
    tokenizer: Path = Path("tokenizer")
    """Tokenizer directory copied into every checkpoint; relative: from the run directory."""
    seed: int = 0
    """Seeds the initial weights and the order of the sequences in each phase."""
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    checkpoints: CheckpointConfig = field(default_factory=CheckpointConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)

    def __post_init__(self):
        names = [p.name for p in self.phases]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"phases must be named uniquely, got {names}")

    def recipe(self) -> dict:
        """The part of the config that decides the numbers (everything but the runtime and the
        checkpoint schedule); a resume must match it."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in ("runtime", "checkpoints")}

    def recipe_sha256(self) -> str:
        return config_hash(self.recipe())

    def resolve(self, run_dir: Path, path: Path) -> Path:
        return path if path.is_absolute() else Path(run_dir) / path


def load_train_config(path: str | Path) -> TrainConfig:
    return load_config(path, TrainConfig)
