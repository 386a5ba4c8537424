"""`glassworks train plan`: per-GPU memory and wall time of a config, before renting GPUs.

Memory is counted from the shapes, tensor by tensor, the way the trainer allocates them:

- **weights, gradients, AdamW state.** fp32 master weights (4 B/param), fp32 gradients
  (4 B), AdamW's two fp32 moments (8 B). FSDP2 (``runtime.parallel: fsdp``) shards all three
  over the GPUs and adds the unsharded bf16 working copies: the root unit (embedding, output
  head, final norm) for the whole step, and two blocks at a time (the one computing and the
  one prefetched), for weights and for gradients. DDP keeps everything whole, plus its
  gradient buckets (4 B/param: ``gradient_as_bucket_view`` is off) and autocast's cached
  bf16 weight copies (2 B/param).
- **activations**, what autograd saves for the backward of one micro-batch of
  ``micro_batch x (seq_len - 1)`` tokens. Per layer and token, with ``a`` the activation
  width (2 B in bf16, 4 B in fp32): each RMSNorm saves its fp32 input, 1/rms (4 B) and the
  normalised value; the q/k/v and w1/w3 projections share their input; attention saves
  q, k, v, its output (flash-style kernels: no S x S matrix) and a log-sum-exp per head
  (4 B); SwiGLU saves w1 x, silu(w1 x), w3 x and the product (4 hidden). bf16 adds the
  rotary cos/sin cast per call. Above the blocks: the final norm, the head's input, and the
  fp32 log-softmax over the vocabulary (plus one fp32 copy of the logits per z-loss term).
  With activation checkpointing a block keeps only its input, and one block's full set is
  live again while it is recomputed. The loss's working set (logits in the compute dtype,
  their fp32 copy and its gradient) is added on top.

Not counted: the CUDA context and NCCL buffers (~1-2 GB), allocator fragmentation, the
all-gather/reduce-scatter staging beyond the unsharded copies, ``torch.compile`` workspaces.
Keep ~10 % headroom. tests/model/train/test_plan.py checks the counts against the tensors a
CPU step really allocates.

Time: FLOPs per token as ``glassworks.model.train.metrics.flops_per_token`` (PaLM,
Chowdhery et al. 2022, appendix B): ``6 * N + 12 * L * H * Q * T``, N the parameters that
multiply (all but the input embedding), L layers, H query heads of width Q, T the context
capped by the sliding window (the full T, not T/2 for causality, as PaLM counts).
Recomputation is not counted, so the stated MFU is useful work. Time = tokens x FLOPs per
token / (GPUs x peak x MFU).
"""

from __future__ import annotations

from dataclasses import dataclass

from glassworks.errors import GlassworksError
from glassworks.model.config import ModelConfig, format_count, parameter_count
from glassworks.model.train.metrics import flops_per_token


@dataclass(frozen=True)
class GpuSpec:
    name: str
    peak_bf16_flops: float  # dense (no 2:4 sparsity) bf16 tensor-core peak, FLOP/s
    memory_bytes: float
    hbm_bytes_per_s: float


# From NVIDIA's data sheets: "NVIDIA H100 Tensor Core GPU" (SXM5 column), "NVIDIA H200 Tensor
# Core GPU" (SXM), "NVIDIA A100 Tensor Core GPU" (80GB SXM). The sheets print bf16 peaks with
# sparsity (1,979 / 624 TFLOP/s); dense is half. Memory in decimal GB as printed.
GPUS: dict[str, GpuSpec] = {
    "h100": GpuSpec("H100 SXM 80GB", 989e12, 80e9, 3.35e12),
    "h200": GpuSpec("H200 SXM 141GB", 989e12, 141e9, 4.8e12),
    "a100": GpuSpec("A100 SXM 80GB", 312e12, 80e9, 2.0e12),
}

PRECISIONS = ("fp32", "bf16-fsdp", "bf16-autocast")
"""fp32: the CPU path. bf16-fsdp: FSDP2's MixedPrecisionPolicy (bf16 weights and activations,
fp32 reduction). bf16-autocast: torch.autocast around an fp32 model (DDP or one GPU)."""


def _widths(precision: str) -> tuple[int, int, int]:
    """(activation bytes, residual-stream bytes, bytes of the copy a linear layer saves of a norm's output)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "fp32":
        return 4, 4, 4
    if precision == "bf16-fsdp":
        return 2, 2, 2
    return 2, 4, 2  # autocast: the residual stream stays fp32, linears save bf16 casts of their inputs


def layer_activation_bytes(c: ModelConfig, precision: str) -> float:
    """Bytes one block saves for backward per token (see the module docstring)."""
    a, resid, lin_in = _widths(precision)
    d, q, kv, hidden = c.dim, c.n_heads * c.head_dim, c.n_kv_heads * c.head_dim, c.hidden_dim
    norm_out = 4 if precision == "bf16-autocast" else a  # weight * y keeps y in the residual dtype
    norm = 4 * d + 4 + norm_out * d  # fp32 input (x.float(); a no-op when already fp32), 1/rms, y
    attention = lin_in * d + a * (2 * q + 2 * kv) + 4 * c.n_heads  # shared input; q, k, v, out; lse
    rope = 4 * a * c.head_dim if precision != "fp32" else 0  # cos/sin cast to bf16 for q and for k
    feed_forward = lin_in * d + 4 * a * hidden
    return 2 * norm + attention + rope + feed_forward


def head_activation_bytes(c: ModelConfig, precision: str, z_terms: int) -> float:
    """Bytes per token saved outside the blocks: token ids, rotary tables, final norm, head input,
    fp32 log-softmax, and an fp32 copy of the logits per z-loss term."""
    a, resid, lin_in = _widths(precision)
    norm_out = 4 if precision == "bf16-autocast" else a
    rope = 2 * 4 * c.head_dim if precision == "fp32" else 0  # fp32: one cos/sin pair shared by all layers
    return 8 + 8 + rope + (4 * c.dim + 4 + norm_out * c.dim) + lin_in * c.dim + 4 * c.vocab_size * (1 + z_terms)


def loss_working_bytes(c: ModelConfig, precision: str) -> float:
    """Per token, live around the loss: logits in the compute dtype, their fp32 copy, its gradient."""
    a = _widths(precision)[0]
    return a * c.vocab_size + (4 * c.vocab_size if a != 4 else 0) + 4 * c.vocab_size


@dataclass(frozen=True)
class MemoryPlan:
    """Bytes per GPU by kind; ``total`` is the sum."""

    parameters: float
    gradients: float
    optimizer: float
    buffers: float  # FSDP's unsharded working copies, DDP buckets and autocast weight copies
    activations: float  # saved for backward, one micro-batch
    loss_working: float

    @property
    def total(self) -> float:
        return self.parameters + self.gradients + self.optimizer + self.buffers + self.activations + self.loss_working


def memory_plan(c: ModelConfig, *, tokens: int, gpus: int, mode: str, precision: str,
                checkpointing: bool, z_terms: int = 0) -> MemoryPlan:
    """Per-GPU memory for ``tokens`` (micro-batch x (seq_len - 1)) tokens per forward.

    ``mode``: ``fsdp`` shards weights, gradients and AdamW state over ``gpus``; ``ddp`` and
    ``none`` keep them whole."""
    n = parameter_count(c)
    shard = gpus if mode == "fsdp" else 1
    block = (parameter_count(c) - 2 * c.vocab_size * c.dim - c.dim) / c.n_layers
    root = 2 * c.vocab_size * c.dim + c.dim
    buffers = 0.0
    if mode == "fsdp" and gpus > 1:
        w = 2 if precision != "fp32" else 4
        buffers = w * (root + 2 * block) * 2  # unsharded weights and gradients: root + two blocks
    elif precision == "bf16-autocast":
        buffers = 2 * n
    if mode == "ddp" and gpus > 1:
        buffers += 4 * n
    per_layer = layer_activation_bytes(c, precision)
    if checkpointing:
        _, resid, _ = _widths(precision)
        saved = c.n_layers * resid * c.dim + per_layer  # each block's input, one block recomputed
        if precision != "fp32":
            saved += 2 * 4 * c.head_dim  # the fp32 cos/sin the checkpoints keep
    else:
        saved = c.n_layers * per_layer
    activations = tokens * (saved + head_activation_bytes(c, precision, z_terms))
    return MemoryPlan(parameters=4 * n / shard, gradients=4 * n / shard, optimizer=8 * n / shard,
                      buffers=buffers, activations=activations,
                      loss_working=tokens * loss_working_bytes(c, precision))


@dataclass(frozen=True)
class PhasePlan:
    name: str
    seq_len: int
    steps: int
    batch_size: int
    micro_batch: int
    accumulation: int

    @property
    def tokens(self) -> int:
        return self.steps * self.batch_size * self.seq_len


def phase_plans(cfg, gpus: int, shapes: "DataShapes") -> list[PhasePlan]:
    """Each phase's steps and shape: its ``steps`` and the mixture's ``seq_len``, or one pass
    over the mixture's token budget (``tokens // seq_len`` sequences, whole batches only)."""
    by_name = {p.name: p for p in shapes.phases}
    plans = []
    for phase in cfg.phases:
        data = by_name.get(phase.name)
        if data is None:
            raise GlassworksError(f"phase {phase.name!r}: its context length and token budget come from the data; "
                                  f"pass --mixture CONFIG naming a phase {phase.name!r} (or --workdir RUN with packed data)")
        steps = phase.steps or data.sequences // phase.batch_size
        micro, accumulation = phase.accumulation(gpus)
        plans.append(PhasePlan(phase.name, data.seq_len, steps, phase.batch_size, micro, accumulation))
    return plans


def precision_for(mode: str, device_type: str = "cuda", precision: str = "auto") -> str:
    """The planned precision: runtime.precision (``auto``: bf16 on a GPU, as the trainer picks for the
    GPUs this plan is for), through FSDP2's policy or autocast."""
    if precision == "fp32" or (precision == "auto" and device_type != "cuda"):
        return "fp32"
    return "bf16-fsdp" if mode == "fsdp" else "bf16-autocast"


def _gb(x: float) -> str:
    return f"{x / 1e9:,.1f} GB"


def render(cfg, c: ModelConfig, phases: list[PhasePlan], gpus: int, gpu: GpuSpec, mfu: float) -> str:
    """The plan as text: one memory table per phase shape, then time per phase and in all."""
    mode = cfg.runtime.parallel if gpus > 1 else "none"
    mode = "ddp" if mode == "auto" else mode
    precision = precision_for(mode, precision=cfg.runtime.precision)
    z_terms = int(cfg.optimizer.z_loss > 0) + int(cfg.optimizer.max_z_loss > 0)
    ckpt = cfg.runtime.activation_checkpointing
    lines = [f"model: {cfg.model}, {format_count(parameter_count(c))} parameters ({parameter_count(c):,}), "
             f"vocab {c.vocab_size}",
             f"hardware: {gpus} x {gpu.name} ({gpu.peak_bf16_flops / 1e12:.0f} TFLOP/s dense bf16, "
             f"{gpu.memory_bytes / 1e9:.0f} GB, {gpu.hbm_bytes_per_s / 1e12:.2f} TB/s)",
             f"parallel: {mode}, precision: {precision}, activation checkpointing: {'on' if ckpt else 'off'}",
             ""]
    total_seconds = 0.0
    for p in phases:
        m = memory_plan(c, tokens=p.micro_batch * (p.seq_len - 1), gpus=gpus, mode=mode, precision=precision,
                        checkpointing=ckpt, z_terms=z_terms)
        fit = "fits" if m.total <= gpu.memory_bytes else "DOES NOT FIT"
        lines += [f"{p.name}: context {p.seq_len}, micro-batch {p.micro_batch} x {p.accumulation} accumulation "
                  f"x {gpus} GPUs = batch {p.batch_size}, {p.steps:,} steps, {p.tokens:,} tokens",
                  f"  memory per GPU: weights {_gb(m.parameters)}, gradients {_gb(m.gradients)}, "
                  f"AdamW {_gb(m.optimizer)}, unsharded/bucket copies {_gb(m.buffers)}, "
                  f"activations {_gb(m.activations)}, loss {_gb(m.loss_working)}",
                  f"  total {_gb(m.total)} of {gpu.memory_bytes / 1e9:.0f} GB: {fit}"]
        flops = flops_per_token(c, p.seq_len)
        seconds = p.tokens * flops / (gpus * gpu.peak_bf16_flops * mfu)
        total_seconds += seconds
        lines.append(f"  time at {mfu:.0%} MFU: {p.tokens:,} tokens x {flops / 1e9:.2f} GFLOP/token / "
                     f"({gpus} x {gpu.peak_bf16_flops / 1e12:.0f} TFLOP/s x {mfu:.2f}) = {_duration(seconds)}")
    n_mul = parameter_count(c) - c.vocab_size * c.dim
    lines += ["",
              f"FLOPs per token = 6 N + 12 L H Q T, N = {n_mul:,} multiplying parameters (input embedding "
              f"excluded), L = {c.n_layers}, H = {c.n_heads}, Q = {c.head_dim}, T = context capped by the "
              f"window ({c.window}); recomputation not counted",
              f"total: {sum(p.tokens for p in phases):,} tokens in {_duration(total_seconds)} "
              f"({total_seconds * gpus / 3600:,.0f} GPU-hours)"]
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    days, rest = divmod(seconds, 86400)
    return f"{days:.0f} d {rest / 3600:.1f} h" if days else f"{seconds / 3600:.1f} h"


@dataclass(frozen=True)
class DataShape:
    """What a plan needs of a phase's data: its name, context and sequence count."""

    name: str
    seq_len: int
    sequences: int


@dataclass(frozen=True)
class DataShapes:
    phases: list[DataShape]
    vocab_size: int | None = None


def shapes_from_run(cfg, workdir) -> DataShapes:
    """Phase shapes and vocabulary of the packed data a run directory already holds."""
    from glassworks.pipeline.tokens.shards import PackedDataset

    found, vocab = [], None
    for phase in cfg.phases:
        path = cfg.resolve(workdir, cfg.data) / phase.name
        if path.is_dir():
            ds = PackedDataset(path)
            found.append(DataShape(phase.name, ds.seq_len, len(ds)))
            vocab = vocab or ds.vocab_size
    return DataShapes(found, vocab)
