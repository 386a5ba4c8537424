"""Benchmark: the figures issue 19 asks of one GPU, in one command (under 10 minutes on an H100).

- **training MFU** of the ``150m`` and ``1b`` presets at context 4096, bf16 autocast, fused
  AdamW, each block ``torch.compile``d (``--no-compile`` to skip), attention ``auto``.
  FLOPs per token = 6 N + 12 L H Q T (``glassworks.model.train.metrics.flops_per_token``:
  N the parameters that multiply, all but the input embedding; L layers, H query heads of
  width Q, T = the context capped by the sliding window; full T, not T/2, as PaLM counts).
  MFU = tokens/s x FLOPs per token / the device's dense bf16 peak. Peak memory of the step is
  set beside what ``glassworks train plan`` predicts for it.
- **attention backends** (glassworks' own, model/attention.py): forward+backward time of
  xformers, SDPA and FlexAttention on GQA inputs of the 1b preset's shape (16 query heads,
  4 KV heads of 128) at context 4096, causal, bf16.
- **decode** at batch 1 of the 1b preset in bf16: glassworks' ``generate`` (rolling cache)
  against the HBM bound (bytes of weights + KV cache read per token / bandwidth, at both the
  data-sheet and a measured copy bandwidth) and against transformers' ``generate`` on the
  model exported with ``glassworks export hf``.

Prints one JSON line. Without a CUDA device it stops with a message, unless ``--cpu-smoke``:
then every code path runs at tiny sizes on the CPU in seconds (figures meaningless;
tests/model/train/test_plan.py runs it so the script cannot rot).

    python -P bench/gpu.py [--steps 10] [--no-compile] [--cpu-smoke]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time

import torch

from glassworks.model.config import parameter_count, preset
from glassworks.model.train.metrics import flops_per_token, peak_flops
from glassworks.model.train import plan


@dataclasses.dataclass(frozen=True)
class Sizes:
    context: int
    micro_batch: dict  # preset -> sequences per step
    steps: int
    new_tokens: int
    prompt: int
    presets: dict  # name -> overrides of the preset (the smoke shrinks them)


GPU_SIZES = Sizes(context=4096, micro_batch={"150m": 8, "1b": 4}, steps=10, new_tokens=256, prompt=128,
                  presets={"150m": {}, "1b": {}})
SMOKE_SIZES = Sizes(context=64, micro_batch={"150m": 2, "1b": 2}, steps=2, new_tokens=8, prompt=8,
                    presets={"150m": {"vocab_size": 256, "dim": 64, "n_layers": 2, "hidden_dim": 128, "window": 32},
                             "1b": {"vocab_size": 256, "dim": 64, "n_layers": 2, "n_heads": 4, "n_kv_heads": 1,
                                    "head_dim": 16, "hidden_dim": 128, "window": 48}})


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def _config(name: str, sizes: Sizes):
    return preset(name, max_seq_len=sizes.context, **sizes.presets[name])


def train_mfu(name: str, sizes: Sizes, device, compile_blocks: bool) -> dict:
    """Tokens/s of full optimizer steps (forward, loss, backward, AdamW) and the MFU they give."""
    from glassworks.model.train.trainer import token_losses
    from glassworks.model.transformer import build

    config = _config(name, sizes)
    model = build(config, device=device, seed=0)
    if compile_blocks:
        for layer in model.layers:
            layer.compile()
    opt = torch.optim.AdamW(model.param_groups(0.1), lr=1e-4, fused=True)
    bf16 = device.type == "cuda"
    rows = torch.randint(0, config.vocab_size, (sizes.micro_batch[name], sizes.context + 1), device=device)

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
            logits = model(rows[:, :-1])
        token_losses(logits, rows[:, 1:], False, False)[0].backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(3):  # compile and allocator warm-up
        step()
    _sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    for _ in range(sizes.steps):
        step()
    _sync(device)
    seconds = (time.perf_counter() - start) / sizes.steps
    tokens = rows.shape[0] * sizes.context
    peak = peak_flops(device)
    flops = flops_per_token(config, sizes.context)
    planned = plan.memory_plan(config, tokens=tokens, gpus=1, mode="none",
                               precision="bf16-autocast" if bf16 else "fp32", checkpointing=False)
    result = {"preset": name, "parameters": parameter_count(config), "context": sizes.context,
              "micro_batch": rows.shape[0], "compile": compile_blocks, "attention": model.backend_name,
              "step_s": round(seconds, 4), "tokens_per_s": round(tokens / seconds, 1),
              "flops_per_token": flops, "mfu": round(tokens / seconds * flops / peak, 4) if peak else None,
              "planned_memory_gb": round(planned.total / 1e9, 2)}
    if device.type == "cuda":
        result["peak_memory_gb"] = round(torch.cuda.max_memory_allocated(device) / 1e9, 2)
    del model, opt
    return result


def attention_backends(sizes: Sizes, device) -> dict:
    """Forward+backward seconds per call of each glassworks backend on the same GQA inputs."""
    from glassworks.model.attention import CausalMask, get_backend, xformers_kernels_available

    c = _config("1b", sizes)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    B, S = sizes.micro_batch["1b"], sizes.context
    g = torch.Generator(device=device).manual_seed(0)
    q = torch.randn(B, S, c.n_heads, c.head_dim, device=device, dtype=dtype, generator=g)  # (B, S, H, D)
    k = torch.randn(B, S, c.n_kv_heads, c.head_dim, device=device, dtype=dtype, generator=g)  # (B, S, Hkv, D)
    v = torch.randn_like(k)
    out = {"shape": {"batch": B, "seq": S, "heads": c.n_heads, "kv_heads": c.n_kv_heads, "head_dim": c.head_dim}}
    for name in ("xformers", "sdpa", "flex"):
        if name == "xformers" and not (device.type == "cuda" and xformers_kernels_available()):
            out[name] = {"skipped": "xformers kernels need CUDA (and a build whose backward runs)"}
            continue
        backward = not (name == "flex" and device.type != "cuda")  # torch has no CPU backward for flex
        attend = get_backend(name, device).prepare(CausalMask(), S, device)
        leaves = [t.detach().requires_grad_(backward) for t in (q, k, v)]

        def call():
            o = attend(*leaves)
            if backward:
                o.float().square().mean().backward()

        for _ in range(2):
            call()
        _sync(device)
        rounds = max(1, sizes.steps)
        start = time.perf_counter()
        for _ in range(rounds):
            call()
        _sync(device)
        out[name] = {"seconds": round((time.perf_counter() - start) / rounds, 5),
                     "measured": "forward+backward" if backward else "forward (no CPU backward)"}
    return out


@torch.no_grad()
def decode(sizes: Sizes, device, data_sheet_bandwidth: float | None) -> dict:
    """Batch-1 greedy decode tokens/s: ours, transformers' generate, and the HBM bound."""
    from transformers import AutoModelForCausalLM

    from glassworks.model.checkpoint import save_checkpoint
    from glassworks.model.generation import SamplingConfig, generate
    from glassworks.model.hf import export_hf
    from glassworks.model.transformer import build

    c = _config("1b", sizes)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    model = build(c, device=device, dtype=dtype, seed=0).eval()
    prompt = torch.randint(0, c.vocab_size, (sizes.prompt,)).tolist()
    n = sizes.new_tokens

    def timed(fn) -> float:
        fn(4)
        _sync(device)
        start = time.perf_counter()
        fn(n)
        _sync(device)
        return n / (time.perf_counter() - start)

    ours = timed(lambda m: generate(model, [prompt], SamplingConfig(max_new_tokens=m)))
    with tempfile.TemporaryDirectory() as tmp:
        folder = export_hf(save_checkpoint(model, os.path.join(tmp, "ckpt")), os.path.join(tmp, "hf"))
        twin = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype).to(device).eval()
    ids = torch.tensor([prompt], device=device)
    hf = timed(lambda m: twin.generate(ids, max_new_tokens=m, min_new_tokens=m, do_sample=False))

    blob = torch.empty(256 * 2**20 if device.type == "cuda" else 2**20, dtype=torch.uint8, device=device)
    copy = lambda: blob.clone()  # noqa: E731
    copy()
    _sync(device)
    start = time.perf_counter()
    for _ in range(10):
        copy()
    _sync(device)
    measured_bw = 10 * 2 * blob.numel() / (time.perf_counter() - start)  # read + write per clone
    width = torch.finfo(dtype).bits // 8
    weight_bytes = width * parameter_count(c)  # every weight read once per token (embedding: one row, ignored)
    span = min(sizes.prompt + n, c.window or sizes.prompt + n)
    kv_bytes = width * 2 * c.n_layers * c.n_kv_heads * c.head_dim * span  # at the end of generation (worst case)
    per_token = weight_bytes + kv_bytes
    result = {"preset": "1b", "dtype": str(dtype), "new_tokens": n, "ours_tok_s": round(ours, 1),
              "hf_generate_tok_s": round(hf, 1), "vs_hf": round(ours / hf, 2),
              "bytes_per_token": per_token, "copy_bandwidth_gb_s": round(measured_bw / 1e9, 1),
              "bound_tok_s_measured_bw": round(measured_bw / per_token, 1),
              "fraction_of_measured_bound": round(ours * per_token / measured_bw, 3)}
    if data_sheet_bandwidth:
        result["bound_tok_s_data_sheet"] = round(data_sheet_bandwidth / per_token, 1)
        result["fraction_of_data_sheet_bound"] = round(ours * per_token / data_sheet_bandwidth, 3)
    return result


def _data_sheet(device) -> plan.GpuSpec | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for key, spec in (("H200", plan.GPUS["h200"]), ("H100", plan.GPUS["h100"]), ("A100", plan.GPUS["a100"])):
        if key in name:
            return spec
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=None, help="timed training steps per preset")
    parser.add_argument("--no-compile", action="store_true", help="eager blocks (no torch.compile)")
    parser.add_argument("--cpu-smoke", action="store_true", help="every code path at tiny sizes on the CPU")
    args = parser.parse_args(argv)
    if args.cpu_smoke:
        sizes, device = SMOKE_SIZES, torch.device("cpu")
    else:
        if not torch.cuda.is_available():
            print("bench/gpu.py: no CUDA device is available; this benchmark measures a GPU "
                  "(run it on one, or pass --cpu-smoke to check its code paths on the CPU)", file=sys.stderr)
            return 2
        sizes, device = GPU_SIZES, torch.device("cuda")
    if args.steps:
        sizes = dataclasses.replace(sizes, steps=args.steps)
    torch.manual_seed(0)
    spec = _data_sheet(device)
    result = {"bench": "gpu", "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
              "cpu_smoke": args.cpu_smoke, "torch": torch.__version__,
              "peak_bf16_tflops": (peak_flops(device) or 0) / 1e12 or None}
    compile_blocks = not args.no_compile and not args.cpu_smoke
    result["train"] = [train_mfu(name, sizes, device, compile_blocks) for name in ("150m", "1b")]
    if device.type == "cuda":
        torch.cuda.empty_cache()
    result["attention"] = attention_backends(sizes, device)
    result["decode"] = decode(sizes, device, spec.hbm_bytes_per_s if spec else None)
    if device.type == "cuda":
        result["peak_memory_gb"] = round(torch.cuda.max_memory_allocated(device) / 1e9, 2)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
