"""Benchmark: a phase's draw and copy order over a synthetic pool of millions of documents.

The pool is ``--documents`` DOC records (pipeline/tokens/pool.py) whose (length, weight) pairs
are sampled, with replacement, from a real token pool (``--pool``: the ``data/tokenized``
folder of a `glassworks demo` run), source by source in the real pool's proportions; ids are
distinct 64-bit hashes. No tokens are written: the draw and the order read only
``documents.npy``, memory-mapped, as `data build` does.

A phase whose budget is the pool's weighted tokens (about one drawn copy per unit of weight:
the demo's phases are 0.2-2x their pools) is then drawn (copies.draw_source per source) and
ordered (copies.copy_order, consumed to the end as packing does) in a child process, once per
``--memory`` budget. Each run reports its wall seconds for the draw and the order, its peak
resident set (VmHWM, which counts the memory-mapped pool pages it touched) and its peak
anonymous memory (RssAnon, sampled every 10 ms: what the budget bounds), and a digest of the
copy order, which must be the same for every budget. Time per 1 B documents is extrapolated
linearly (the passes are linear; the run sort is n log n within a run of fixed size).

Prints one JSON line.

    python bench/tokens_scale.py --pool RUN/data/tokenized [--documents 10000000] [--memory 4 0.25]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


def _status(field: str) -> int:
    """A /proc/self/status figure in bytes (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def make_pool(real: Path, out: Path, documents: int, seed: int) -> dict:
    """Write one synthetic documents.npy per source of the real pool; returns its figures."""
    from glassworks.pipeline.tokens.draw import mix64
    from glassworks.pipeline.tokens.pool import DOC

    sources = sorted(p.name for p in real.iterdir() if (p / "documents.npy").is_file())
    samples = {s: np.load(real / s / "documents.npy") for s in sources}
    total = sum(len(d) for d in samples.values())
    rng = np.random.default_rng(seed)
    figures, first = {}, 0
    for s in sources:
        n = round(documents * len(samples[s]) / total)
        folder = out / s
        folder.mkdir(parents=True)
        docs = np.lib.format.open_memmap(folder / "documents.npy", mode="w+", dtype=DOC, shape=(n,))
        tokens = weighted = 0
        for a in range(0, n, 1 << 20):
            b = min(a + (1 << 20), n)
            pick = samples[s][rng.integers(0, len(samples[s]), b - a)]
            docs["length"][a:b] = pick["length"]
            docs["weight"][a:b] = pick["weight"]
            docs["id"][a:b] = mix64(np.arange(first + a, first + b, dtype=np.uint64))
            tokens += int(pick["length"].sum())
            weighted += float(pick["weight"] @ (pick["length"] + 2))
        docs.flush()
        del docs
        first += n
        figures[s] = {"documents": n, "tokens": tokens, "weighted_tokens": weighted}
    return figures


def child(pool: Path, memory_gib: float, tokens: int, shares: dict, scratch: Path) -> dict:
    """One draw and order, measured from inside a fresh process."""
    from glassworks.pipeline.tokens.copies import copy_order, draw_source
    from glassworks.pipeline.tokens.mixture import split_budget

    peak = [0]
    stop = threading.Event()

    def sample():
        while not stop.wait(0.01):
            peak[0] = max(peak[0], _status("RssAnon"))

    threading.Thread(target=sample, daemon=True).start()
    names = sorted(shares)
    targets = split_budget(tokens, [shares[s] for s in names])
    start = time.perf_counter()
    window = max(1024, int(memory_gib * (1 << 30)) // 128)  # as build_phase sizes it
    draws = [draw_source(s, np.load(pool / s / "documents.npy", mmap_mode="r"), 2, t, seed=0, phase="phase1",
                         window=window) for s, t in zip(names, targets)]
    drawn = time.perf_counter()
    digest, copies = hashlib.sha256(), 0
    for src, doc in copy_order(draws, 0, "phase1", scratch, int(memory_gib * (1 << 30))):
        digest.update(np.stack([src, doc], axis=1).astype("<i8").tobytes())  # record by record
        copies += len(doc)
    ordered = time.perf_counter()
    stop.set()
    peak[0] = max(peak[0], _status("RssAnon"))
    return {"memory_gib": memory_gib, "draw_s": round(drawn - start, 2), "order_s": round(ordered - drawn, 2),
            "copies": copies, "drawn_tokens": sum(d.drawn_tokens for d in draws),
            "peak_rss_mib": round(_status("VmHWM") / 2**20, 1), "peak_anon_mib": round(peak[0] / 2**20, 1),
            "order_sha256": digest.hexdigest()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pool", type=Path, default=Path("glassworks-demo/data/tokenized"),
                        help="data/tokenized folder of a demo run: the real distributions")
    parser.add_argument("--documents", type=int, default=10_000_000)
    parser.add_argument("--memory", type=float, nargs="+", default=[4.0, 0.25], help="GiB budgets to run")
    parser.add_argument("--workdir", type=Path, default=None, help="where the synthetic pool goes (default: a temp dir)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        pool, memory, tokens, scratch = args.child
        shares = json.loads((Path(pool) / "shares.json").read_text())
        print(json.dumps(child(Path(pool), float(memory), int(tokens), shares, Path(scratch))))
        return
    if not (args.pool / "pool.json").is_file():
        sys.exit(f"{args.pool}: no pool.json; run `glassworks demo --workdir DIR` and pass --pool DIR/data/tokenized")
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        pool = Path(tmp) / "pool"
        start = time.perf_counter()
        figures = make_pool(args.pool, pool, args.documents, seed=0)
        made = time.perf_counter() - start
        weighted = sum(f["weighted_tokens"] for f in figures.values())
        shares = {s: f["weighted_tokens"] / weighted for s, f in figures.items()}
        (pool / "shares.json").write_text(json.dumps(shares))
        tokens = int(weighted)
        runs = []
        for memory in args.memory:
            out = subprocess.run([sys.executable, __file__, "--child", str(pool), str(memory), str(tokens),
                                  str(Path(tmp) / "runs")], check=True, capture_output=True, text=True)
            runs.append(json.loads(out.stdout.splitlines()[-1]))
    n = args.documents
    per_billion = {f"{r['memory_gib']}GiB": round((r["draw_s"] + r["order_s"]) * 1e9 / n / 3600, 2) for r in runs}
    print(json.dumps({
        "bench": "tokens_scale", "date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "real_pool": str(args.pool), "documents": n, "pool_tokens": sum(f["tokens"] for f in figures.values()),
        "phase_tokens": tokens, "sources": {s: f["documents"] for s, f in figures.items()}, "make_pool_s": round(made, 1),
        "runs": runs, "same_order_for_every_budget": len({r["order_sha256"] for r in runs}) == 1,
        "hours_per_1B_documents": per_billion,
    }))


if __name__ == "__main__":
    main()
