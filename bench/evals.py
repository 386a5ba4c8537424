"""Benchmark: the lm-eval model `glassworks` against lm-eval's own `hf` model on the Hugging
Face export of the same checkpoint, on the shipped held-out suite (all of it).

A demo-sized checkpoint (the `tiny` preset with a SentencePiece tokenizer trained on the
embedded corpus; untrained weights: speed does not depend on them) is evaluated by both
models through `lm_eval.simple_evaluate`, in one process, on the same rendered tasks:
the next-line choice tasks with `hf`'s defaults, the perplexity tasks with
`add_bos_token=False` (what `glassworks` scores, see evals/lm.py). Prints one JSON line:
seconds of each, the ratio, and the largest relative difference of any metric.

    python bench/evals.py [--vocab 2048] [--threads 1] [--limit N]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def build_checkpoint(work: Path, vocab: int) -> tuple[Path, Path]:
    from glassworks.model import CheckpointState, build, export_hf, preset, save_checkpoint
    from glassworks.pipeline.tokens.hf import export_hf as export_tokenizer
    from glassworks.pipeline.tokens.train import ModelConfig, train_model

    texts = []
    for name in ("sphinx-docs-rst.jsonl", "reina-valera-1909.jsonl"):
        with open(REPO / "data" / "text" / name, encoding="utf-8") as handle:
            texts += [json.loads(line)["text"] for line in handle]
    proto = train_model(texts, ModelConfig(vocab_size=vocab, threads=2, model_max_length=256), seed=0)
    tok = work / "tokenizer"
    tok.mkdir()
    (tok / "tokenizer.model").write_bytes(proto)
    export_tokenizer(proto, tok, 256)
    from glassworks.pipeline.tokens.tokenizer import Tokenizer

    model = build(dataclasses.replace(preset("tiny"), vocab_size=Tokenizer.load(tok).vocab_size), seed=0)
    checkpoint = save_checkpoint(model, work / "final", CheckpointState(step=1, tokens_seen=1), tokenizer_dir=tok)
    return checkpoint, export_hf(checkpoint, work / "hf")


def timed(model: str, args: dict, tasks: list[str], manager, limit) -> tuple[float, dict]:
    import lm_eval

    start = time.perf_counter()
    out = lm_eval.simple_evaluate(model=model, model_args=args, tasks=tasks, task_manager=manager, limit=limit,
                                  bootstrap_iters=0, log_samples=False)
    return time.perf_counter() - start, out["results"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vocab", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()

    import torch

    import glassworks.evals  # noqa: F401 - registers the model
    from glassworks.evals.run import EvalConfig, offline, prepare

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        checkpoint, hf_dir = build_checkpoint(work, args.vocab)
        with offline():
            prepared = prepare(work / "run", EvalConfig(), REPO / "data", None)
            cloze = sorted(t for t in prepared.files if "cloze" in t)
            ppl = sorted(t for t in prepared.files if "ppl" in t)
            ours, theirs = {}, {}
            timed("glassworks", {"checkpoint": str(checkpoint)}, cloze[:1], prepared.task_manager, 2)  # warm-up
            timed("hf", {"pretrained": str(hf_dir), "device": "cpu", "dtype": "float32"}, cloze[:1],
                  prepared.task_manager, 2)
            seconds = {"glassworks": 0.0, "hf": 0.0}
            for tasks, bos in ((cloze, True), (ppl, False)):
                s, r = timed("glassworks", {"checkpoint": str(checkpoint), "batch_size": 8}, tasks,
                             prepared.task_manager, args.limit)
                seconds["glassworks"] += s
                ours.update(r)
                s, r = timed("hf", {"pretrained": str(hf_dir), "device": "cpu", "dtype": "float32", "batch_size": 8,
                                    "add_bos_token": bos}, tasks, prepared.task_manager, args.limit)
                seconds["hf"] += s
                theirs.update(r)
    diffs = {}
    for task, metrics in ours.items():
        for key, value in metrics.items():
            if isinstance(value, float) and "stderr" not in key:
                other = theirs[task][key]
                diffs[f"{task}/{key.split(',')[0]}"] = abs(value - other) / max(abs(other), 1e-12)
    worst = max(diffs, key=diffs.get)
    if os.environ.get("BENCH_DEBUG"):
        print(json.dumps(diffs, indent=1))
    print(json.dumps({
        "bench": "evals", "suite": "glassworks_heldout", "tasks": len(ours), "vocab": args.vocab,
        "threads": args.threads, "limit": args.limit,
        "glassworks_s": round(seconds["glassworks"], 2), "hf_s": round(seconds["hf"], 2),
        "hf_over_glassworks": round(seconds["hf"] / seconds["glassworks"], 2),
        "max_rel_metric_diff": float(f"{diffs[worst]:.3g}"), "worst_metric": worst,
        "acc_equal": all(ours[t]["acc,none"] == theirs[t]["acc,none"] for t in ours if "acc,none" in ours[t]),
        "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }))


if __name__ == "__main__":
    main()
