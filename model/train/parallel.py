"""Scale-out: one process per device under torchrun, the model replicated (DDP) or sharded
(FSDP2 ``fully_shard``), and the few collectives the trainer needs.

Without torchrun (no ``WORLD_SIZE`` in the environment) everything here is a no-op on one
process, so the same trainer code runs a laptop test and a multi-node job. Under torchrun
the backend is NCCL on CUDA and gloo on CPU (the tests run 2 CPU processes).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from glassworks.errors import GlassworksError


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    mode: str = "none"  # none | ddp | fsdp
    owns_group: bool = False  # init() created the process group, so shutdown() destroys it

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


def pick_device(name: str, local_rank: int) -> torch.device:
    if name == "auto":
        return torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise GlassworksError(f"runtime.device is {name!r} but no CUDA device is available")
    if device.type == "cuda" and device.index is None:
        device = torch.device(f"cuda:{local_rank}")
    return device


def init(parallel: str, device_name: str) -> tuple[Dist, torch.device]:
    """Join the process group torchrun set up (if any) and pick this rank's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    device = pick_device(device_name, local_rank)
    if world == 1:
        return Dist(), device
    if device.type == "cuda":
        torch.cuda.set_device(device)
    owns = not dist.is_initialized()  # a caller that set up the group keeps it
    if owns:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo",
                                device_id=device if device.type == "cuda" else None)
    return Dist(rank, world, local_rank, "fsdp" if parallel == "fsdp" else "ddp", owns), device


def shutdown(env: Dist) -> None:
    if env.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def wrap(model: torch.nn.Module, env: Dist, device: torch.device, bf16: bool) -> torch.nn.Module:
    """DDP or FSDP2 around ``model`` (a ``Transformer`` already on ``device``)."""
    if env.mode == "ddp":
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if env.mode == "fsdp":
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

        # bf16 compute with fp32 master weights and fp32 gradient reduction (what autocast
        # gives the unsharded paths); each block is one all-gather / reduce-scatter unit.
        policy = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32) if bf16 \
            else MixedPrecisionPolicy()
        for layer in model.layers:
            fully_shard(layer, mp_policy=policy)
        fully_shard(model, mp_policy=policy)
    return model


def inner(model: torch.nn.Module) -> torch.nn.Module:
    """The ``Transformer`` under a DDP wrapper (FSDP2 modifies the module in place)."""
    return getattr(model, "module", model)


@contextlib.contextmanager
def gradient_sync(model: torch.nn.Module, env: Dist, sync: bool):
    """Skip the gradient all-reduce on accumulation micro-steps that are not the last."""
    if env.mode == "ddp" and not sync:
        with model.no_sync():
            yield
        return
    if env.mode == "fsdp":
        model.set_requires_gradient_sync(sync)
    yield


def all_reduce_sum(t: torch.Tensor, env: Dist) -> torch.Tensor:
    if env.active:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def any_rank(flag: bool, env: Dist, device: torch.device) -> bool:
    """True when ``flag`` is set on any rank (so every rank stops at the same step)."""
    if not env.active:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def barrier(env: Dist) -> None:
    if env.active:
        dist.barrier()


def gather_rows(t: torch.Tensor, env: Dist) -> list[torch.Tensor]:
    """``t`` (same shape on every rank) of every rank, in rank order."""
    if not env.active:
        return [t]
    home = t.device
    if dist.get_backend() == "nccl" and home.type != "cuda":  # NCCL moves CUDA tensors only
        t = t.to(torch.cuda.current_device())
    out = [torch.empty_like(t) for _ in range(env.world)]
    dist.all_gather(out, t)
    return [o.to(home) for o in out]
