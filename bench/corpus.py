"""Benchmark: each corpus recipe against the same recipe on stock datatrove word splitting.

For every recipe in configs/ (slimpajama, dclm, stack) it reads the documents the
`documents` stage makes from the embedded corpus, then runs the recipe's step stages in
one process (one core) twice on the same input: as configured (glassworks' fast English
splitter) and as stock datatrove runs them (spaCy's English tokenizer for the Gopher, C4
and FineWeb filters). Each run is a fresh process, so neither splitter starts with a warm
cache (spaCy's tokenizer caches what it has seen, as glassworks' splitter memoises). It
reports MB/s per core of each, their ratio, and the share of documents whose keep/drop
decision agrees. MinHash stages run stock datatrove code in both variants and are left out
of the timing. Prints one JSON line.

    python bench/corpus.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from datatrove.data import Document

from glassworks.pipeline.documents import is_settled
from glassworks.pipeline.ingest import DocumentsConfig, run_documents
from glassworks.pipeline.recipe import RecipeConfig, check_recipe_file
from glassworks.pipeline.sources import SourcesConfig, run_sources
from glassworks.pipeline.steps import build_step

ROOT = Path(__file__).resolve().parents[1]
WORD_SPLITTING = {"gopher_quality", "gopher_repetition", "c4_quality", "fineweb_quality"}


def load_documents(folder: Path) -> list[dict]:
    return [json.loads(line) for f in sorted(folder.glob("*.jsonl.gz")) for line in gzip.open(f, "rt", encoding="utf-8")]


def run_variant(recipe: RecipeConfig, run_dir: Path, stock: bool, inputs: dict[str, list[dict]]) -> tuple[float, dict]:
    """Seconds spent in the recipe's step stages, and each document's final verdict."""
    anchors = {"run": run_dir, "recipe": ROOT / "configs"}
    current = {s.name: [Document(text=d["text"], id=d["id"], metadata=dict(d["metadata"])) for d in inputs[s.shape]]
               for s in recipe.sources}
    verdicts, seconds = {}, 0.0
    for stage in recipe.stages:
        if stage.kind != "steps":
            continue
        for source in recipe.sources:
            if stage.sources and source.name not in stage.sources:
                continue
            steps = []
            for spec in stage.steps:
                params = dict(spec.params)
                if stock and spec.step in WORD_SPLITTING:
                    params["words"] = "spacy"
                steps.append(build_step(spec.step, params, "bench", anchors))
            data = iter(current[source.name])
            for step in steps:
                data = step.run(data, 0, 1)
            start = time.perf_counter()
            out = list(data)
            seconds += time.perf_counter() - start
            for doc in out:
                verdicts[doc.id] = doc.metadata.get("drop_reason") or doc.metadata.get("quarantine_reason") or "kept"
            current[source.name] = [doc for doc in out if not is_settled(doc)]
    return seconds, verdicts


def one_run(recipe_name: str, variant: str, run_dir: Path) -> None:
    """Child process: run one variant once and print its seconds and verdicts as JSON."""
    recipe = check_recipe_file(ROOT / "configs" / f"{recipe_name}.yaml")
    inputs = {shape: load_documents(run_dir / "documents" / shape) for shape in ("web", "text", "code")}
    seconds, verdicts = run_variant(recipe, run_dir, variant == "stock", inputs)
    print(json.dumps({"seconds": seconds, "verdicts": verdicts}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per variant; the fastest is kept")
    parser.add_argument("--one", nargs=3, metavar=("RECIPE", "VARIANT", "RUN_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one_run(args.one[0], args.one[1], Path(args.one[2]))
        return
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp)
        run_sources(SourcesConfig(data_dir=ROOT / "data"), run_dir)
        run_documents(DocumentsConfig(), run_dir)
        for name in ("slimpajama", "dclm", "stack"):
            recipe = check_recipe_file(ROOT / "configs" / f"{name}.yaml")
            used = {s.shape for s in recipe.sources}
            megabytes = sum(len(d["text"].encode("utf-8")) for shape in used
                            for d in load_documents(run_dir / "documents" / shape)) / 1e6
            best = {}
            for variant in ("glassworks", "stock"):
                runs = []
                for _ in range(args.repeat):
                    done = subprocess.run([sys.executable, __file__, "--one", name, variant, str(run_dir)],
                                          capture_output=True, text=True, check=True)
                    runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
                best[variant] = (min(r["seconds"] for r in runs), runs[0]["verdicts"])
            agree = sum(best["glassworks"][1][k] == best["stock"][1].get(k) for k in best["glassworks"][1])
            figures[name] = {
                "mb": round(megabytes, 2),
                "mb_s_per_core": {v: round(megabytes / best[v][0], 3) for v in best},
                "ratio": round(best["stock"][0] / best["glassworks"][0], 2),
                "decisions_agree": round(agree / max(1, len(best["glassworks"][1])), 4),
                "documents": len(best["glassworks"][1]),
            }
    print(json.dumps({"bench": "corpus", "recipes": figures, "python": platform.python_version(),
                      "machine": platform.machine(), "cpus": os.cpu_count()}))


if __name__ == "__main__":
    main()
