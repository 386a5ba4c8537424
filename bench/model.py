"""Benchmark: glassworks' decoder against transformers' MistralForCausalLM, same config and weights.

CPU (always):
- forward+backward tokens/s of the ``tiny`` and ``150m`` presets, ours and transformers'
  (the twin is loaded from our own Hugging Face export, so the weights are identical);
  rounds alternate between the two and the best of each is kept (on a shared machine the
  fastest round is the one least disturbed);
- attention backends side by side on one forward (sdpa, flex, and xformers where it runs);
- decoding with the rolling cache against recomputing the whole prefix per token;
- KV-cache bytes at 32k context for ``1b`` and ``mistral-7b``, rolling buffer vs full.

GPU (when CUDA is there): decode tokens/s at batch 1 for ``1b`` in bf16 against the
HBM-bandwidth bound (weights + cache read once per token, at the copy bandwidth measured
in the same run) and against transformers' ``generate``.

Prints one JSON line.

    python -P bench/model.py [--rounds 3] [--seq 256] [--skip-150m] [--threads N]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import tempfile
import time

import torch

from glassworks.model.cache import RollingCache
from glassworks.model.checkpoint import save_checkpoint
from glassworks.model.config import parameter_count, preset
from glassworks.model.generation import SamplingConfig, generate
from glassworks.model.hf import export_hf
from glassworks.model.transformer import build


def hf_twin(model, tmp: str, dtype=None):
    """transformers' MistralForCausalLM with our weights, through the real export path."""
    from transformers import AutoModelForCausalLM

    ckpt = save_checkpoint(model, os.path.join(tmp, "ckpt"))
    folder = export_hf(ckpt, os.path.join(tmp, "hf"))
    twin = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype or model.output.weight.dtype)
    return twin.to(model.output.weight.device)


def train_step_seconds(forward, params, tokens) -> float:
    start = time.perf_counter()
    logits = forward(tokens[:, :-1])
    loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1).float(), tokens[:, 1:].flatten())
    loss.backward()
    for p in params:
        p.grad = None
    return time.perf_counter() - start


def forward_backward(name: str, batch: int, seq: int, rounds: int) -> dict:
    config = preset(name, vocab_size=preset(name).vocab_size)
    ours = build(config, seed=0).train()
    with tempfile.TemporaryDirectory() as tmp:
        theirs = hf_twin(ours, tmp).train()
    tokens = torch.randint(0, config.vocab_size, (batch, seq + 1), generator=torch.Generator().manual_seed(0))
    ours_fn, theirs_fn = ours, (lambda t: theirs(t).logits)
    train_step_seconds(ours_fn, list(ours.parameters()), tokens)  # warm-up
    train_step_seconds(theirs_fn, list(theirs.parameters()), tokens)
    times = {"ours": [], "hf": []}
    for _ in range(rounds):
        times["ours"].append(train_step_seconds(ours_fn, list(ours.parameters()), tokens))
        times["hf"].append(train_step_seconds(theirs_fn, list(theirs.parameters()), tokens))
    per_s = {k: batch * seq / min(v) for k, v in times.items()}
    return {"params": parameter_count(config), "batch": batch, "seq": seq, "window": config.window,
            "ours_tok_s": round(per_s["ours"], 1), "hf_tok_s": round(per_s["hf"], 1),
            "speedup": round(per_s["ours"] / per_s["hf"], 3)}


@torch.no_grad()
def backends(seq: int, rounds: int) -> dict:
    from glassworks.model.attention import available_backends, segments_from_starts

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = build(preset("tiny"), seed=0, device=device).eval()
    tokens = torch.randint(0, 2048, (4, seq), device=device)
    segments = segments_from_starts([[0, seq // 3], [0], [0, 5, seq // 2], [0, seq - 10]], seq, device=device)
    out = {}
    for name in available_backends(device):
        model.set_attention_backend(name)
        model(tokens, segment_ids=segments)
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            model(tokens, segment_ids=segments)
            _sync()
            times.append(time.perf_counter() - start)
        out[f"{name}_ms"] = round(1000 * min(times), 2)
    return {"batch": 4, "seq": seq, "packed": True, **out}


@torch.no_grad()
def decode_vs_recompute(n_tokens: int = 192) -> dict:
    config = dataclasses.replace(preset("tiny"), window=32)
    model = build(config, seed=0).eval()
    prompt = torch.randint(0, config.vocab_size, (1, 16))
    start = time.perf_counter()
    cache = RollingCache.for_model(model, 1)
    next_token = model(prompt, cache=cache)[:, -1].argmax(-1, keepdim=True)
    for _ in range(n_tokens - 1):
        next_token = model(next_token, cache=cache)[:, -1].argmax(-1, keepdim=True)
    cached = time.perf_counter() - start
    start = time.perf_counter()
    sequence = prompt
    for _ in range(n_tokens):
        sequence = torch.cat([sequence, model(sequence)[:, -1].argmax(-1, keepdim=True)], dim=1)
    recompute = time.perf_counter() - start
    return {"tokens": n_tokens, "window": config.window, "cached_tok_s": round(n_tokens / cached, 1),
            "recompute_tok_s": round(n_tokens / recompute, 1), "speedup": round(recompute / cached, 2),
            "cache_bytes": cache.nbytes}


def kv_cache_bytes(context: int = 32768) -> dict:
    """Bytes of the real cache structure (built on the meta device, so nothing is allocated)
    for one bf16 sequence of ``context`` tokens: rolling buffer vs a cache of every position."""
    out = {}
    for name in ("1b", "mistral-7b"):
        c = preset(name)
        shape = (c.n_layers, 1, context, c.n_kv_heads, c.head_dim)
        rolling = RollingCache(*shape, window=c.window, dtype=torch.bfloat16, device="meta").nbytes
        full = RollingCache(*shape, window=None, dtype=torch.bfloat16, device="meta").nbytes
        out[name] = {"context": context, "window": c.window, "rolling_bytes": rolling, "full_bytes": full,
                     "ratio": round(full / rolling, 2)}
    return out


def _sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


@torch.no_grad()
def gpu_decode(new_tokens: int = 256) -> dict:
    """Batch-1 bf16 decode of the 1b preset: ours, transformers' generate, and the bandwidth bound."""
    config = preset("1b")
    model = build(config, device="cuda", dtype=torch.bfloat16, seed=0).eval()
    prompt = torch.randint(0, config.vocab_size, (128,)).tolist()
    sampling = SamplingConfig(max_new_tokens=new_tokens)
    generate(model, [prompt], SamplingConfig(max_new_tokens=8))
    _sync()
    start = time.perf_counter()
    generate(model, [prompt], sampling)
    _sync()
    ours = new_tokens / (time.perf_counter() - start)

    blob = torch.empty(2 * 2**30, dtype=torch.uint8, device="cuda")
    blob.clone()
    _sync()
    start = time.perf_counter()
    for _ in range(5):
        blob.clone()
    _sync()
    bandwidth = 5 * 2 * blob.numel() / (time.perf_counter() - start)  # read + write per clone
    del blob
    weight_bytes = 2 * parameter_count(config)
    cache_bytes = 2 * 2 * config.n_layers * config.n_kv_heads * config.head_dim * min(128 + new_tokens, config.window)
    bound = bandwidth / (weight_bytes + cache_bytes)

    with tempfile.TemporaryDirectory() as tmp:
        twin = hf_twin(model, tmp, dtype=torch.bfloat16).eval()
    ids = torch.tensor([prompt], device="cuda")
    twin.generate(ids, max_new_tokens=8, do_sample=False)
    _sync()
    start = time.perf_counter()
    twin.generate(ids, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False)
    _sync()
    hf = new_tokens / (time.perf_counter() - start)
    return {"device": torch.cuda.get_device_name(), "preset": "1b", "new_tokens": new_tokens,
            "ours_tok_s": round(ours, 1), "hf_generate_tok_s": round(hf, 1), "vs_hf": round(ours / hf, 2),
            "copy_bandwidth_gb_s": round(bandwidth / 1e9, 1), "bound_tok_s": round(bound, 1),
            "fraction_of_bound": round(ours / bound, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per measurement; the best is kept")
    parser.add_argument("--seq", type=int, default=256, help="sequence length of the training-step measurements")
    parser.add_argument("--skip-150m", action="store_true", help="only the tiny preset (fast)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (1 is steadier on a shared machine; default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    result = {"bench": "model", "torch": torch.__version__, "threads": torch.get_num_threads(),
              "machine": platform.machine(), "cuda": torch.cuda.is_available()}
    result["train_step"] = {"tiny": forward_backward("tiny", 8, args.seq, args.rounds)}
    if not args.skip_150m:
        result["train_step"]["150m"] = forward_backward("150m", 1, args.seq, args.rounds)
    result["attention_backends"] = backends(args.seq, args.rounds)
    result["decode"] = decode_vs_recompute()
    result["kv_cache_32k"] = kv_cache_bytes()
    result["gpu_decode"] = gpu_decode() if torch.cuda.is_available() else None
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
