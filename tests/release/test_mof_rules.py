"""The MOF rules written here: the 17 components, licence kinds, inheritance, the
report/paper substitution and how missing, unlicensed and invalid licences count."""

import pytest

from glassworks.release.mof import evaluate, from_data, parse_description
from glassworks.release.mof.components import components, required_by, required_for
from glassworks.release.mof.licences import acceptable, describe, judge

CLASS_III = ["Model architecture", "Model parameters (Final)", "Model card", "Data card", "Technical report",
             "Evaluation results"]
CLASS_II = ["Training code", "Inference code", "Evaluation code", "Evaluation data"]
CLASS_I = ["Data preprocessing code", "Model parameters (Intermediate)", "Datasets", "Research paper"]


def test_the_seventeen_components_and_their_classes():
    assert len(components()) == 17
    assert [c.name for c in required_by(3)] == CLASS_III
    assert [c.name for c in required_by(2)] == CLASS_II
    assert [c.name for c in required_by(1)] == CLASS_I
    assert len(required_for(1)) == 14
    optional = {c.name for c in components() if not c.required}
    assert optional == {"Sample model outputs", "Supporting libraries and tools", "Model metadata"}


@pytest.mark.parametrize("licence, kind, is_open, fits", [
    ("MIT", "code", True, True),
    ("mit", "code", False, False),  # the MOT looks ids up verbatim: case matters
    ("Apache-2.0", "data", True, False),  # open, but the MOT lists it for code and documents
    ("Apache-2.0", "document", True, True),
    ("BSD-2-Clause", "code", True, False),  # open (OSI), but not on the MOT's own list at all
    ("CDLA-Permissive-2.0", "data", True, True),
    ("OpenMDW-1.0", "data", True, True),
    ("CC-BY-4.0", "document", True, True),
    ("CC-BY-4.0", "data", True, False),  # on the MOT's open-data list, but listed for documents
    ("CC0-1.0", "data", True, False),  # listed for data, then again for documents: the MOT keeps the last
    ("CC0-1.0", "document", True, True),
    ("PDDL-1.0", "data", False, True),  # listed for data, yet the MOT's open-data list says ODC-PDDL-1.0
    ("CC-PDDC", "data", False, False),
    ("MulanPSL-1.0", "code", False, True),
    ("ODbL-1.0", "data", True, False),
    ("CC-BY-NC-4.0", "data", False, False),
    ("SMLNJ", "document", True, False),  # FSF free/libre only
    ("Llama 3.1 Community License Agreement", "data", False, False),
    ("MIT OR CC-BY-NC-4.0", "code", False, False),  # expressions are not ids
    ("BSD-2-Clause AND GPL-2.0-or-later AND MIT", "data", False, False),
    ("Apache-2.0 WITH LLVM-exception", "code", False, False),
])
def test_licence_verdicts_follow_the_mot(licence, kind, is_open, fits):
    verdict = judge(licence, kind)
    assert (verdict.is_open, verdict.type_appropriate) == (is_open, fits)
    assert describe(verdict, kind)


def test_acceptable_licences_per_type():
    """Open and listed for the type: what the strict class accepts (and the MOT does not warn on)."""
    assert acceptable("data") == ["CDLA-Permissive-1.0", "CDLA-Permissive-2.0", "OpenMDW-1.0"]
    assert acceptable("document") == ["Apache-2.0", "CC-BY-4.0", "CC-BY-SA-3.0", "CC-BY-SA-4.0", "CC0-1.0", "OpenMDW-1.0"]
    code = acceptable("code")
    assert {"MIT", "Apache-2.0", "0BSD", "ISC"} <= set(code) and "MulanPSL-1.0" not in code
    assert "GPL-2.0-or-later" not in code and "BSD-2-Clause" not in code


def _release(components, licence=None):
    release = {"name": "m", "producer": "p", "license": licence or {}, "components": components}
    return {"framework": {"name": "Model Openness Framework", "version": "1.0", "date": "2024-12-15"},
            "release": release}


def _all(names, licence_by_type=None):
    kinds = {c.name: c.content_type for c in components()}
    default = {"code": "Apache-2.0", "data": "CC-BY-4.0", "document": "CC-BY-4.0"}
    licence_by_type = licence_by_type or default
    return [{"name": n, "license": licence_by_type[kinds[n]]} for n in names]


def test_full_release_is_class_one_and_each_missing_component_lowers_it():
    full = evaluate(from_data(_release(_all(CLASS_III + CLASS_II + CLASS_I))))
    assert full.label == "Class I" and full.progress == {3: 100.0, 2: 100.0, 1: 100.0}
    for name in CLASS_I:
        if name == "Research paper":
            continue  # without the paper the report alone leaves Class I one short too, checked below
        result = evaluate(from_data(_release(_all([n for n in CLASS_III + CLASS_II + CLASS_I if n != name]))))
        assert result.label == "Class II"
        assert [line.split(":")[0] for line in result.gaps(1)] == [name]
    result = evaluate(from_data(_release(_all([n for n in CLASS_III + CLASS_II + CLASS_I if n != "Training code"]))))
    assert result.label == "Class III" and result.progress[1] == 0.0 and result.progress[2] == 90.0


def test_paper_stands_in_for_report():
    no_report = [n for n in CLASS_III + CLASS_II + CLASS_I if n != "Technical report"]
    result = evaluate(from_data(_release(_all(no_report))))
    assert result.label == "Class I"
    only_report = [n for n in CLASS_III + CLASS_II + CLASS_I if n != "Research paper"]
    result = evaluate(from_data(_release(_all(only_report))))
    assert result.label == "Class II" and result.progress[1] == pytest.approx(13 / 14 * 100)
    assert [line.split(":")[0] for line in result.gaps(1)] == ["Research paper"]
    # Class III alone with the paper instead of the report
    result = evaluate(from_data(_release(_all([n for n in CLASS_III if n != "Technical report"] + ["Research paper"]))))
    assert result.label == "Class III"


def test_global_licences_are_inherited_by_type_then_distribution():
    comps = [{"name": n} for n in CLASS_III]
    result = evaluate(from_data(_release(comps, {"distribution": {"name": "Apache-2.0"},
                                                 "data": {"name": "CDLA-Permissive-2.0"}})))
    assert result.label == "Class III"
    assert result.components["Model parameters (Final)"].licence == "CDLA-Permissive-2.0"
    assert result.components["Model parameters (Final)"].licence_from == "release.license.data"
    assert result.components["Model card"].licence_from == "release.license.distribution"
    # a component's own licence wins over the global one, even when it is worse
    comps[0] = {"name": "Model architecture", "license": "unlicensed"}
    result = evaluate(from_data(_release(comps, {"distribution": {"name": "Apache-2.0"}})))
    assert result.components["Model architecture"].status == "unlicensed"
    assert result.label == "Unclassified" and result.progress[3] == pytest.approx(500 / 6)


def test_missing_unlicensed_and_invalid_do_not_count_and_are_explained():
    comps = _all(CLASS_III)
    comps[1] = {"name": "Model parameters (Final)", "license": "CC-BY-NC-4.0"}
    comps[2] = {"name": "Model card", "license": ""}
    del comps[5]
    result = evaluate(from_data(_release(comps)))
    assert result.progress[3] == pytest.approx(300 / 6) and result.label == "Unclassified"
    statuses = {n: r.status for n, r in result.components.items() if n in CLASS_III}
    assert statuses["Model parameters (Final)"] == "invalid"
    assert statuses["Model card"] == "unlicensed"
    assert statuses["Evaluation results"] == "missing"
    gaps = result.gaps(3)
    assert len(gaps) == 3 and all(line.split(":")[0] in CLASS_III for line in gaps)


@pytest.mark.parametrize("text", [
    "", "[1, 2", "just a string", "- a\n- list", "framework: {}\n", "release: 7\n",
    "release:\n  components: nope\n", "release:\n  components:\n    - 5\n    - {name: Bogus}\n    - {name: model card, license: [MIT]}\n",
    "release:\n  license: MIT\n  components: [{name: Model card}]\n",
    "release:\n  license: {code: {name: 5}}\n  components: [{}]\n",
    "\x00\x01"
])
def test_malformed_descriptions_are_explained_never_raised(text):
    desc = parse_description(text, "bad.yml")
    result = evaluate(desc)
    assert result.label == "Unclassified"
    assert result.problems, "a malformed description must say what is wrong"
    assert all(p.startswith("bad.yml") for p in result.problems)


def test_problem_lines_name_the_line_and_key():
    text = ("framework: {name: Model Openness Framework, version: '1.0', date: '2024-12-15'}\n"
            "release:\n  name: m\n  producer: p\n  license: {}\n  components:\n    - name: Modle card\n")
    result = evaluate(parse_description(text, "m.yml"))
    assert len(result.problems) == 1
    assert result.problems[0].startswith("m.yml:7: release.components[0]: 'Modle card' is not a MOF component name "
                                         "(did you mean 'Model card'?)")
    assert not result.mot_accepts and result.label == "Unclassified"


def test_a_licence_that_does_not_parse_is_an_invalid_licence():
    desc = parse_description("release: {components: [{name: Datasets, license: 'MIT AND (('}]}", "m.yml")
    result = evaluate(desc).components["Datasets"]
    assert result.status == "invalid" and "is not a licence id the MOT knows" in result.reason


def test_yaml_aliases_are_refused_not_expanded():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, n in zip("abcdefgh", "bcdefghi"))
    result = evaluate(parse_description(bomb + "release: {components: []}\n", "bomb.yml"))
    assert result.label == "Unclassified" and not result.readable
    assert result.problems[0].startswith("bomb.yml:2: not valid YAML: YAML aliases are not accepted")
