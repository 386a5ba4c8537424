"""`release build`, `release check` and `release publish` from the command line; publishing
to a folder for real, to the Hub as a dry-run plan only (no network here)."""

import json
from pathlib import Path

import yaml

from glassworks.cli import main
from glassworks.provenance.hashing import sha256_file
from glassworks.release.bundle.publish import plan_publish, staged

REPO = Path(__file__).resolve().parents[2]


def _files(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): sha256_file(p)[0] for p in sorted(root.rglob("*")) if p.is_file()}


def test_shipped_demo_config_loads():
    from glassworks.config import load_config
    from glassworks.release.bundle import BundleConfig

    config = load_config(REPO / "configs" / "release-demo.yaml", BundleConfig)
    assert config.corpus.ship == "documents" and config.artifacts.final_checkpoint == Path("checkpoints/final")


def test_build_command_with_shards(trained_run, tmp_path, capsys):
    config = tmp_path / "release.yaml"
    config.write_text(yaml.safe_dump({"corpus": {"ship": "shards", "recipes": ["configs/slimpajama.yaml"]}}))
    out = tmp_path / "bundle"
    assert main(["release", "build", str(config), "--run", str(trained_run), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"bundle: {out}") and "\nMOF: Class" in printed
    for rel, digest in _files(trained_run).items():  # every recorded run file travels at its own path
        if rel.startswith(("corpus/", "documents/", "raw/")):
            assert _files(out).get(rel) == digest, rel
    assert main(["audit", "verify", str(out), *_unsigned()]) == 0


def test_check_command_json(built, capsys):
    _, bundle = built
    assert main(["release", "check", str(bundle), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["absent"] == [] and report["class"] in ("Class I", "Class II", "Class III")


def test_check_command_fails_and_names_the_gap(bundle_copy, capsys):
    (bundle_copy / "docs" / "paper.md").unlink()
    assert main(["release", "check", str(bundle_copy)]) == 1
    out = capsys.readouterr().out
    assert "absent: Research paper: listed in model.yml, but its files (docs/paper.md) are not in the bundle" in out


def _unsigned() -> list[str]:
    from glassworks.release.cli import publish_command

    return ["--allow-unsigned"] if any(p.name == "allow_unsigned" for p in publish_command.params) else []


def test_publish_copy_layout_copies_every_file_and_the_copy_verifies(built, tmp_path, capsys):
    _, bundle = built
    target = tmp_path / "published"
    assert main(["release", "publish", str(bundle), "--to", str(target), "--layout", "copy", *_unsigned()]) == 0
    assert _files(target) == _files(bundle)
    assert main(["audit", "verify", str(target), *_unsigned()]) == 0
    assert main(["release", "publish", str(bundle), "--to", str(target), "--layout", "copy", *_unsigned()]) == 1


def test_publish_dry_run_to_a_folder_changes_nothing(built, tmp_path, capsys):
    _, bundle = built
    assert main(["release", "publish", str(bundle), "--to", str(tmp_path / "p"), "--dry-run", *_unsigned()]) == 0
    out = capsys.readouterr().out
    assert f"create_branch {tmp_path / 'p'}@step1-tokens128" in out and not (tmp_path / "p").exists()
    assert main(["release", "publish", str(bundle), "--to", str(tmp_path / "p"), "--dry-run", "--layout", "copy",
                 *_unsigned()]) == 0
    assert f"{bundle}/model.yml -> {tmp_path / 'p'}/model.yml" in capsys.readouterr().out


def test_hub_plan_has_main_and_one_branch_per_intermediate_checkpoint(built):
    _, bundle = built
    with staged() as staging:
        plan = plan_publish(bundle, "hf://glassworks/tiny-test", staging)
        repo = "glassworks/tiny-test"
        assert [(s.action, s.target) for s in plan.steps] == [
            ("create_repo", repo),
            ("upload_folder", f"{repo}@main"), ("upload_folder", f"{repo}@main"), ("upload_folder", f"{repo}@main"),
            ("create_branch", f"{repo}@step1-tokens128"),
            ("upload_folder", f"{repo}@step1-tokens128"), ("upload_folder", f"{repo}@step1-tokens128"),
            ("create_branch", f"{repo}@step2-tokens256"),
            ("upload_folder", f"{repo}@step2-tokens256"), ("upload_folder", f"{repo}@step2-tokens256"),
        ]
        main = {dst: src for step in plan.steps[1:4] for src, dst in step.files}
        assert main["model.safetensors"] == f"{bundle}/hf/model.safetensors" and "model.yml" in main
        assert main["checkpoints/final/model.safetensors"] and not any(d.startswith("checkpoints/step") for d in main)
        assert main["revisions.json"].endswith("/revisions/revisions.json")
        assert plan.steps[1].ignore == ("checkpoints/step1/*", "checkpoints/step2/*")
        branch = {dst: src for step in plan.steps[5:7] for src, dst in step.files}
        assert branch["checkpoints/step1/state.json"] == f"{bundle}/checkpoints/step1/state.json"
        assert json.loads(Path(branch["config.json"]).read_text())["architectures"] == ["MistralForCausalLM"]
        assert {"config.json", "model.safetensors", "checkpoints/step1/model.safetensors"} <= set(branch)
        assert plan.revisions.checkpoints == {"checkpoints/step1/": "step1-tokens128",
                                              "checkpoints/step2/": "step2-tokens256"}


def test_publish_refuses_a_bundle_that_fails_its_check(bundle_copy, tmp_path, capsys):
    (bundle_copy / "README.md").unlink()
    assert main(["release", "publish", str(bundle_copy), "--to", str(tmp_path / "p"), "--dry-run", *_unsigned()]) == 1
    assert "release check fails" in capsys.readouterr().err
