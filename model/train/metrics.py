"""What a run reports: per-step JSONL, model FLOPs utilisation, and the loss-curve picture.

MFU (PaLM, Chowdhery et al. 2022, appendix B): achieved model FLOPs per second over the
hardware's peak. A token costs ``6N + 12 L H Q T`` FLOPs for forward and backward: ``6N``
for the matrix multiplies of the N parameters that multiply (the input embedding is a
lookup, so it is left out) and ``12 L H Q T`` for attention scores and values over ``T``
keys (L layers, H query heads of width Q; T is the context, capped by a sliding window).
Recomputation (activation checkpointing) is not counted: MFU measures useful work.

The JSONL log (``logs/train/metrics.jsonl``) holds one object per optimizer step; its
timing fields change from run to run, which is why it lives under ``logs/`` and the
recorded outputs of a phase are its checkpoints.
"""

from __future__ import annotations

import json
from pathlib import Path

from glassworks.model.config import ModelConfig, parameter_count

# Dense (no sparsity) bf16 tensor-core peaks from the vendors' data sheets, in FLOP/s.
# Matched against torch.cuda.get_device_name() in order, so the specific names come first.
PEAK_BF16_FLOPS: list[tuple[str, float]] = [
    ("GB200", 2.5e15),
    ("B200", 2.25e15),
    ("H200", 989e12),
    ("GH200", 989e12),
    ("H100 NVL", 835e12),
    ("H100 PCIe", 756e12),
    ("H100", 989e12),  # SXM5 / "H100 80GB HBM3"
    ("H800", 989e12),
    ("A100", 312e12),
    ("A800", 312e12),
    ("L40S", 362e12),
    ("L40", 181e12),
    ("L4", 121e12),
    ("RTX 4090", 165e12),
    ("V100", 125e12),  # fp16: V100 has no bf16
    ("MI300X", 1307e12),
    ("MI250X", 383e12),
]


def peak_flops(device) -> float | None:
    """Peak bf16 FLOP/s of ``device``; None for a CPU or an accelerator not in the table."""
    import torch

    device = torch.device(device)
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for key, flops in PEAK_BF16_FLOPS:
        if key in name:
            return flops
    return None


def flops_per_token(config: ModelConfig, context: int) -> float:
    """Training FLOPs per token at ``context`` tokens of attention span (see the module docstring)."""
    n = parameter_count(config) - config.vocab_size * config.dim  # the input embedding does not multiply
    span = min(context, config.window) if config.window else context
    return 6.0 * n + 12.0 * config.n_layers * config.n_heads * config.head_dim * span


def mfu(tokens_per_s: float, config: ModelConfig, context: int, peak: float | None, devices: int) -> float | None:
    if peak is None or tokens_per_s <= 0:
        return None
    return tokens_per_s * flops_per_token(config, context) / (peak * devices)


class MetricsLog:
    """Append-only JSONL, one line per step, flushed as written; a resume first cuts the
    lines past the step it resumes from (they are recomputed, identically)."""

    def __init__(self, path: Path, resume_step: int):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        kept = [r for r in read_metrics(path) if r["step"] <= resume_step]
        from glassworks.provenance.atomic import atomic_write_text

        atomic_write_text(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in kept))
        self.handle = path.open("a", encoding="utf-8")

    def write(self, record: dict) -> None:
        self.handle.write(json.dumps(record, sort_keys=True) + "\n")
        self.handle.flush()

    def close(self) -> None:
        self.handle.close()


def read_metrics(path: Path) -> list[dict]:
    """The records of a metrics file; a torn last line (a killed writer) is skipped."""
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and isinstance(record.get("step"), int):
            out.append(record)
    return out


def plot_losses(records: list[dict], out: Path, title: str) -> Path | None:
    """Loss per step coloured by phase, learning rate on a second axis."""
    if not records:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    phases = list(dict.fromkeys(r["phase"] for r in records))
    for phase in phases:
        rows = [r for r in records if r["phase"] == phase]
        ax.plot([r["step"] for r in rows], [r["loss"] for r in rows], lw=1.2, label=f"{phase} (ctx {rows[0]['context']})")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (nats/token)")
    ax.grid(alpha=0.3)
    lr = ax.twinx()
    lr.plot([r["step"] for r in records], [r["lr"] for r in records], color="grey", lw=0.8, ls="--")
    lr.set_ylabel("learning rate", color="grey")
    ax.legend(loc="upper right")
    ax.set_title(title)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
