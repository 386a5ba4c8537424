"""The shipped demo classifier: small, separates its held-out documents, rebuilds byte for byte."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from glassworks.pipeline.quality.cli import quality_model_command
from glassworks.pipeline.quality.model import QualityModel
from glassworks.pipeline.quality.shipped import (SHIPPED_MODEL, build_shipped_model, evaluate, page_chrome,
                                                 write_training_sets)
from glassworks.provenance import load_manifest, verify_run
from glassworks.provenance.hashing import sha256_file

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "data"


def test_page_chrome_is_the_text_outside_the_main_div():
    html = """<html><head><title>Sorting HOW TO</title><script>var x = "<div>";</script></head><body>
      <div class="related" role="navigation"><a>index</a> | <a>next</a></div>
      <div class="document"><div class="body" role="main"><h1>Sorting</h1><div class="section">
        <p>Lists have a sort() method.</p></div></div>
      <div class="sphinxsidebar"><h3>This Page</h3><ul><li>Show Source</li></ul></div></div>
      <div class="footer">&copy; Copyright 2001-2023</div></body></html>"""
    assert page_chrome(html) == "Sorting HOW TO\nindex | next\nThis Page\nShow Source\n© Copyright 2001-2023"


@pytest.fixture(scope="module")
def demo_sets(tmp_path_factory):
    return write_training_sets(DATA, tmp_path_factory.mktemp("demo-sets"))


def test_training_sets_come_from_the_embedded_corpus_with_a_stable_split(demo_sets):
    files, counts = demo_sets
    sizes = {name: len(path.read_text().splitlines()) for name, path in files.items()}
    assert sizes == {"train-positive": 59, "heldout-positive": 12, "train-negative": 69, "heldout-negative": 22}
    assert counts == {"in": 74 + 97, "kept": 162, "dropped/planted_duplicate": 3,
                      "dropped/mirror_copy": 5, "dropped/not_a_response": 1}
    negative = json.loads(files["train-negative"].read_text().splitlines()[0])
    assert negative["id"].startswith("https://www.sphinx-doc.org/en/master/") and "Site navigation" in negative["text"]


def test_shipped_model_is_small_and_separates_its_held_out_documents(demo_sets):
    assert SHIPPED_MODEL.stat().st_size < 2 * 1024 * 1024
    files, _ = demo_sets
    held_out = evaluate(SHIPPED_MODEL, files["heldout-positive"], files["heldout-negative"])
    assert (held_out["positives"], held_out["negatives"]) == (12, 22)
    assert held_out["auc"] == 1.0 and held_out["accuracy"] == 1.0
    assert held_out["lowest_positive"] > 0.9 and held_out["highest_negative"] < 0.1


def test_rebuilding_from_data_gives_the_shipped_bytes_and_a_verified_record(tmp_path):
    run = tmp_path / "run"
    summary = build_shipped_model(DATA, tmp_path / "rebuilt.ftz", run_dir=run)
    shipped_sha = sha256_file(SHIPPED_MODEL)[0]
    if summary["sha256"] != shipped_sha:  # say whether only the bytes or also the behaviour changed
        held_out = run / "quality/demo-sets/heldout-negative.jsonl"
        texts = [json.loads(x)["text"] for x in held_out.read_text().splitlines()]
        gap = max(abs(a - b) for a, b in zip(QualityModel(SHIPPED_MODEL).scores(texts),
                                            QualityModel(tmp_path / "rebuilt.ftz").scores(texts)))
        raise AssertionError(f"rebuilt model differs from {SHIPPED_MODEL.name} (largest score gap {gap:.2e}); "
                             "is this a different fastText build?")
    assert summary["held_out"]["auc"] == 1.0
    manifests = {p.stem.split("-")[0]: load_manifest(p) for p in (run / "manifests").glob("*.json")}
    assert set(manifests) == {"quality.demo_sets", "quality.train"}
    assert manifests["quality.train"]["upstream"] == [manifests["quality.demo_sets"]["id"]]
    assert manifests["quality.demo_sets"]["counts"]["dropped"] == {"mirror_copy": 5, "not_a_response": 1,
                                                                   "planted_duplicate": 3}
    report = verify_run(run, roots={"data": DATA, "model": tmp_path})
    assert report.ok, report.failures


def test_quality_model_command_refuses_check_with_a_workdir(tmp_path):
    result = CliRunner().invoke(quality_model_command, ["--check", "--workdir", str(tmp_path)])
    assert result.exit_code == 2 and "records nothing" in result.output
