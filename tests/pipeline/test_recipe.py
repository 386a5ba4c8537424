"""Recipes end to end on the embedded corpus: records, determinism, resume after SIGKILL."""

import gzip
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from glassworks.errors import ConfigError
from glassworks.pipeline.recipe import check_recipe_file, run_recipe
from glassworks.pipeline.summary import summary_table
from glassworks.provenance import verify_run

REPO = Path(__file__).resolve().parents[2]
SLIMPAJAMA = REPO / "configs" / "slimpajama.yaml"


def recipe(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    return path


def with_data(config, tasks=1, workers=1):
    from dataclasses import replace

    return replace(config, raw=replace(config.raw, data_dir=REPO / "data"),
                   executor=replace(config.executor, tasks=tasks, workers=workers),
                   documents=replace(config.documents, tasks=tasks))


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def slimpajama_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("sp") / "run"
    results = run_recipe(with_data(check_recipe_file(SLIMPAJAMA)), run, origin=str(SLIMPAJAMA))
    return run, results


def test_recipe_records_balanced_linked_stages(slimpajama_run):
    run, results = slimpajama_run
    assert [r.stage for r in results] == ["extract", "normalize", "language"]
    manifests = {json.loads(p.read_text())["stage"]["name"]: json.loads(p.read_text()) for p in (run / "manifests").glob("*.json")}
    assert set(manifests) == {"sources", "documents", "slimpajama.extract", "slimpajama.normalize", "slimpajama.language"}
    assert manifests["slimpajama.extract"]["upstream"] == [manifests["documents"]["id"]]
    assert set(manifests["slimpajama.normalize"]["upstream"]) == {manifests["documents"]["id"], manifests["slimpajama.extract"]["id"]}
    for m in manifests.values():
        c = m["counts"]
        assert c["in"] == c["kept"] + sum(c["dropped"].values()) + c["quarantined"]
    assert manifests["slimpajama.normalize"]["counts"]["dropped"] == {"short_document_filter:short_document": 7}
    assert verify_run(run, roots={"data": REPO / "data"}).ok


def test_every_document_carries_its_source_and_language(slimpajama_run):
    run, _ = slimpajama_run
    final = run / "corpus" / "slimpajama" / "language"
    for source in ("web", "text"):
        docs = [json.loads(line) for f in sorted((final / source).glob("*.jsonl.gz")) for line in gzip.open(f, "rt")]
        assert docs and all(d["metadata"]["source"] == source for d in docs)
        assert all(isinstance(d["metadata"]["language_score"], float) for d in docs)
    web = [json.loads(line) for line in gzip.open(final / "web" / "00000.jsonl.gz", "rt")]
    assert all(d["metadata"]["url"].startswith("https://") and d["metadata"]["warc_record_id"] for d in web)
    assert all("<html" not in d["text"][:200].lower() for d in web)  # extracted, not raw HTML
    languages = {json.loads(line)["metadata"]["language"] for line in gzip.open(final / "text" / "00000.jsonl.gz", "rt")}
    assert {"en", "es"} <= languages
    dropped = [json.loads(line) for line in gzip.open(run / "corpus" / "slimpajama" / "normalize" / "dropped" / "web" / "00000.jsonl.gz", "rt")]
    assert dropped and all(d["metadata"]["drop_reason"] == "short_document_filter:short_document" for d in dropped)


def test_summary_table(slimpajama_run):
    _, results = slimpajama_run
    table = summary_table("slimpajama", results).splitlines()
    assert table[0].split()[:5] == ["stage", "in", "kept", "dropped", "quarantined"]
    assert table[3].split()[:5] == ["slimpajama.normalize", "258", "251", "7", "0"]


def test_output_does_not_depend_on_the_number_of_workers(tmp_path):
    config = check_recipe_file(SLIMPAJAMA)
    run_recipe(with_data(config, tasks=3, workers=1), tmp_path / "one")
    run_recipe(with_data(config, tasks=3, workers=3), tmp_path / "three")
    one, three = tree_bytes(tmp_path / "one" / "corpus"), tree_bytes(tmp_path / "three" / "corpus")
    assert one.keys() == three.keys() and one == three
    assert sorted(p.name for p in (tmp_path / "one" / "manifests").iterdir()) == sorted(
        p.name for p in (tmp_path / "three" / "manifests").iterdir())


def test_killed_run_resumes_to_identical_bytes(tmp_path):
    command = [sys.executable, "-m", "glassworks.cli", "corpus", "run", str(SLIMPAJAMA), "--data-dir", str(REPO / "data"),
               "--tasks", "3"]
    reference = tmp_path / "reference"
    subprocess.run(command + ["--workdir", str(reference)], check=True, capture_output=True, timeout=300)

    killed = tmp_path / "killed"
    proc = subprocess.Popen(command + ["--workdir", str(killed)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    trigger = killed / "logs" / "slimpajama" / "normalize" / "text" / "completions"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and not (trigger.is_dir() and any(trigger.iterdir())):
        time.sleep(0.002)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert not list((killed / "manifests").glob("slimpajama.language-*.json")), "the run finished before the kill"

    subprocess.run(command + ["--workdir", str(killed)], check=True, capture_output=True, timeout=300)
    assert tree_bytes(killed / "corpus") == tree_bytes(reference / "corpus")
    assert sorted(p.name for p in (killed / "manifests").iterdir()) == sorted(p.name for p in (reference / "manifests").iterdir())
    assert verify_run(killed, roots={"data": REPO / "data"}).ok


def test_recipe_errors_name_the_file_and_step(tmp_path):
    bad_step = recipe(tmp_path, "name: r\nsources: [{name: web, shape: web}]\nstages:\n  - name: s\n    steps: [{step: nope}]\n")
    with pytest.raises(ConfigError, match=r"recipe\.yaml: stages\[0\]\.steps\[0\] \(nope\): unknown step 'nope'"):
        check_recipe_file(bad_step)
    bad_param = recipe(tmp_path, "name: r\nsources: [{name: web, shape: web}]\nstages:\n  - name: s\n"
                                 "    steps: [{step: short_document_filter, params: {min_chars: many}}]\n")
    with pytest.raises(ConfigError, match=r"key 'min_chars': expected int, got str 'many'"):
        check_recipe_file(bad_param)
    bad_source = recipe(tmp_path, "name: r\nsources: [{name: web, shape: web}]\nstages:\n  - name: s\n    sources: [text]\n    steps: []\n")
    with pytest.raises(ConfigError, match=r"stage 's' names unknown sources \['text'\]"):
        check_recipe_file(bad_source)
    bad_shape = recipe(tmp_path, "name: r\nsources: [{name: web, shape: pdf}]\nstages: []\n")
    with pytest.raises(ConfigError, match=r"recipe\.yaml:2: key 'sources\[0\]\.shape': expected one of 'web', 'text', 'code'"):
        check_recipe_file(bad_shape)


def test_a_stage_that_drops_everything_leaves_an_empty_input_not_an_error(tmp_path):
    strict = recipe(tmp_path, "name: strict\nsources: [{name: text, shape: text}]\nstages:\n"
                              "  - name: huge\n    steps: [{step: short_document_filter, params: {min_chars: 100000000}}]\n"
                              "  - name: after\n    steps: [{step: unicode_normalize}]\n")
    results = run_recipe(with_data(check_recipe_file(strict)), tmp_path / "run", origin=str(strict))
    assert results[0].counts["text"].get("kept", 0) == 0 and results[0].counts["text"]["in"] == 162
    assert results[1].counts["text"] == {}
    assert verify_run(tmp_path / "run", roots={"data": REPO / "data"}).ok


def test_top_fraction_quality_cut_across_tasks(tmp_path):
    two_pass = recipe(tmp_path, "name: q\nsources: [{name: text, shape: text}]\nstages:\n"
                                "  - name: score\n    steps: [{step: fasttext_quality_scores,"
                                " params: {scores_dir: '{run}/logs/q/score/scores'}}]\n"
                                "  - name: select\n    steps: [{step: quality_top_fraction,"
                                " params: {scores_dir: '{run}/logs/q/score/scores', fraction: 0.25}}]\n")
    config = check_recipe_file(two_pass)
    results = run_recipe(with_data(config, tasks=2), tmp_path / "run", origin=str(two_pass))
    select = results[1].counts["text"]
    assert select["in"] == 162 and select["kept"] == 41  # ceil(0.25 * 162)
    assert select["dropped/quality_not_in_top_fraction"] == 121
    assert verify_run(tmp_path / "run", roots={"data": REPO / "data"}).ok


def test_files_beside_the_recipe_are_recorded_by_hash(tmp_path):
    from glassworks.pipeline.recipe import plan_stages

    (tmp_path / "optout.txt").write_text("toml/toml/tz.py\n")
    text = ("name: r\nsources: [{name: code, shape: code}]\nstages:\n  - name: s\n"
            "    steps: [{step: code_opt_out, params: {path: '{recipe}/optout.txt'}}]\n")
    path = recipe(tmp_path, text)

    config = check_recipe_file(path)

    def stage_config():
        return plan_stages(config, tmp_path / "run", "documents-0000000000000000", str(path))[0].config

    first = stage_config()
    assert first["recipe_files"] == {"optout.txt": hashlib.sha256(b"toml/toml/tz.py\n").hexdigest()}
    (tmp_path / "optout.txt").write_text("toml/toml/tz.py\ntoml/toml/ordered.py\n")
    assert stage_config()["recipe_files"] != first["recipe_files"]  # a changed list is a changed stage
    (tmp_path / "optout.txt").unlink()
    with pytest.raises(ConfigError, match=r"recipe\.yaml: stages\[0\]: step 'code_opt_out' parameter 'path': cannot read"):
        stage_config()
    with pytest.raises(ConfigError, match=r"optout\.txt: opt-out list not found"):
        check_recipe_file(path)
