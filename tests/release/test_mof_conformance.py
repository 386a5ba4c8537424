"""The classifier agrees with the Model Openness Tool's own conformance data and accepts
every sample model file it ships."""

import math
from pathlib import Path

import pytest
import yaml

from glassworks.release.mof import classify_file, evaluate, from_data

LABELS = {0: "Unclassified", 1: "Class I", 2: "Class II", 3: "Class III"}


def _expected(reference: Path) -> list[dict]:
    # The MOT exports this file with trailing commas (not strict JSON); YAML reads it.
    return yaml.safe_load((reference / "Test_Data" / "expected_results.json").read_text())["models"]


def _key(release: dict) -> tuple:
    licences = release.get("license") or {}
    globals_ = tuple(sorted((k, (v or {}).get("name")) for k, v in licences.items())) if isinstance(licences, dict) else ()
    return globals_, tuple(sorted((c.get("name"), c.get("license")) for c in release.get("components") or []))


def _assert_agrees(result, expected: dict, what: str) -> None:
    assert result.mof_class == expected["class"], f"{what}: class {result.mof_class}, MOT says {expected['class']}"
    assert result.label == LABELS[expected["class"]]
    for k, value in expected["progress"].items():
        assert math.isclose(result.progress[int(k)], float(value), abs_tol=1e-9), (
            f"{what}: Class {k} progress {result.progress[int(k)]}, MOT says {value}")


def test_every_expected_result_is_reproduced(mof_reference):
    models = _expected(mof_reference)
    assert len(models) == 27
    for model in models:
        result = evaluate(from_data({"framework": model["framework"], "release": model["release"]}))
        _assert_agrees(result, model["classification"], model["release"]["name"])


def test_every_test_data_file_classifies_as_the_mot_does(mof_reference):
    """The YAML files of Test_Data, read from disk, each match their expected result (paired by
    content: a few expected entries carry slightly different names than their files)."""
    expected = {_key(m["release"]): m["classification"] for m in _expected(mof_reference)}
    files = sorted(p for p in (mof_reference / "Test_Data").glob("*.yml")
                   if p.name not in ("Components.yml", "valid-mof-licenses.yml"))
    assert len(files) == 27
    for path in files:
        release = yaml.safe_load(path.read_text())["release"]
        result = classify_file(path)
        assert result.readable and not result.problems, result.problems
        assert not result.schema_errors, result.schema_errors
        _assert_agrees(result, expected[_key(release)], path.name)


def _sample_models(reference: Path) -> list[Path]:
    names = ["sample_model.yml", "Amber.yml", "Granite-4.0-Micro.yml", "Llama-3.1-8B.yml", "Mistral-7B-v0.1.yml",
             "OLMo-7B.yml", "Polyglot-Ko.yml", "Pythia-6.9B.yml", "legacy_2024-10_format/OLMO-7B.yml"]
    return [reference / n for n in names]


def test_every_sample_model_file_is_accepted(mof_reference):
    for path in _sample_models(mof_reference):
        result = classify_file(path)
        assert result.readable, path
        assert result.problems == () and result.schema_errors == (), (path, result.problems, result.schema_errors)
        assert set(result.components) == set(result.as_json()["components"]) and len(result.components) == 17


@pytest.mark.parametrize("name, label", [
    ("Amber.yml", "Class I"), ("Pythia-6.9B.yml", "Class I"), ("OLMo-7B.yml", "Class I"),
    ("Polyglot-Ko.yml", "Class II"), ("Granite-4.0-Micro.yml", "Class III"), ("Llama-3.1-8B.yml", "Unclassified"),
])
def test_known_models(mof_reference, name, label):
    """Llama 3.1's community licence is not open; Polyglot-Ko publishes no intermediate checkpoints."""
    result = classify_file(mof_reference / name)
    assert result.label == label
    if name == "Polyglot-Ko.yml":
        assert [line.split(":")[0] for line in result.gaps(1)] == ["Model parameters (Intermediate)"]
    if name == "Llama-3.1-8B.yml":
        assert result.components["Model parameters (Final)"].status == "invalid"
