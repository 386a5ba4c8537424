"""The classifier agrees with the Model Openness Tool's own conformance data, its component
settings and its sample model files; the vendored licence lists are the MOT's own."""

import hashlib
import json
import math
import re
from pathlib import Path

import pytest
import yaml

from glassworks.release.mof import classify_file, evaluate, from_data
from glassworks.release.mof.components import components

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
        # the MOT's export drops every line with "date" (runtest.sh), framework.date included
        framework = {**model["framework"], "date": "2024-12-15"}
        result = evaluate(from_data({"framework": framework, "release": model["release"]}))
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


NAME = re.compile(r"_C1_(\d+)%-C2_(\d+)%-C3_(\d+)%_(\d+)C_(\d+)G_(\d+)L_(\d+)V_(\d+)I_(\d+)T\.yml$")


def _test_data(reference: Path) -> list[Path]:
    files = sorted(p for p in (reference / "Test_Data").glob("*.yml") if NAME.search(p.name))
    assert len(files) == 27
    return files


def test_every_test_data_file_meets_the_expectation_in_its_name(mof_reference):
    """As the MOT's own scripts/test-model-files.php checks them: progress rounded to whole
    percent, with a class's progress expected to be 0 when a class above it is incomplete;
    the number of components, of valid and of invalid licences. (The T count is known to be
    wrong in these file names, says Test_Data/README.md, and the MOT's script skips it too.)"""
    for path in _test_data(mof_reference):
        c1, c2, c3, n, _globals, _licences, valid, invalid, _t = map(int, NAME.search(path.name).groups())
        result = classify_file(path)
        got = {k: round(result.progress[k]) for k in (1, 2, 3)}
        if got[3] < 100:
            c2 = c1 = 0
        elif got[2] < 100:
            c1 = 0
        listed = [r for r in result.components.values() if r.status != "missing"]
        n_invalid = sum(r.status == "invalid" for r in listed)
        n_valid = len(listed) - n_invalid - sum(r.status == "unlicensed" for r in listed)
        assert (got[1], got[2], got[3], len(listed), n_valid, n_invalid) == (c1, c2, c3, n, valid, invalid), path.name


def test_components_are_the_mots(mof_reference):
    """assets/components.yaml says what the MOT's mof.settings.yml says: names, classes,
    required flags and content types."""
    settings = {c["name"]: c for c in yaml.safe_load((mof_reference / "mof.settings.yml").read_text())["components"]}
    ours = {c.name: c for c in components()}
    assert set(settings) == set(ours)
    for name, c in ours.items():
        mot = settings[name]
        assert (c.mof_class, c.required, c.content_type) == (mot["class"], mot["required"], mot["content_type"]), name


def test_vendored_licence_lists_are_the_mots(mof_reference):
    assets = Path(__file__).resolve().parents[2] / "release" / "mof" / "assets"
    provenance = json.loads((assets / "mot-provenance.json").read_text())
    commits = {line.split("\t")[0]: line.split("\t")[3] for line in (mof_reference / "PROVENANCE.tsv").read_text().splitlines()}
    for name in ("licenses.json", "mof-licenses.json"):
        vendored = (assets / name).read_bytes()
        assert vendored == (mof_reference / name).read_bytes(), name
        assert provenance["files"][name]["sha256"] == hashlib.sha256(vendored).hexdigest()
        assert provenance["commit"] == commits[name]


def _sample_models(reference: Path) -> list[Path]:
    names = ["sample_model.yml", "Amber.yml", "Granite-4.0-Micro.yml", "Llama-3.1-8B.yml", "Mistral-7B-v0.1.yml",
             "OLMo-7B.yml", "Polyglot-Ko.yml", "Pythia-6.9B.yml"]
    return [reference / n for n in names]


def test_every_sample_model_file_is_accepted(mof_reference):
    for path in _sample_models(mof_reference):
        result = classify_file(path)
        assert result.readable and result.mot_accepts, path
        assert result.problems == () and result.schema_errors == (), (path, result.problems, result.schema_errors)
        assert set(result.components) == set(result.as_json()["components"]) and len(result.components) == 17


def test_the_legacy_format_is_refused_as_the_mot_refuses_it(mof_reference):
    """The 2024-10 format has no release.license, which the MOT's schema requires, and gives
    component licences as license_name, which the MOT no longer reads."""
    result = classify_file(mof_reference / "legacy_2024-10_format" / "OLMO-7B.yml")
    assert result.readable and not result.mot_accepts
    assert result.label == result.strict_label == "Unclassified"
    assert any("'license' is required" in p for p in result.problems)
    assert any("license_name" in w for w in result.warnings)


@pytest.mark.parametrize("name, label, strict, warned", [
    ("Amber.yml", "Class I", "Unclassified", {"Model parameters (Final)", "Model parameters (Intermediate)",
                                               "Evaluation data", "Datasets"}),  # Datasets: MIT, a code licence
    ("Pythia-6.9B.yml", "Class I", "Unclassified", None),
    ("OLMo-7B.yml", "Class I", "Unclassified", None),
    ("Polyglot-Ko.yml", "Class II", "Unclassified", {"Model parameters (Final)", "Evaluation data", "Datasets"}),
    ("Granite-4.0-Micro.yml", "Class III", "Unclassified", {"Model parameters (Final)"}),
    ("Llama-3.1-8B.yml", "Unclassified", "Unclassified", set()),
])
def test_known_models(mof_reference, name, label, strict, warned):
    """Llama 3.1's community licence is not open; Polyglot-Ko publishes no intermediate
    checkpoints; Apache-2.0 weights count for the MOT, but it warns: not a data licence."""
    result = classify_file(mof_reference / name)
    assert (result.label, result.strict_label) == (label, strict)
    if warned is not None:
        assert {w.split(" (type")[0] for w in result.warnings} == warned
    if name == "Polyglot-Ko.yml":
        assert [line.split(":")[0] for line in result.gaps(1)] == ["Model parameters (Intermediate)"]
    if name == "Llama-3.1-8B.yml":
        assert result.components["Model parameters (Final)"].status == "invalid"
