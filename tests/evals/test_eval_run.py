"""`evaluate_checkpoint` and `glassworks eval`: lm-eval's results format, the provenance
manifest, determinism, sweeps with predictability and contamination, and the offline
guarantee (a subprocess with HF_HUB_OFFLINE=1, HF_DATASETS_OFFLINE=1, an empty HF cache
and every socket connection refused)."""

import json
import os
import subprocess
import sys

import pytest

from glassworks.evals.run import EvalConfig, evaluate_checkpoint
from glassworks.errors import GlassworksError
from glassworks.provenance.hashing import sha256_file
from glassworks.provenance.verify import verify_run


@pytest.fixture(scope="module")
def tasks(helpers):
    return (f"heldout_cloze_{helpers.short_source}", f"heldout_ppl_{helpers.short_source}")


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, checkpoint, helpers, tasks):
    run = tmp_path_factory.mktemp("run")
    config = EvalConfig(tasks=tasks, limit=4, suite=helpers.small_suite(), threads=1)
    results = evaluate_checkpoint(checkpoint, run, config, data_dir=helpers.data)
    return run, config, results


def test_results_are_lm_eval_results_with_provenance(evaluated, checkpoint, tasks):
    run, _, results = evaluated
    written = json.loads((run / "eval" / checkpoint.name / "results.json").read_text())
    for key in ("results", "configs", "versions", "n-shot", "higher_is_better", "n-samples", "config"):
        assert key in written, key
    assert set(written["results"]) == set(tasks)
    cloze, ppl = written["results"][tasks[0]], written["results"][tasks[1]]
    assert 0 <= cloze["acc,none"] <= 1 and ppl["bits_per_byte,none"] > 0
    assert written["n-samples"][tasks[0]]["effective"] == 4
    assert "date" not in written and "samples" not in written
    block = written["glassworks"]
    assert block["checkpoint"]["files"]["model.safetensors"] == sha256_file(checkpoint / "model.safetensors")[0]
    assert block["checkpoint"]["tokens_seen"] == 0 and block["lm_eval_version"]
    suite_file = run / "eval" / "suite" / f"{tasks[0]}.jsonl"
    assert block["task_data"][tasks[0]] == {suite_file.name: sha256_file(suite_file)[0]}
    assert written["configs"][tasks[0]]["dataset_kwargs"]["data_files"]["test"] == f"${{HELDOUT_DATA}}/{tasks[0]}.jsonl"


def test_the_run_verifies_and_records_checkpoint_and_task_data(evaluated, checkpoint, helpers, tasks):
    run, _, _ = evaluated
    report = verify_run(run, roots={"data": helpers.data, "checkpoints": checkpoint.parent})
    assert report.ok, [f for f in report.findings if f.status == "fail"]
    manifest = json.loads(next((run / "manifests").glob("eval-*.json")).read_text())
    paths = {(f.get("root", "run"), f["path"]) for f in manifest["inputs"]["files"]}
    assert ("checkpoints", f"{checkpoint.name}/model.safetensors") in paths and ("run", f"eval/suite/{tasks[1]}.jsonl") in paths
    assert manifest["code"]["libraries"]["lm-eval"]


def test_each_documents_scores_are_kept_and_recorded(evaluated, checkpoint, tasks):
    """Per-document scores (what a standard error over documents needs) sit beside the results,
    one line per scored document, and the eval manifest records them."""
    run, _, _ = evaluated
    folder = run / "eval" / checkpoint.name
    cloze = [json.loads(line) for line in (folder / f"samples_{tasks[0]}.jsonl").read_text().splitlines()]
    ppl = [json.loads(line) for line in (folder / f"samples_{tasks[1]}.jsonl").read_text().splitlines()]
    assert [row["doc_id"] for row in cloze] == [0, 1, 2, 3] and all(row["acc"] in (0.0, 1.0) for row in cloze)
    assert ppl and all(ll < 0 < size for ll, size in (row["bits_per_byte"] for row in ppl))
    assert "text" not in ppl[0] and "arguments" not in ppl[0]  # scores only: the suite ships the texts
    manifest = json.loads(next((run / "manifests").glob("eval-*.json")).read_text())
    outputs = {f["path"] for f in manifest["outputs"]["files"]}
    assert {f"eval/{checkpoint.name}/samples_{task}.jsonl" for task in tasks} <= outputs


def test_same_checkpoint_and_tasks_give_the_same_bytes(evaluated, checkpoint, helpers):
    run, config, _ = evaluated
    path = run / "eval" / checkpoint.name / "results.json"
    before = path.read_bytes()
    evaluate_checkpoint(checkpoint, run, config, data_dir=helpers.data)
    assert path.read_bytes() == before


def test_unknown_tasks_and_missing_local_copies_are_named(tmp_path, checkpoint, helpers):
    with pytest.raises(GlassworksError, match="unknown task 'nope'"):
        evaluate_checkpoint(checkpoint, tmp_path, EvalConfig(tasks=("nope",)), data_dir=helpers.data)
    with pytest.raises(GlassworksError, match=r"arc_easy/test.jsonl: data file of task 'local_arc_easy' not found"):
        evaluate_checkpoint(checkpoint, tmp_path, EvalConfig(tasks=("local_arc_easy",)), task_data=tmp_path)


SOCKET_GUARD = """
import socket
def refuse(*args, **kwargs):
    raise OSError("network access during an offline eval")
socket.socket.connect = refuse
socket.create_connection = refuse
"""


def test_cli_sweep_offline_with_predictability_and_contamination(tmp_path, tokenizer_dir, helpers, tasks):
    checkpoints = [str(helpers.make_checkpoint(tmp_path / f"step{i}", tokenizer_dir, seed=i, step=10 * i,
                                               tokens_seen=1000 * i)) for i in (1, 2, 3, 4)]
    chapters = helpers.corpus_texts(60)[30:]  # the Spanish Bible chapters
    phase = helpers.pack_phase(tmp_path / "data" / "phase1", tokenizer_dir, chapters)
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(SOCKET_GUARD)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf-home"),
           "HF_DATASETS_CACHE": str(tmp_path / "hf-datasets"), "PYTHONPATH": str(guard)}
    run = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "glassworks.cli", "eval", *reversed(checkpoints), "--tasks", ",".join(tasks),
         "--limit", "3", "--threads", "1", "--workdir", str(run), "--train-data", str(phase.parent), "--data-dir", str(helpers.data)],
        capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"predictability {tasks[1]}/bits_per_byte" in done.stdout
    summary = json.loads((run / "eval" / "sweep.json").read_text())
    assert [r["name"] for r in summary["checkpoints"]] == ["step1", "step2", "step3", "step4"]
    fit = summary["predictability"][f"{tasks[1]}/bits_per_byte"]
    assert fit["fitted_on"] == ["step1", "step2", "step3"] and list(fit["observed"]) == ["step4"]
    assert fit["rel_error"] is not None and fit["rel_error"] >= 0
    contamination = summary["contamination"]["tasks"]
    assert set(contamination) == set(tasks)
    assert all(c["docs"] == 3 for c in contamination.values())
    assert (run / "eval" / "sweep.png").stat().st_size > 1000
    report = verify_run(run, roots={"data": helpers.data, "checkpoints": tmp_path, "train_data": phase})
    assert report.ok, [f for f in report.findings if f.status == "fail"]


def test_evaluate_run_finds_the_runs_checkpoints_and_shards(tmp_path, tokenizer_dir, helpers, tasks):
    from glassworks.evals import evaluate_run

    run = tmp_path / "run"
    helpers.make_checkpoint(run / "checkpoints" / "final", tokenizer_dir, step=5, tokens_seen=640)
    helpers.pack_phase(run / "data" / "phase1", tokenizer_dir, helpers.corpus_texts(40)[20:30])
    summary = evaluate_run(EvalConfig(tasks=tasks[:1], limit=2, suite=helpers.small_suite(), threads=1), run,
                           data_dir=helpers.data)
    assert [r["name"] for r in summary["checkpoints"]] == ["final"]
    assert summary["checkpoints"][0]["tokens_seen"] == 640
    assert summary["contamination"]["training_phases"] == ["phase1"]
    assert summary["predictability"] == {}  # one checkpoint: nothing to hold back
    # the eval records verify; the hand-made checkpoint and shards have no stage manifest here
    failed = [f for f in verify_run(run, roots={"data": helpers.data}).findings if f.status == "fail"]
    assert failed and all(f.subject.startswith(("checkpoints/", "data/phase1/")) for f in failed), failed


def test_cli_usage_errors_are_one_line(capsys):
    from glassworks.cli import main

    assert main(["eval", "/no/such/checkpoint"]) == 2
    assert main(["eval", ".", "--tasks", " , "]) == 2
    assert len(capsys.readouterr().err.splitlines()) == 2
