"""Shared fixtures of the dedup tests: the demo's corpus outputs, and reading dedup's output back."""

import gzip
import json
from dataclasses import replace
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
DEMO_INPUTS = {"slimpajama": "corpus/slimpajama/language", "dclm": "corpus/dclm/quality",
               "stack": "corpus/stack/near_dedup"}


@pytest.fixture(scope="session")
def corpus_run(tmp_path_factory) -> Path:
    """A run directory holding the three demo recipes' outputs on the embedded corpus (what
    `glassworks demo` writes before dedup), built once per session."""
    from glassworks.pipeline.recipe import check_recipe_file, run_recipe

    run = tmp_path_factory.mktemp("dedup-corpus") / "run"
    for name in ("slimpajama", "dclm", "stack"):
        path = REPO / "configs" / f"{name}.yaml"
        recipe = check_recipe_file(path)
        run_recipe(replace(recipe, raw=replace(recipe.raw, data_dir=REPO / "data")), run, origin=str(path))
    return run


def _read_docs(folder: Path) -> list[dict]:
    """Every JSON line of the .jsonl.gz files under ``folder``, in path order."""
    return [json.loads(line) for f in sorted(folder.rglob("*.jsonl.gz")) for line in gzip.open(f, "rt", encoding="utf-8")]


def _write_jsonl(path: Path, records: list, gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records)
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as out:
            out.write(lines)
    else:
        path.write_text(lines, encoding="utf-8")
    return path


@pytest.fixture
def read_docs():
    """``read_docs(folder)``: every document under a folder of .jsonl.gz files."""
    return _read_docs


@pytest.fixture
def write_jsonl():
    """``write_jsonl(path, records, gz=False)``: records (dicts, or raw strings as lines) to a JSONL file."""
    return _write_jsonl
