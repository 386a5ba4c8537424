"""Documents an evaluation suite holds out never reach the pool, and the manifest says so."""

import gzip
import json
from dataclasses import replace
from pathlib import Path

import pytest

from glassworks.errors import GlassworksError
from glassworks.pipeline.tokens.build import build_mixtures


def test_held_out_ids_are_dropped_and_counted(run_dir, mix_config, records):
    held = sorted(r["id"] for source in records.values() for r in source[-2:])  # none of zero weight
    (run_dir / "eval").mkdir()
    (run_dir / "eval" / "heldout-ids.txt").write_text("".join(f"{i}\n" for i in held) + "not-in-the-corpus\n")
    config = mix_config()
    excluded = replace(config, corpus=replace(config.corpus, exclude_ids=Path("eval/heldout-ids.txt")))

    summary = build_mixtures(excluded, run_dir)
    assert summary.documents["dropped"].get("held_out") == len(held)
    pool = run_dir / "data" / "tokenized"
    pooled = {json.loads(line)["id"] for f in pool.rglob("*.jsonl.gz") for line in gzip.open(f, "rt")}
    assert pooled and not pooled & set(held)
    manifest = json.loads((run_dir / "manifests" / f"{summary.pool_manifest_id}.json").read_text())
    assert "eval/heldout-ids.txt" in {f["path"] for f in manifest["inputs"]["files"]}


def test_a_missing_exclusion_file_is_named(run_dir, mix_config):
    config = mix_config()
    missing = replace(config, corpus=replace(config.corpus, exclude_ids=Path("eval/none.txt")))
    with pytest.raises(GlassworksError, match=r"eval/none\.txt: cannot read the ids to exclude"):
        build_mixtures(missing, run_dir)
