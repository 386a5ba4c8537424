"""Runs that must stay true: worker counts, checkout paths, shared run dirs, odd raw input."""

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from glassworks.errors import GlassworksError
from glassworks.pipeline import readers
from glassworks.pipeline.ingest import DocumentsConfig, run_documents
from glassworks.pipeline.readers import CodeTreeReader, JsonlDocumentReader
from glassworks.pipeline.recipe import check_recipe_file, run_recipe
from glassworks.pipeline.sources import SourcesConfig, run_sources
from glassworks.provenance import verify_run

REPO = Path(__file__).resolve().parents[2]


def test_manifest_ids_do_not_depend_on_workers_or_on_where_the_data_lies(tmp_path):
    copy = tmp_path / "elsewhere" / "data"
    shutil.copytree(REPO / "data", copy)
    ids = []
    for data, workers, run in ((REPO / "data", 1, tmp_path / "a"), (copy, 2, tmp_path / "b")):
        sources = run_sources(SourcesConfig(data_dir=data), run)
        documents, _ = run_documents(DocumentsConfig(tasks=2, workers=workers), run)
        ids.append((sources["id"], documents["id"]))
        assert "data_dir" not in sources["config"] and "workers" not in documents["config"]
    assert ids[0] == ids[1]


def test_a_stage_rerun_with_another_config_cannot_clobber_what_later_stages_used(tmp_path):
    recipe = check_recipe_file(REPO / "configs" / "slimpajama.yaml")
    recipe = replace(recipe, raw=replace(recipe.raw, data_dir=REPO / "data"))
    run = tmp_path / "run"
    run_recipe(recipe, run)
    with pytest.raises(GlassworksError, match=r"stage 'documents' was run here with another config, and 2 later stage"):
        run_recipe(replace(recipe, documents=DocumentsConfig(tasks=2)), run)
    assert verify_run(run, roots={"data": REPO / "data"}).ok  # nothing was touched
    run_recipe(recipe, run)  # the same config may run again


def test_exact_dedup_after_a_multi_task_documents_stage(tmp_path):
    recipe = check_recipe_file(REPO / "configs" / "stack.yaml")
    recipe = replace(recipe, raw=replace(recipe.raw, data_dir=REPO / "data"), documents=DocumentsConfig(tasks=3),
                     executor=replace(recipe.executor, tasks=3))
    results = run_recipe(recipe, tmp_path / "run", origin=str(REPO / "configs" / "stack.yaml"))
    assert [r.stage for r in results][-2:] == ["exact_dedup", "near_dedup"]


def test_code_tree_stray_file_and_huge_file_are_quarantined(tmp_path, monkeypatch, through_writer):
    root = tmp_path / "code"
    (root / "repo").mkdir(parents=True)
    (root / "repo" / "small.py").write_text("x = 1\n")
    (root / "repo" / "big.py").write_text("y = 2\n" * 100)
    (root / "README.txt").write_text("a file that belongs to no repository\n")
    monkeypatch.setattr(readers, "MAX_CODE_FILE_BYTES", 100)
    doors = through_writer(CodeTreeReader(root), tmp_path / "out")
    kept, quarantined = doors["kept"], doors["quarantined"]
    assert [d["id"] for d in kept] == ["repo/small.py"]
    assert {d["id"]: d["metadata"]["quarantine_reason"] for d in quarantined} == {
        "README.txt": "not_in_a_repository", "repo/big.py": "too_large"}
    big = next(d for d in quarantined if d["id"] == "repo/big.py")
    assert big["metadata"]["bytes"] == 600 and len(big["metadata"]["sha256"]) == 64


def test_raw_input_cannot_choose_its_own_door(tmp_path, through_writer):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.jsonl").write_text(json.dumps({"id": "x", "text": "real text", "metadata": {"drop_reason": "sneaky"}})
                                 + "\n" + json.dumps({"id": "y", "text": "ok", "quarantine_reason": "z"}) + "\n")
    doors = through_writer(JsonlDocumentReader(str(src)), tmp_path / "out")
    kept, quarantined = doors["kept"], doors["quarantined"]
    assert kept == [] and [d["metadata"]["quarantine_reason"] for d in quarantined] == ["reserved_metadata_key"] * 2
    trusted = through_writer(JsonlDocumentReader(str(src), trust_marks=True), tmp_path / "t")["kept"]
    assert trusted == []  # read as glassworks' own output, the marks route them out as marked
