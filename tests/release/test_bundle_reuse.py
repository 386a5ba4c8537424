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
    """Every component's files carry its model.yml licence; the data folders add the licences of
    the documents they hold (their authors' terms survive the compilation)."""
    _, bundle = built
    mof = yaml.safe_load((bundle / "model.yml").read_text())
    data = {"Datasets", "Evaluation data"}
    for comp in mof["release"]["components"]:
        path = bundle / comp["component_path"]
        files = [path] if path.is_file() else [p for p in sorted(path.rglob("*")) if p.is_file()
                                                 and p.name not in ("README.md", "NOTICE.md") and "recipes" not in p.parts]
        got = _licences_of(bundle, files[0].relative_to(bundle))
        if comp["name"] in data:
            parts = got[0].split(" AND ")
            assert parts[0] == comp["license"], (comp["name"], got)
            # the trained-on documents are traced to their sources; this fixture's eval suite is
            # made of token bytes with no source, so it keeps the component's licence alone
            assert len(parts) > 1 or comp["name"] == "Evaluation data", (comp["name"], got)
            assert not [p for p in parts if "GPL" in p], (comp["name"], got)  # copyleft never ships as data
        else:
            assert got == [comp["license"]], comp["name"]
    used = {c["license"] for c in mof["release"]["components"]}
    texts = {p.stem for p in (bundle / "LICENSES").iterdir()}
    assert used <= texts and texts - used <= {"BSD-2-Clause", "MIT", "LicenseRef-Public-Domain"}


def test_the_data_names_its_documents_licences_and_holders(built):
    _, bundle = built
    notice = (bundle / "corpus" / "NOTICE.md").read_text()
    assert "CDLA-Permissive-2.0" in notice and "GPL" not in notice
    rows = [line.split(" | ") for line in notice.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert rows and all(int(row[1]) > 0 and (bundle / row[3].strip(" |`")).is_file() for row in rows)
    assert any(row[0] == "| BSD-2-Clause" and "Sphinx team" in row[2] for row in rows)


def test_files_added_after_the_build_are_covered(bundle_copy):
    (bundle_copy / "model.sig").write_bytes(b"\x00signature")
    (bundle_copy / "attestation").mkdir(exist_ok=True)
    (bundle_copy / "attestation" / "statement.json").write_text("{}")
    (bundle_copy / ".huggingface.yaml").write_text("x: 1\n")
    assert lint(bundle_copy) == []


def test_lint_fails_without_the_metadata_or_with_an_unused_text(bundle_copy):
    (bundle_copy / "LICENSES" / "0BSD.txt").write_text("Zero-Clause BSD\n")
    assert any("unused" in p and "0BSD" in p for p in lint(bundle_copy))
    (bundle_copy / "LICENSES" / "0BSD.txt").unlink()
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
