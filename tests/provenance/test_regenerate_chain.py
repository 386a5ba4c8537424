"""`audit regenerate` on the bundle the demo writes: every data stage up to the token shards and
training to a released checkpoint are rebuilt and identical; a changed record or raw byte is
named at the first stage and file where the bytes part; nothing recorded goes unaccounted."""

import json
import shutil
from pathlib import Path

import pytest

from glassworks.cli import main
from glassworks.provenance.manifest import manifest_digest
from glassworks.provenance.regenerate import extract_members, regenerate
from glassworks.provenance.regenerate_ledger import REGENERATED, UNCHECKED, VERIFIED

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "configs" / "demo-smoke.yaml"
DATA_STAGES = ["dedup", "eval.suite", "tokenizer", "data.tokenize", "data.phase1", "data.phase2", "data.phase3"]
TRAIN_STAGES = ["train.phase1", "train.phase2", "train.phase3"]


@pytest.fixture(scope="module")
def demo_bundle(tmp_path_factory) -> Path:
    """The smoke demo's bundle (16 training steps; final is step 16). The demo's own exit code
    is not this test's concern (it also classifies and verifies); its bundle must exist."""
    workdir = tmp_path_factory.mktemp("demo") / "run"
    main(["demo", "--workdir", str(workdir), "--config", str(SMOKE)])
    bundle = workdir / "bundle"
    assert (bundle / "model.yml").is_file() and (bundle / "manifests").is_dir()
    return bundle


def recorded_subjects(bundle: Path) -> set[str]:
    subjects = set()
    for path in (bundle / "manifests").glob("*.json"):
        m = json.loads(path.read_text())
        for rec in m["inputs"]["files"] + m["outputs"]["files"]:
            root = rec.get("root", "run")
            subjects.add(rec["path"] if root == "run" else f"{root}:{rec['path']}")
    return subjects


def test_every_data_stage_and_the_step_16_checkpoint_are_identical(demo_bundle, tmp_path, capsys):
    argv = ["audit", "regenerate", str(demo_bundle), "--workdir", str(tmp_path / "again"), "--train-steps", "16", "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] and result["first_divergence"] is None
    stages = [s["stage"] for s in result["stages"]]
    assert stages[:2] == ["sources", "documents"] and stages[-10:] == DATA_STAGES + TRAIN_STAGES
    for s in result["stages"]:
        assert s["files"] == s["matched"] > 0 and not s["problems"], s
    assert result["train_target"] == "final (step 16)"
    final = next(s for s in result["stages"] if s["stage"] == "train.phase3")
    # the weights are compared by hash: only a sidecar naming a (re-)made manifest may differ
    assert all(file.endswith("state.json") for file, _ in final["notes"])
    # every recorded file is in one of three kinds, and the shards were rebuilt, not just hashed
    files = result["files"]
    assert sum(files["counts"].values()) == len(recorded_subjects(demo_bundle))
    assert files["counts"][REGENERATED] > 100 and files["counts"][VERIFIED] > 0 and not files["failures"]
    assert not any(kind for kind in files["counts"] if kind not in (VERIFIED, REGENERATED, UNCHECKED))
    report = (tmp_path / "again" / "report" / "regenerate.md").read_text()
    assert "**REGENERATED:" in report and "| data.phase2 |" in report and "| train.phase3 |" in report
    assert "<table>" in (tmp_path / "again" / "report" / "regenerate.html").read_text()


def rewrite(path: Path, change) -> None:
    manifest = json.loads(path.read_text())
    change(manifest)
    manifest["digest"] = manifest_digest(manifest)
    path.write_text(json.dumps(manifest))


def test_a_changed_record_is_named_where_the_bytes_part_and_nothing_goes_unaccounted(demo_bundle, tmp_path):
    """The record claims other tokenizer bytes; an eval result and a late checkpoint's weights
    are not shipped: the tokenizer is the first divergence, every other stage still matches,
    and the two files are listed as unchecked with their reasons."""
    bundle = tmp_path / "bundle"
    shutil.copytree(demo_bundle, bundle, symlinks=True)

    def claim_other_model(manifest):
        rec = next(r for r in manifest["outputs"]["files"] if r["path"] == "tokenizer/tokenizer.model")
        rec["sha256"] = "0" * 64

    rewrite(next((bundle / "manifests").glob("tokenizer-*.json")), claim_other_model)
    (bundle / "eval" / "final" / "results.json").unlink()
    late = next((bundle / "checkpoints").glob("step0000012-*")) / "model.safetensors"
    late.unlink()
    result = regenerate(bundle, tmp_path / "again", train_steps=2)
    assert not result.ok
    assert result.first_divergence == ("tokenizer", "tokenizer/tokenizer.model", "sha256 differs from the record")
    assert [s.stage for s in result.stages if not s.ok] == ["tokenizer"]
    assert result.train_target == "step0000002-tokens0000000002048 (step 2)"
    unchecked = {file: reason for reason, files in result.ledger.unchecked().items() for file in files}
    assert unchecked["eval/final/results.json"].startswith("evaluation output")
    late_rel = late.relative_to(bundle).as_posix()
    assert "lies past step0000002-tokens0000000002048 (step 2), where --train-steps 2 stops" in unchecked[late_rel]
    assert result.ledger.entries["tokenizer/tokenizer.model"].kind == REGENERATED
    assert not result.ledger.entries["tokenizer/tokenizer.model"].ok
    assert result.lines()[-1] == ("DIVERGED: first at stage tokenizer, file tokenizer/tokenizer.model: "
                                  "sha256 differs from the record")


def test_a_flipped_raw_byte_is_named_before_anything_runs(demo_bundle, tmp_path, capsys):
    """The raw inputs come from the bundle's own code archive, one byte flipped."""
    archive = next((demo_bundle / "code").glob("*.tar.gz"))
    extract_members(archive, lambda name: name.startswith("data/"), tmp_path)
    data = tmp_path / "data"
    target = data / "web" / "sphinx-docs.warc.gz"
    raw = bytearray(target.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    target.write_bytes(bytes(raw))
    argv = ["audit", "regenerate", str(demo_bundle), "--workdir", str(tmp_path / "again"), "--root", f"data={data}"]
    assert main(argv) == 1
    assert capsys.readouterr().out.splitlines()[-1] == (
        "DIVERGED: first at stage sources, file data:web/sphinx-docs.warc.gz: raw input differs from the recorded one")
    assert not (tmp_path / "again" / "run").exists()


def test_training_past_the_last_checkpoint_is_refused_with_the_reason(demo_bundle, tmp_path):
    """Only the manifests are needed to find that out: nothing is trained for it."""
    from glassworks.provenance.regenerate_train import TrainPlanError, plan_training, train_stages

    manifests = [json.loads(p.read_text()) for p in sorted((demo_bundle / "manifests").glob("train.*.json"))]
    with pytest.raises(TrainPlanError, match="no released checkpoint at or past step 99 \\(the last is at step 16\\)"):
        plan_training(train_stages(manifests), 99, threads=1)
    config, target, covered, beyond = plan_training(train_stages(manifests), 5, threads=1)
    assert (target.step, [r.step for r in covered], [r.step for r in beyond]) == (8, [0, 1, 2, 4, 8], [12, 16])
    assert config.checkpoints.log_spaced_until == 8 and config.runtime.device == "cpu"
