"""Benchmark: a real checkpoint sweep on the held-out suite, with predictability and contamination.

Trains the `tiny` preset for a few hundred steps on the embedded corpus with the held-out
documents left out (`held_out_ids`), packing the training text into real token shards;
saves checkpoints at geometrically spaced steps; then `sweep` evaluates every checkpoint
on `glassworks_heldout`, fits the power law on the early ones and measures contamination
against the shards. A plain AdamW loop stands in for the trainer (not part of this area).
Prints one JSON line: seconds per checkpoint, the first and last checkpoint's metrics, the
predictability error of each perplexity fit, and the contamination of each task.

    python -P bench/eval_sweep.py [--steps 400] [--checkpoints 6]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def training_texts() -> list[str]:
    from glassworks.evals.suite import SuiteConfig, held_out, read_sources

    docs = read_sources(REPO / "data")  # copies are left out here too: a stand-in for the corpus stages
    held = held_out(docs, SuiteConfig())
    return [d.text for s, source_docs in docs.items() for d in source_docs if d not in held[s]]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--checkpoints", type=int, default=6)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import numpy as np
    import torch

    from glassworks.evals.run import EvalConfig
    from glassworks.evals.sweep import SweepConfig, sweep
    from glassworks.model import CheckpointState, build, preset, save_checkpoint
    from glassworks.pipeline.tokens.hf import export_hf as export_tokenizer
    from glassworks.pipeline.tokens.shards import PackedDataset, ShardWriter
    from glassworks.pipeline.tokens.tokenizer import Tokenizer
    from glassworks.pipeline.tokens.train import ModelConfig, train_model

    torch.set_num_threads(args.threads)
    texts = training_texts()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tok_dir = work / "tokenizer"
        tok_dir.mkdir()
        proto = train_model(texts, ModelConfig(vocab_size=2048, threads=2, model_max_length=128), seed=0)
        (tok_dir / "tokenizer.model").write_bytes(proto)
        export_tokenizer(proto, tok_dir, 128)
        tok = Tokenizer.load(tok_dir)
        seq_len, batch = 128, 16
        docs = [np.asarray(tok.encode(t, bos=True, eos=True), dtype=tok.dtype) for t in texts]
        phase = work / "data" / "phase1"
        writer = ShardWriter(phase, seq_len, sum(map(len, docs)) // seq_len, 1024, tok.dtype, ["all"])
        for i, d in enumerate(docs):
            writer.add(d, 0, i)
        writer.write_index(vocab_size=tok.vocab_size, bos_id=tok.bos_id, eos_id=tok.eos_id)
        data = PackedDataset(phase)

        model = build(dataclasses.replace(preset("tiny"), vocab_size=tok.vocab_size, max_seq_len=seq_len), seed=0)
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.1)
        saves = sorted({int(round(x)) for x in np.geomspace(args.steps / 2 ** (args.checkpoints - 1), args.steps,
                                                            args.checkpoints)})
        rng = np.random.default_rng(0)
        checkpoints, start = [], time.perf_counter()
        model.train()
        for step in range(1, args.steps + 1):
            rows = torch.as_tensor(np.stack([data.sequence(int(i)).tokens for i in rng.integers(0, len(data), batch)])
                                   .astype(np.int64))
            logits = model(rows[:, :-1])
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), rows[:, 1:].reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step in saves:
                state = CheckpointState(step=step, tokens_seen=step * batch * seq_len, phase="phase1")
                checkpoints.append(save_checkpoint(model, work / "checkpoints" / f"step{step:05d}", state,
                                                   tokenizer_dir=tok_dir))
        train_s = time.perf_counter() - start
        model.eval()

        start = time.perf_counter()
        summary = sweep(checkpoints, work / "run", SweepConfig(eval=EvalConfig(threads=args.threads)),
                        data_dir=REPO / "data", train_data=[phase])
        eval_s = time.perf_counter() - start
    first, last = summary["checkpoints"][0], summary["checkpoints"][-1]
    keep = [k for k in last if k.endswith(("/bits_per_byte", "/acc_norm"))]
    print(json.dumps({
        "bench": "eval_sweep", "steps": args.steps, "checkpoints": len(checkpoints), "train_s": round(train_s, 1),
        "final_loss": round(float(loss.detach()), 3), "eval_s_per_checkpoint": round(eval_s / len(checkpoints), 2),
        "first": {k: round(first[k], 3) for k in keep}, "last": {k: round(last[k], 3) for k in keep},
        "predictability_rel_error": {k: round(v["rel_error"], 4) for k, v in summary["predictability"].items()
                                     if k.endswith("/bits_per_byte")},
        "contaminated_docs": {t: f"{c['docs_contaminated']}/{c['docs']} (any {c['docs_any_overlap']}, "
                                 f"coverage {c['mean_coverage']:.2f})"
                               for t, c in summary["contamination"]["tasks"].items()},
        "cores": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2),
    }))


if __name__ == "__main__":
    main()
