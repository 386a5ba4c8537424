"""REUSE in the bundle: REUSE.toml derived from model.yml, LICENSES/ with exactly the texts used,
and `reuse lint` passing, also after a signature or publish metadata is added."""

import pytest
import yaml

from glassworks.errors import GlassworksError
from glassworks.release.bundle.reuse import annotations, lint, write_reuse


def _licences_of(bundle, rel):
    from reuse.project import Project

    infos = Project.from_directory(bundle).reuse_info_of(bundle / rel)
    return sorted(str(e) for info in infos for e in info.spdx_expressions)


def test_reuse_lint_passes_in_the_bundle(built):
    _, bundle = built
    assert lint(bundle) == []


def test_each_component_carries_its_licence_from_model_yml(built):
    _, bundle = built
    mof = yaml.safe_load((bundle / "model.yml").read_text())
    for comp in mof["release"]["components"]:
        path = bundle / comp["component_path"]
        first = path if path.is_file() else next(p for p in sorted(path.rglob("*")) if p.is_file()
                                                 and not p.name == "README.md" and "recipes" not in p.parts)
        assert _licences_of(bundle, first.relative_to(bundle)) == [comp["license"]], comp["name"]
    used = {c["license"] for c in mof["release"]["components"]}
    assert {p.stem for p in (bundle / "LICENSES").iterdir()} == used


def test_files_added_after_the_build_are_covered(bundle_copy):
    (bundle_copy / "model.sig").write_bytes(b"\x00signature")
    (bundle_copy / "attestation").mkdir(exist_ok=True)
    (bundle_copy / "attestation" / "statement.json").write_text("{}")
    (bundle_copy / ".huggingface.yaml").write_text("x: 1\n")
    assert lint(bundle_copy) == []


def test_lint_fails_without_the_metadata_or_with_an_unused_text(bundle_copy):
    (bundle_copy / "LICENSES" / "MIT.txt").write_text("MIT License\n")
    assert any("unused" in p and "MIT" in p for p in lint(bundle_copy))
    (bundle_copy / "LICENSES" / "MIT.txt").unlink()
    (bundle_copy / "REUSE.toml").unlink()
    assert any("without licence" in p for p in lint(bundle_copy))


def test_compound_expressions_are_refused(tmp_path):
    mof = {"release": {"components": [{"name": "Datasets", "license": "MIT AND BSD-2-Clause",
                                       "component_path": "corpus/"}]}}
    with pytest.raises(GlassworksError, match="one SPDX id"):
        write_reuse(tmp_path, mof, "Someone", "2026", "CC-BY-4.0", tmp_path)


def test_later_annotations_are_more_specific():
    mof = {"release": {"license": {"code": {"name": "Apache-2.0"}}, "components": [
        {"name": "Model card", "license": "CC-BY-4.0", "component_path": "README.md"},
        {"name": "Datasets", "license": "CDLA-Permissive-2.0", "component_path": "corpus/"},
        {"name": "Data card", "license": "CC-BY-4.0", "component_path": "corpus/README.md"}]}}
    paths = [n["path"] for n in annotations(mof, "Someone", "2026", "CC-BY-4.0", ["2020 Source author"])]
    assert paths[0] == "**" and paths.index("corpus/**") < paths.index("corpus/README.md")
    assert paths.index("corpus/**") < paths.index("corpus/recipes/**")
    datasets = next(n for n in annotations(mof, "Someone", "2026", "CC-BY-4.0", ["2020 Source author"])
                    if n["path"] == "corpus/**")
    assert datasets["SPDX-FileCopyrightText"] == ["2026 Someone", "2020 Source author"]
