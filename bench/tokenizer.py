"""Benchmark: the packing stage's tokens/s per core, and SentencePiece against its HF export.

Input: the embedded real text (Sphinx reST docs, the code of data/code, Spanish Bible chapters)
copied ``--copies`` times as distinct documents, a tokenizer of ``--vocab`` pieces trained
on it. Then, in one run:

- ``data build`` (tokenize into the pool, draw and pack three phases) with 1 and with 2
  worker processes; tokens/s of the tokenize stage and of the packing of the phases, from
  the stages' own manifests (wall seconds), and per core;
- the same texts encoded single-threaded by SentencePiece (glassworks' encoder) and by the
  exported tokenizer.json through the ``tokenizers`` library: tokens/s of each, their ratio
  and the share of documents with identical ids.

Prints one JSON line.

    python bench/tokenizer.py [--copies 8] [--vocab 4096] [--repeat 3]
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file shares its name with the standard library's `tokenize` (which linecache and
# inspect import): take its folder off the import path before anything imports that.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import gzip  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

os.environ.setdefault("RAYON_NUM_THREADS", "1")  # the HF tokenizer on one core, like SentencePiece
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from glassworks.config import from_dict  # noqa: E402
from glassworks.pipeline.tokens.build import build_mixtures  # noqa: E402
from glassworks.pipeline.tokens.mixture import MixtureConfig  # noqa: E402
from glassworks.pipeline.tokens.tokenizer import Tokenizer  # noqa: E402
from glassworks.pipeline.tokens.train import TokenizerConfig, train_tokenizer  # noqa: E402
from glassworks.provenance.recorder import record_stage  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"


def real_texts() -> list[tuple[str, str]]:
    """(source, text) of every embedded document worth tokenizing."""
    out = []
    for name, source in (("sphinx-docs-rst.jsonl", "docs"), ("reina-valera-1909.jsonl", "bible")):
        for line in (DATA / "text" / name).read_text(encoding="utf-8").splitlines():
            out.append((source, json.loads(line)["text"]))
    for path in sorted((DATA / "code").rglob("*")):
        if path.suffix in (".py", ".c", ".h"):
            out.append(("code", path.read_text(encoding="utf-8")))
    return out


def make_run(run: Path, copies: int) -> int:
    """The corpus (each text ``copies`` times, as distinct documents) recorded in ``run``."""
    texts = real_texts()
    with record_stage(run, "bench.corpus", "1", {"copies": copies}) as rec:
        for source in ("docs", "code", "bible"):
            path = run / "corpus" / source / "part-0.jsonl.gz"
            path.parent.mkdir(parents=True)
            with gzip.GzipFile(path, "wb", mtime=0, compresslevel=1) as handle:
                for c in range(copies):
                    for i, (s, text) in enumerate(texts):
                        if s == source:
                            handle.write(json.dumps({"id": f"{source}/{c}/{i}", "text": text}).encode() + b"\n")
                            rec.counts.add_in()
                            rec.counts.keep()
        rec.output(run / "corpus")
    return sum(len(t.encode()) for _, t in texts) * copies


def configs(vocab: int, pool_tokens_hint: int) -> tuple[TokenizerConfig, MixtureConfig]:
    sources = {"docs": ["corpus/docs"], "code": ["corpus/code"], "bible": ["corpus/bible"]}
    tok = from_dict(TokenizerConfig, {"corpus": {"sources": sources}, "sample": {"bytes": 3_000_000},
                                      "model": {"vocab_size": vocab, "threads": 1}})
    budget = max(pool_tokens_hint // 2, 4 * 4096)
    weights = {"docs": 0.6, "code": 0.3, "bible": 0.1}
    mix = from_dict(MixtureConfig, {"corpus": {"sources": sources}, "phases": [
        {"name": "phase1", "seq_len": 2048, "tokens": budget, "weights": weights},
        {"name": "phase2", "seq_len": 4096, "tokens": budget // 2, "weights": weights},
        {"name": "phase3", "seq_len": 4096, "tokens": budget // 4, "weights": {"docs": 0.4, "code": 0.6}},
    ]})
    return tok, mix


def stage_seconds(run: Path) -> dict[str, float]:
    out = {}
    for path in (run / "manifests").glob("data.*.json"):
        manifest = json.loads(path.read_text())
        out[manifest["stage"]["name"]] = manifest["run"]["wall_seconds"]
    return out


def packing(run: Path, config: MixtureConfig, workers: int) -> dict:
    summary = build_mixtures(config, run, workers=workers)
    seconds = stage_seconds(run)
    pool = json.loads((run / "data" / "tokenized" / "pool.json").read_text())
    pool_tokens = sum(s["tokens"] for s in pool["sources"].values())
    packed = sum(p.tokens for p in summary.phases)
    pack_seconds = sum(v for k, v in seconds.items() if k != "data.tokenize")
    return {"workers": workers, "pool_tokens": pool_tokens, "tokenize_s": seconds["data.tokenize"],
            "tokenize_tokens_per_s": round(pool_tokens / seconds["data.tokenize"]),
            "tokenize_tokens_per_s_per_core": round(pool_tokens / seconds["data.tokenize"] / workers),
            "packed_tokens": packed, "pack_s": round(pack_seconds, 3),
            "pack_tokens_per_s": round(packed / pack_seconds)}


def side_by_side(tokenizer_dir: Path, texts: list[str], repeat: int) -> dict:
    from tokenizers import Tokenizer as HFTokenizer

    sp = Tokenizer.load(tokenizer_dir)
    hf = HFTokenizer.from_file(str(tokenizer_dir / "tokenizer.json"))
    best = {"sentencepiece": float("inf"), "hf_tokenizers": float("inf")}
    for _ in range(repeat):
        start = time.perf_counter()
        sp_ids = [sp.encode_array(t) for t in texts]
        best["sentencepiece"] = min(best["sentencepiece"], time.perf_counter() - start)
        start = time.perf_counter()
        hf_ids = [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)]
        best["hf_tokenizers"] = min(best["hf_tokenizers"], time.perf_counter() - start)
    tokens = sum(len(i) for i in sp_ids)
    same = sum(a.tolist() == b for a, b in zip(sp_ids, hf_ids))
    return {"documents": len(texts), "bytes": sum(len(t.encode()) for t in texts), "tokens": tokens,
            "sentencepiece_tokens_per_s": round(tokens / best["sentencepiece"]),
            "hf_tokens_per_s": round(tokens / best["hf_tokenizers"]),
            "hf_over_sentencepiece": round(best["sentencepiece"] / best["hf_tokenizers"], 3),
            "identical_ids_fraction": same / len(texts)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=8, help="copies of the embedded text in the corpus")
    parser.add_argument("--vocab", type=int, default=4096, help="vocabulary of the benchmark tokenizer")
    parser.add_argument("--repeat", type=int, default=3, help="side-by-side timing: best of this many")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="glassworks-bench-tokenize-") as tmp:
        base = Path(tmp) / "base"
        corpus_bytes = make_run(base, args.copies)
        tok_config, _ = configs(args.vocab, 0)
        tokenizer_dir = train_tokenizer(tok_config, base)
        hint = int(corpus_bytes / 3.5)
        _, mix_config = configs(args.vocab, hint)
        runs = []
        for workers in (1, 2):
            run = Path(tmp) / f"w{workers}"
            shutil.copytree(base, run)
            runs.append(packing(run, mix_config, workers))
        same_bytes = all((Path(tmp) / "w1" / "data" / rel).read_bytes() == p.read_bytes()
                         for p in (Path(tmp) / "w2" / "data").rglob("*") if p.is_file()
                         for rel in [p.relative_to(Path(tmp) / "w2" / "data")])
        texts = [t for _, t in real_texts()]
        result = {
            "bench": "tokenize", "python": platform.python_version(), "cpus": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 2),  # others' work on the cores skews timings
            "corpus_bytes": corpus_bytes, "vocab_size": args.vocab,
            "packing": runs, "workers_give_same_bytes": same_bytes,
            "tokenize_speedup_2_workers": round(runs[1]["tokenize_tokens_per_s"] / runs[0]["tokenize_tokens_per_s"], 3),
            "encode_side_by_side": side_by_side(tokenizer_dir, texts, args.repeat),
        }
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
