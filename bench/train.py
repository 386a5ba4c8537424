"""Benchmark: glassworks' training step against a plain transformers training loop.

Both run the same model (transformers' twin is loaded from our own Hugging Face export, so
the weights are identical), on the same packed sequences (one phase directory written by
pipeline/tokens/shards.py's ShardWriter: documents of log-normal lengths, Zipf-distributed
ids), with the same optimizer settings (AdamW 0.9/0.95, eps 1e-8, wd 0.1, clip 1.0):

- ``glassworks``: ``Trainer.step`` as `glassworks train` runs it: batches read from the
  memory-mapped shards, documents kept apart by the attention mask, loss over predicted
  tokens, gradient clipping, AdamW on decay groups;
- ``hf``: the loop most people write: the same token rows, ``MistralForCausalLM`` with its
  default (sdpa) attention, plain causal over the packed row (documents are *not* kept
  apart), mean cross-entropy, clip, AdamW.

Rounds alternate between the two and the fastest round of each is kept (on a shared
machine the fastest is the least disturbed one). Tokens/s count the tokens the model
processes (context = seq_len - 1 per sequence).

CPU (always): the ``tiny`` preset at context 128. GPU (when CUDA is there; not run in the
session that wrote this file, which had no GPU): the ``1b`` preset at context 4096 in bf16,
tokens/s and MFU (6N + attention FLOPs over the device's peak, metrics.py), ours with the
``auto`` attention backend (xformers when its kernels load) with and without torch.compile,
and transformers' loop under bf16 autocast.

Prints one JSON line.

    python -P bench/train.py [--rounds 3] [--steps 4] [--gpu-steps 10] [--skip-gpu] [--threads 1]

(``-P``: bench/tokenize.py would otherwise shadow the standard library's tokenize module.)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from glassworks.config import from_dict
from glassworks.model.config import parameter_count, preset
from glassworks.model.train import parallel
from glassworks.model.train.config import TrainConfig
from glassworks.model.train.data import PhaseData
from glassworks.model.train.metrics import flops_per_token, mfu, peak_flops
from glassworks.model.train.trainer import Trainer


def write_phase(folder: Path, vocab: int, seq_len: int, sequences: int, seed: int = 0) -> Path:
    """A packed phase directory of synthetic documents (what `data build` writes)."""
    from glassworks.pipeline.tokens.shards import ShardWriter

    rng = np.random.default_rng(seed)
    writer = ShardWriter(folder, seq_len, sequences, sequences_per_shard=4096, dtype=np.uint16, sources=["synthetic"])
    doc = 0
    while not writer.done:
        length = int(np.clip(rng.lognormal(5.5, 1.0), 8, 8 * seq_len))
        ids = np.minimum(rng.zipf(1.2, length) + 2, vocab - 1).astype(np.uint16)
        ids[0], ids[-1] = 1, 2  # <s> ... </s>
        writer.add(ids, 0, doc)
        doc += 1
    writer.write_index(phase="bench", vocab_size=vocab, bos_id=1, eos_id=2)
    return folder


def hf_twin(model, tmp: str):
    """transformers' MistralForCausalLM with ``model``'s weights, through our own export."""
    from transformers import AutoModelForCausalLM

    from glassworks.model.checkpoint import CheckpointState, write_checkpoint
    from glassworks.model.hf import export_hf

    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    ckpt = write_checkpoint(Path(tmp) / "ckpt", model.config, tensors, CheckpointState(), [])
    folder = export_hf(ckpt, os.path.join(tmp, "hf"))
    return AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)


class HfLoop:
    """The plain loop: forward, mean cross-entropy, backward, clip, AdamW, per micro-batch list."""

    def __init__(self, model, device, bf16: bool):
        self.model, self.device, self.bf16 = model.to(device).train(), device, bf16
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)

    def step(self, data: PhaseData, k: int, micro: int) -> float:
        started = time.perf_counter()
        indices = data.step_indices(k)
        chunks = [indices[i:i + micro] for i in range(0, len(indices), micro)]
        for chunk in chunks:
            rows = torch.from_numpy(np.stack([np.asarray(data.dataset.sequence(i).tokens, dtype=np.int64)
                                              for i in chunk.tolist()])).to(self.device)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.bf16):
                logits = self.model(rows[:, :-1]).logits
            loss = torch.nn.functional.cross_entropy(logits.float().flatten(0, 1), rows[:, 1:].flatten()) / len(chunks)
            loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        _sync(self.device)
        return time.perf_counter() - started


def _sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def our_trainer(name: str, vocab: int, context: int, batch: int, micro: int, device, steps: int,
                runtime: dict | None = None) -> Trainer:
    config = from_dict(TrainConfig, {"model": name, "phases": [{"name": "bench", "batch_size": batch,
                                                               "micro_batch_size": micro}],
                                     "runtime": {"device": str(device), **(runtime or {})}})
    model_config = preset(name, vocab_size=vocab, max_seq_len=context + 1)
    return Trainer(config, model_config, parallel.Dist(), torch.device(device), total_steps=steps + 10)


def ours_step(trainer: Trainer, data: PhaseData, k: int) -> float:
    record = trainer.step(data, k, k)  # .tolist() inside synchronises
    return record["seconds"]


def compare(name: str, context: int, batch: int, micro: int, device, rounds: int, steps: int, tmp: str) -> dict:
    config = preset(name)
    folder = write_phase(Path(tmp) / f"{name}-{context}", config.vocab_size, context + 1, batch * (steps * rounds + 2))
    data = PhaseData.open(folder, "bench", batch, seed=0)
    trainer = our_trainer(name, config.vocab_size, context, batch, micro, device, steps * rounds + 2)
    gpu = torch.device(device).type == "cuda"
    model_config = parallel.inner(trainer.model).config
    twin = hf_twin(parallel.inner(trainer.model), tmp)
    runners = {"glassworks": lambda k: ours_step(trainer, data, k), "hf": None}
    times: dict[str, list[float]] = {"glassworks": [], "hf": []}
    memory = {}
    if gpu:  # a dedicated device: one side at a time, so both fit and neither waits on the other
        times["glassworks"] = [min(runners["glassworks"](k) for k in range(1, 1 + steps * rounds))]
        memory["glassworks"] = torch.cuda.max_memory_allocated(device) / 2**30
        del trainer, runners["glassworks"]
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    hf = HfLoop(twin, device, gpu)
    runners["hf"] = lambda k: hf.step(data, k, micro)
    if gpu:
        runners["hf"](0)
        times["hf"] = [min(runners["hf"](k) for k in range(1, 1 + steps * rounds))]
        memory["hf"] = torch.cuda.max_memory_allocated(device) / 2**30
    else:  # a shared CPU: alternate rounds, keep the fastest of each
        runners["glassworks"](0)  # warm-up
        runners["hf"](0)
        k = 1
        for _ in range(rounds):
            for key in ("glassworks", "hf"):
                times[key].append(min(runners[key](k + i) for i in range(steps)))
            k += steps
    tokens = batch * context
    per_s = {key: tokens / min(v) for key, v in times.items()}
    peak = peak_flops(device)
    out = {"preset": name, "params": parameter_count(model_config), "context": context, "batch": batch,
           "micro_batch": micro, "window": model_config.window,
           "glassworks_tok_s": round(per_s["glassworks"], 1), "hf_tok_s": round(per_s["hf"], 1),
           "ratio": round(per_s["glassworks"] / per_s["hf"], 3),
           "flops_per_token": flops_per_token(model_config, context)}
    if peak is not None:
        out["glassworks_mfu"] = round(mfu(per_s["glassworks"], model_config, context, peak, 1), 4)
        out["hf_mfu"] = round(mfu(per_s["hf"], model_config, context, peak, 1), 4)
        out["peak_flops"] = peak
    if memory:
        out["max_memory_gib"] = {k: round(v, 2) for k, v in memory.items()}
    return out


def gpu_section(steps: int, tmp: str) -> dict:
    """``1b`` at context 4096 on this rank's GPU: eager and compiled, against transformers."""
    device = torch.device("cuda", 0)
    out = {"device": torch.cuda.get_device_name(device)}
    out["eager"] = compare("1b", 4096, batch=8, micro=2, device=device, rounds=1, steps=steps, tmp=tmp)
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    compiled = our_trainer("1b", preset("1b").vocab_size, 4096, 8, 2, device, steps + 3, runtime={"compile": True})
    folder = Path(tmp) / "1b-4096"
    data = PhaseData.open(folder, "bench", 8, seed=0)
    ours_step(compiled, data, 0)
    best = min(ours_step(compiled, data, 1 + i) for i in range(steps))
    tok_s = 8 * 4096 / best
    out["compiled"] = {"glassworks_tok_s": round(tok_s, 1),
                       "glassworks_mfu": round(mfu(tok_s, parallel.inner(compiled.model).config, 4096,
                                                   peak_flops(device), 1), 4),
                       "max_memory_gib": round(torch.cuda.max_memory_allocated(device) / 2**30, 2)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=4, help="timed steps per round (the fastest counts)")
    parser.add_argument("--gpu-steps", type=int, default=10)
    parser.add_argument("--skip-gpu", action="store_true")
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads (1: the tiny model's matrices gain nothing from more, and one "
                             "thread is the least disturbed by a shared machine)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result = {"bench": "train", "torch": torch.__version__, "cpu_threads": torch.get_num_threads(),
              "machine": platform.machine()}
    with tempfile.TemporaryDirectory() as tmp:
        result["cpu"] = compare("tiny", 128, batch=16, micro=8, device="cpu", rounds=args.rounds, steps=args.steps,
                                tmp=tmp)
        if torch.cuda.is_available() and not args.skip_gpu:
            result["gpu"] = gpu_section(args.gpu_steps, tmp)
        else:
            result["gpu"] = None
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
