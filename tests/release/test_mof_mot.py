"""The Model Openness Tool's behaviour, case by case: verbatim licence ids (compound
expressions are not ids), global versus component licences, its placeholders, the files it
refuses, type-appropriate licences and the strict class; and the refresh of its lists."""

import json
import shutil
from pathlib import Path

import pytest
import yaml

from glassworks.release.mof import classify, evaluate, from_data, parse_description
from glassworks.release.mof.components import components
from glassworks.release.mof.refresh_licences import Source, php_string_array, refresh

KINDS = {c.name: c.content_type for c in components()}
ALL = [c.name for c in components()]
FRAMEWORK = {"name": "Model Openness Framework", "version": "1.0", "date": "2024-12-15"}


def _model(entries: list[dict], licence: dict | None = None) -> dict:
    return {"framework": FRAMEWORK,
            "release": {"name": "m", "producer": "p", "license": licence or {}, "components": entries}}


def _demo_like(data: str, weights: str, documents: str = "CC-BY-4.0", code: str = "Apache-2.0") -> dict:
    """The demo bundle's model.yml as `release build` writes it: every component, each with its
    own licence; Datasets and Evaluation data under the corpus licence."""
    by_kind = {"code": code, "document": documents, "data": weights}
    entries = []
    for name in ALL:
        spdx = data if name in ("Datasets", "Evaluation data") else by_kind[KINDS[name]]
        entries.append({"name": name, "description": name, "license": spdx, "license_path": "LICENSES/",
                        "component_path": "x/"})
    glob = {"distribution": {"name": code, "path": ""}, "code": {"name": code, "path": ""},
            "data": {"name": weights, "path": ""}, "document": {"name": documents, "path": ""}}
    return _model(entries, glob)


def test_the_demo_with_a_compound_data_licence_is_class_three(tmp_path):
    """Issue 15: the MOT looks 'BSD-2-Clause AND GPL-2.0-or-later AND MIT' up as one id, finds
    none, and both data components are invalid: Class III (III 100, II 90, I 0). It warns on
    the three data components under CC-BY-4.0, a licence it lists for documents."""
    path = tmp_path / "model.yml"
    path.write_text(yaml.safe_dump(_demo_like("BSD-2-Clause AND GPL-2.0-or-later AND MIT", "CC-BY-4.0")))
    result = classify(path)
    assert result.label == "Class III" and result.progress == {3: 100.0, 2: 90.0, 1: 0.0}
    for name in ("Datasets", "Evaluation data"):
        c = result.components[name]
        assert c.status == "invalid" and not c.counts and "one licence id" in c.reason
    assert {w.split(" (type")[0] for w in result.warnings} == {
        "Model parameters (Final)", "Model parameters (Intermediate)", "Model metadata"}
    assert result.strict_label == "Unclassified" and result.strict_progress[3] == pytest.approx(500 / 6)
    assert classify(yaml.safe_load(path.read_text())).progress == result.progress  # dict in, same answer


def test_the_demo_with_data_licences_is_class_one_strictly():
    result = classify(_demo_like("CDLA-Permissive-2.0", "CDLA-Permissive-2.0"))
    assert (result.label, result.strict_label) == ("Class I", "Class I") and result.warnings == ()
    assert all(r.strict_counts for r in result.components.values())
    assert result.components["Datasets"].reason.startswith("counts: CDLA-Permissive-2.0 is open")


@pytest.mark.parametrize("data, weights, label, strict, datasets_status", [
    ("CC-BY-4.0", "CDLA-Permissive-2.0", "Class I", "Class III", "included"),  # open, a document licence
    ("MIT", "CDLA-Permissive-2.0", "Class I", "Class III", "included"),  # a code licence on data
    ("CC0-1.0", "CDLA-Permissive-2.0", "Class I", "Class III", "included"),  # the MOT keeps it as a document licence
    ("PDDL-1.0", "CDLA-Permissive-2.0", "Class III", "Class III", "invalid"),  # not open to the MOT
    ("CDLA-Permissive-2.0", "CC-BY-4.0", "Class I", "Unclassified", "included"),  # weights: not a data licence
    ("MIT OR Apache-2.0", "CDLA-Permissive-2.0", "Class III", "Class III", "invalid"),
])
def test_open_but_not_type_appropriate_counts_for_the_mot_only(data, weights, label, strict, datasets_status):
    result = classify(_demo_like(data, weights))
    assert (result.label, result.strict_label) == (label, strict)
    assert result.components["Datasets"].status == datasets_status
    assert _openness(result.strict_class) <= _openness(result.mof_class)


def _openness(mof_class: int) -> int:
    """3 for Class I ... 0 for unclassified: higher is more open."""
    return 4 - mof_class if mof_class else 0


def test_global_licences_and_placeholders_as_the_mot_resolves_them():
    entries = [{"name": "Model architecture"},  # code: the global code licence
               {"name": "Model parameters (Final)"},  # data: no data licence, so the distribution's
               {"name": "Model card", "license": "unlicensed"},  # explicit: the globals are not consulted
               {"name": "Data card", "license": ""},  # the same
               {"name": "Technical report", "license": "0"},  # PHP's falsy '0': the same
               {"name": "Evaluation results", "license": "Pending evaluation"},  # a string, not a licence
               {"name": "Training code", "license": "Unlicense"}]  # a real licence id
    result = classify(_model(entries, {"code": {"name": "MIT"}, "document": {"name": ""},
                                       "distribution": {"name": "Apache-2.0"}}))
    c = result.components
    assert (c["Model architecture"].licence, c["Model architecture"].licence_from) == ("MIT", "release.license.code")
    assert c["Model parameters (Final)"].licence_from == "release.license.distribution"
    assert [c[n].status for n in ("Model card", "Data card", "Technical report")] == ["unlicensed"] * 3
    assert c["Evaluation results"].status == "invalid" and c["Training code"].status == "included"


def test_a_component_listed_twice_takes_the_later_entry():
    entries = [{"name": "Datasets", "license": "CDLA-Permissive-2.0"}, {"name": "Datasets", "license": "Foo"}]
    assert classify(_model(entries)).components["Datasets"].status == "invalid"


@pytest.mark.parametrize("text, why", [
    ("release: {name: m, producer: p, components: [{name: Datasets}]}\n", "'license' is required"),
    ("release: {name: m, producer: p, license: {}, components: []}\n", "empty list"),
    ("release: {name: m, producer: p, license: {}, components: [{name: Datasets, license: }]}\n", "not null"),
    ("release: {name: m, producer: p, license: {}, date: 2025-01-02, components: [{name: Datasets}]}\n",
     "unquoted date"),
    ("release: {name: m, producer: p, license: {}, components: [{name: datasets, license: MIT}]}\n",
     "not a MOF component name"),
    ("release: {name: m, producer: p, license: {}, components: [{license: MIT}]}\n", "has no 'name'"),
])
def test_files_the_mot_refuses_are_unclassified(text, why):
    result = evaluate(parse_description("framework: {name: Model Openness Framework, version: '1.0', "
                                        "date: '2024-12-15'}\n" + text, "m.yml"))
    assert not result.mot_accepts and result.label == result.strict_label == "Unclassified"
    assert any(why in p for p in result.problems), result.problems
    assert all(p.startswith("m.yml:") for p in result.problems)


def test_strict_is_never_above_the_mot_on_the_conformance_data(mof_reference):
    from glassworks.release.mof import classify_file

    for path in sorted((mof_reference / "Test_Data").glob("*_C1_*.yml")):
        result = classify_file(path)
        assert _openness(result.strict_class) <= _openness(result.mof_class), path.name
        assert all(result.strict_progress[k] <= result.progress[k] for k in (1, 2, 3)), path.name


def test_refresh_writes_the_lists_unchanged_with_their_provenance(mof_reference, tmp_path):
    """From a plain folder (shared/mof-reference has the two JSON lists, not the PHP source)
    the lists are copied byte for byte and the extracted constants are kept."""
    assets = Path(__file__).resolve().parents[2] / "release" / "mof" / "assets"
    for name in ("mot-open-lists.json", "mot-provenance.json"):
        shutil.copy(assets / name, tmp_path / name)
    provenance = refresh(Source(mof_reference, "HEAD", "abc123"), tmp_path)
    assert provenance["commit"] == "abc123"
    for name in ("licenses.json", "mof-licenses.json", "mot-open-lists.json"):
        assert (tmp_path / name).read_bytes() == (assets / name).read_bytes(), name
    assert json.loads((tmp_path / "mot-provenance.json").read_text())["files"]["mof-licenses.json"]["path"] == \
        "web/modules/mof/mof-licenses.json"


def test_php_constant_arrays_are_read():
    php = "class X {\n  const OPEN_LICENSES = [\n    'OpenMDW-1.0',\n    'CC0-1.0', // note\n  ];\n}\n"
    assert php_string_array(php, "OPEN_LICENSES") == ["OpenMDW-1.0", "CC0-1.0"]
    with pytest.raises(SystemExit, match="OPEN_DATA_LICENSES"):
        php_string_array(php, "OPEN_DATA_LICENSES")


def test_from_data_without_framework_date_is_refused():
    result = evaluate(from_data({"framework": {"name": "Model Openness Framework", "version": "1.0"},
                                 "release": {"name": "m", "producer": "p", "license": {}, "components": []}}))
    assert not result.mot_accepts


def test_the_report_says_when_the_paper_takes_its_place():
    entries = [{"name": n, "license": "CC-BY-4.0" if KINDS[n] == "document" else "CDLA-Permissive-2.0"
                if KINDS[n] == "data" else "MIT"} for n in ALL if n != "Technical report"]
    result = classify(_model(entries))
    assert (result.label, result.strict_label) == ("Class I", "Class I")
    assert "the research paper takes its place" in result.components["Technical report"].reason
