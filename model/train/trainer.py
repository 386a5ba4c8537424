"""The trainer: the model, its optimizer and one optimizer step, on one rank.

One step of phase step ``k``: set the learning rate of global step ``s``; for each of this
rank's micro-batches, forward (bf16 or fp32: runtime.precision), loss, backward
(gradients synchronised across ranks on the last micro-batch only); sum the losses over
ranks; clip the global gradient norm; refuse a non-finite loss or norm *before* the update;
AdamW step.

The loss of a step is the mean cross-entropy over every predicted token of the global
batch (not a mean of per-micro-batch means): each micro-batch's summed loss is divided by
the step's token count, known up front from the data, so accumulation, rank count and
padding-free packing all give the same number.
"""

from __future__ import annotations

import contextlib
import math
import time

import torch
import torch.nn.functional as F

from glassworks.errors import GlassworksError
from glassworks.model.config import ModelConfig
from glassworks.model.train import parallel
from glassworks.model.train.config import TrainConfig
from glassworks.model.train.data import IGNORE, PhaseData
from glassworks.model.train.schedule import lr_at


class NonFiniteLoss(GlassworksError):
    """The loss or the gradient norm became NaN or infinite; nothing was updated or written."""


def token_losses(logits: torch.Tensor, targets: torch.Tensor, z: bool, max_z: bool) -> torch.Tensor:
    """Sums over predicted tokens of (cross-entropy, log(Z)^2, (max logit)^2), in fp32."""
    logits = logits.float().flatten(0, 1)  # (B*S, V)
    targets = targets.flatten()
    ce = F.cross_entropy(logits, targets, ignore_index=IGNORE, reduction="sum")
    zero = ce.new_zeros(())
    valid = targets != IGNORE
    z_sum = torch.logsumexp(logits[valid], dim=-1).square().sum() if z else zero
    max_sum = logits[valid].amax(dim=-1).square().sum() if max_z else zero
    return torch.stack((ce, z_sum, max_sum))


def bf16_compute(precision: str, device: torch.device) -> bool:
    """Whether runtime.precision asks for bf16 compute on ``device`` (``auto``: a GPU with bf16; V100: fp32)."""
    if precision == "auto":
        return device.type == "cuda" and torch.cuda.is_bf16_supported()
    if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise GlassworksError(f"runtime.precision is bf16 but {torch.cuda.get_device_name(device)} has no bf16")
    return precision == "bf16"


class Trainer:
    """Builds the model for this rank (wrapped for DDP/FSDP) and its AdamW; runs steps."""

    def __init__(self, config: TrainConfig, model_config: ModelConfig, env: parallel.Dist, device: torch.device,
                 total_steps: int):
        from glassworks.model.transformer import build

        self.config, self.model_config, self.env, self.device = config, model_config, env, device
        self.total_steps = total_steps
        runtime = config.runtime
        self.bf16 = bf16_compute(runtime.precision, device)
        torch.manual_seed(config.seed)  # the global generators too, so their saved states do not depend on history
        model = build(model_config, device=device, seed=config.seed, backend=runtime.attention)
        model.activation_checkpointing = runtime.activation_checkpointing
        if runtime.compile:
            for layer in model.layers:  # per block: the mask set-up in forward stays eager
                layer.compile()
        self.model = parallel.wrap(model, env, device, self.bf16)
        opt = config.optimizer
        self.optimizer = torch.optim.AdamW(parallel.inner(self.model).param_groups(opt.weight_decay), lr=opt.lr,
                                           betas=(opt.beta1, opt.beta2), eps=opt.eps,
                                           fused=True)  # one kernel for all tensors: 4x faster on the tiny CPU model
        self.model.train()

    def _autocast(self):
        if self.bf16 and self.env.mode != "fsdp":  # FSDP2 casts through its mixed-precision policy
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def step(self, data: PhaseData, phase_step: int, global_step: int) -> dict:
        """One optimizer step; returns its metrics (loss averaged over the global batch)."""
        opt = self.config.optimizer
        started = time.perf_counter()
        lr = lr_at(global_step, self.total_steps, opt.lr, self.config.schedule)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        micro, _ = self.accumulation(data)
        batches = data.micro_batches(phase_step, self.env.rank, self.env.world, micro, self.device)
        n = data.predicted_tokens(phase_step)
        scale = self.env.world / n  # DDP and FSDP average gradients over ranks; undo that
        sums = torch.zeros(3, device=self.device)
        for a, batch in enumerate(batches):
            with parallel.gradient_sync(self.model, self.env, sync=a == len(batches) - 1):
                with self._autocast():
                    logits = self.model(batch.tokens, segment_ids=batch.segment_ids)  # (m, S-1, V)
                parts = token_losses(logits, batch.targets, opt.z_loss > 0, opt.max_z_loss > 0)
                loss = (parts[0] + opt.z_loss * parts[1] + opt.max_z_loss * parts[2]) * scale
                loss.backward()
            sums += parts.detach()
        parallel.all_reduce_sum(sums, self.env)
        ce, z, max_z = (sums / n).tolist()
        grad_norm = self._clip(opt.grad_clip)
        if not (math.isfinite(ce) and math.isfinite(grad_norm)):
            self.optimizer.zero_grad(set_to_none=True)
            raise NonFiniteLoss(f"loss {ce} and gradient norm {grad_norm} at step {global_step + 1} "
                                f"({data.name} step {phase_step + 1})")
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        seconds = time.perf_counter() - started
        record = {"loss": ce, "lr": lr, "grad_norm": grad_norm, "seconds": seconds,
                  "predicted_tokens": n, "processed_tokens": data.batch_size * (data.seq_len - 1)}
        if opt.z_loss > 0:
            record["z_loss"] = z
        if opt.max_z_loss > 0:
            record["max_z_loss"] = max_z
        return record

    def accumulation(self, data: PhaseData) -> tuple[int, int]:
        phase = next(p for p in self.config.phases if p.name == data.name)
        return phase.accumulation(self.env.world)

    def _clip(self, max_norm: float) -> float:
        params = [p for p in self.model.parameters() if p.grad is not None]
        norm = torch.nn.utils.clip_grad_norm_(params, max_norm if max_norm > 0 else math.inf)
        if hasattr(norm, "full_tensor"):  # a DTensor under FSDP2
            norm = norm.full_tensor()
        return float(norm)
