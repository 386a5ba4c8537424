"""`release build`: a real bundle from a real (tiny) run, its MOF description, its record."""

import json
import shutil
from pathlib import Path

import pytest
import yaml

from glassworks.provenance.hashing import sha256_file
from glassworks.provenance.verify import verify_run
from glassworks.release.bundle import build_bundle
from glassworks.release.bundle.check import check_bundle
from glassworks.release.mof import classify_file

ALWAYS = {"Model parameters (Final)", "Model parameters (Intermediate)", "Model card", "Data card", "Technical report",
          "Evaluation results", "Evaluation data", "Research paper", "Datasets", "Data preprocessing code",
          "Model metadata"}


def test_layout_and_components(built):
    result, bundle = built
    for item in ("model.yml", "checkpoints/final/model.safetensors", "checkpoints/step1/model.safetensors",
                 "checkpoints/step2/state.json", "hf/config.json", "hf/model.safetensors", "README.md",
                 "corpus/README.md", "croissant.json", "corpus/recipes/slimpajama.yaml", "docs/technical-report.md",
                 "docs/paper.md", "docs/figures/corpus-stages.png", "docs/figures/training-loss.png",
                 "eval/final/results.json", "LICENSES/Apache-2.0.txt", "LICENSES/CC-BY-4.0.txt"):
        assert (bundle / item).is_file(), item
    assert list((bundle / "code").glob("glassworks-*.tar.gz"))
    assert ALWAYS <= set(result.components)
    mof = yaml.safe_load((bundle / "model.yml").read_text())
    for component in mof["release"]["components"]:
        assert (bundle / component["component_path"]).exists(), component
        assert (bundle / component["license_path"]).exists(), component
    assert {c["name"] for c in mof["release"]["components"]} == set(result.components)


def test_model_yml_classifies_as_the_build_says_and_the_documents_state_it(built):
    result, bundle = built
    again = classify_file(bundle / "model.yml")
    assert again.label == result.mof_class and again.progress == result.classification.progress
    assert not again.schema_errors and not again.problems
    assert result.classification.progress[3] == 100.0  # the model side is complete: Class III at least
    assert f"**{result.mof_class}**" in (bundle / "README.md").read_text()
    assert f"**{result.mof_class}**" in (bundle / "docs" / "technical-report.md").read_text()


def test_bundle_verifies_and_its_stage_links_to_the_run(built):
    result, bundle = built
    report = verify_run(bundle, allow_unsigned=True)
    assert report.ok, [f.line() for f in report.failures]
    manifest = json.loads((bundle / "manifests" / f"{result.manifest_id}.json").read_text())
    assert manifest["stage"]["name"] == "release.bundle"
    kinds = {up.split("-")[0] for up in manifest["upstream"]}
    assert {"checkpoint", "export_hf", "eval", "train.log"} <= kinds
    counts = manifest["counts"]
    assert counts["in"] == 17 and counts["kept"] == len(result.components)
    assert sum(counts["dropped"].values()) == 17 - len(result.components)


def test_cards_carry_yaml_metadata(built):
    from huggingface_hub import DatasetCard, ModelCard

    _, bundle = built
    card = ModelCard.load(bundle / "README.md")
    assert card.data.license and card.data.pipeline_tag == "text-generation"
    assert card.data.eval_results and card.data.eval_results[0].dataset_name == "heldout_bytes"
    data_card = DatasetCard.load(bundle / "corpus" / "README.md")
    assert data_card.data.task_categories == ["text-generation"] and data_card.data.license


def test_reports_use_the_runs_numbers(built, trained_run):
    _, bundle = built
    report = (bundle / "docs" / "technical-report.md").read_text()
    for manifest in sorted((trained_run / "manifests").glob("slimpajama.*.json")):
        m = json.loads(manifest.read_text())
        assert f"| {m['stage']['name']} | documents | {m['counts']['in']} | {m['counts']['kept']} |" in report
    loss = json.loads((trained_run / "eval" / "final" / "results.json").read_text())["results"]["heldout_bytes"]["loss,none"]
    assert f"{loss:.3f}" in (bundle / "docs" / "paper.md").read_text()


def test_croissant_is_valid_and_names_the_shipped_files_by_their_recorded_hash(built, trained_run):
    from glassworks.release.bundle.croissant import validate_croissant

    _, bundle = built
    assert validate_croissant(bundle / "croissant.json") == []
    doc = json.loads((bundle / "croissant.json").read_text())
    recorded = {r["sha256"] for p in (trained_run / "manifests").glob("*.json")
                for r in json.loads(p.read_text())["outputs"]["files"]}
    files = [d for d in doc["distribution"] if d["@type"] == "cr:FileObject"]
    assert files
    for item in files:
        assert sha256_file(bundle / item["contentUrl"])[0] == item["sha256"] and item["sha256"] in recorded


@pytest.mark.parametrize("remove, component", [
    (["checkpoints/step1", "checkpoints/step2"], "Model parameters (Intermediate)"),
    (["checkpoints/final/model.safetensors"], "Model parameters (Final)"),
    (["docs/paper.md"], "Research paper"),
    (["corpus/README.md"], "Data card"),
    (["eval/final/results.json"], "Evaluation results"),
    (["README.md"], "Model card"),
    (["eval/suite"], "Evaluation data"),
])
def test_check_names_exactly_the_component_removed(bundle_copy, remove, component):
    assert check_bundle(bundle_copy).ok
    for rel in remove:
        path = bundle_copy / rel
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    report = check_bundle(bundle_copy)
    assert not report.ok
    assert [line.split(":")[0] for line in report.absent] == [component]


def test_check_of_a_description_missing_a_component_names_it_for_the_next_class(bundle_copy):
    mof = yaml.safe_load((bundle_copy / "model.yml").read_text())
    mof["release"]["components"] = [c for c in mof["release"]["components"] if c["name"] != "Model card"]
    (bundle_copy / "model.yml").write_text(yaml.safe_dump(mof, sort_keys=False))
    report = check_bundle(bundle_copy)
    assert report.classification.label == "Unclassified"
    assert report.unlisted == ["Model card"]
    assert [line.split(":")[1].strip() for line in report.next_class_lines()] == ["Model card"]


def test_a_run_without_model_artifacts_gives_a_lower_class_not_a_crash(trained_run, bundle_config, tmp_path):
    config = bundle_config(final_checkpoint=Path("none"), intermediate_checkpoints=[], hf_export=Path("none"),
                                eval_results=Path("none"), training_metrics=[])
    result = build_bundle(config, trained_run, tmp_path / "bundle")
    assert result.mof_class == "Unclassified"
    assert "Model parameters (Final)" not in result.components and "Research paper" not in result.components
    assert not (tmp_path / "bundle" / "README.md").exists()
    assert any("no research paper" in w for w in result.warnings)
    assert check_bundle(tmp_path / "bundle").ok


def test_rebuild_is_byte_identical(built, trained_run, bundle_config, tmp_path, monkeypatch):
    result, bundle = built
    monkeypatch.chdir(tmp_path)  # a relative output folder is the caller's, not the repository's
    again = build_bundle(bundle_config(), trained_run, Path("again"))
    assert again.manifest_id == result.manifest_id

    def digests(root: Path) -> dict:
        return {p.relative_to(root).as_posix(): sha256_file(p)[0] for p in sorted(root.rglob("*"))
                if p.is_file() and p.name != f"{result.manifest_id}.json"}

    assert digests(tmp_path / "again") == digests(bundle)


def test_refuses_a_non_empty_output_folder(trained_run, bundle_config, tmp_path):
    from glassworks.errors import GlassworksError

    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x").write_text("x")
    with pytest.raises(GlassworksError, match="not empty"):
        build_bundle(bundle_config(), trained_run, tmp_path / "out")


def test_the_full_run_is_class_one_by_the_mot_and_strictly(built):
    """The demo's release config gives each component one SPDX id that the MOT lists for its
    content type (CDLA-Permissive-2.0 for data, weights and model metadata), so the tiny run's
    bundle is Class I by the MOT's rules and strictly, with no licence warning."""
    result, bundle = built
    datasets = result.classification.components["Datasets"]
    assert datasets.counts and datasets.licence == "CDLA-Permissive-2.0" and datasets.type_appropriate
    assert result.mof_class == "Class I", [line for k in (3, 2, 1) for line in result.classification.gaps(k)]
    assert result.strict_class == "Class I", [line for k in (3, 2, 1) for line in result.classification.gaps(k, True)]
    assert not [w for w in result.classification.warnings if "appropriate" in w or "type" in w]
    for comp in yaml.safe_load((bundle / "model.yml").read_text())["release"]["components"]:
        assert " " not in comp["license"], comp
