"""The manifest schema and digest: what a valid manifest is, and what the schema refuses."""

import copy
import json

import pytest

from glassworks.errors import GlassworksError
from glassworks.provenance import load_manifest, manifest_digest, record_stage, validate_manifest


@pytest.fixture()
def manifest(tmp_path):
    with record_stage(tmp_path / "run", "tiny", "1", {"n": 1}) as rec:
        (tmp_path / "run" / "out.txt").write_text("x")
        rec.counts.add_in()
        rec.counts.keep()
        rec.output(tmp_path / "run" / "out.txt")
    return rec.manifest


def test_written_manifest_is_valid_and_content_addressed(manifest, tmp_path):
    assert validate_manifest(manifest) == []
    assert manifest["id"] == f"tiny-{manifest['digest'][:16]}"
    assert manifest_digest(manifest) == manifest["digest"]
    on_disk = load_manifest(tmp_path / "run" / "manifests" / f"{manifest['id']}.json")
    assert on_disk == manifest
    later = copy.deepcopy(manifest)
    later["run"]["wall_seconds"] += 5  # timings are not part of the identity
    assert manifest_digest(later) == manifest["digest"]


@pytest.mark.parametrize(
    "edit, where",
    [
        (lambda m: m.pop("counts"), "<root>: 'counts' is a required property"),
        (lambda m: m["counts"].__setitem__("kept", -1), "counts.kept: -1 is less than the minimum of 0"),
        (lambda m: m["counts"].__setitem__("in", "1"), "counts.in: '1' is not of type 'integer'"),
        (lambda m: m.__setitem__("schema", "other/v9"), "schema: 'glassworks.manifest/v1' was expected"),
        (lambda m: m["outputs"]["files"][0].__setitem__("sha256", "xyz"), "outputs.files.0.sha256"),
        (lambda m: m.__setitem__("id", "Tiny-123"), "id: 'Tiny-123' does not match"),
        (lambda m: m.__setitem__("surprise", 1), "Additional properties are not allowed ('surprise' was unexpected)"),
        (lambda m: m["code"].__setitem__("git_commit", "not-a-sha"), "code.git_commit"),
        (lambda m: m["run"].__setitem__("started", "yesterday"), "run.started: 'yesterday' does not match"),
    ],
)
def test_schema_refuses(manifest, edit, where):
    broken = copy.deepcopy(manifest)
    edit(broken)
    problems = validate_manifest(broken)
    assert any(where in p for p in problems), problems


def test_load_manifest_errors(tmp_path):
    with pytest.raises(GlassworksError, match="manifest not found"):
        load_manifest(tmp_path / "none.json")
    (tmp_path / "list.json").write_text(json.dumps([1]))
    with pytest.raises(GlassworksError, match="must be a JSON object, got list"):
        load_manifest(tmp_path / "list.json")
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe{}")
    with pytest.raises(GlassworksError, match="not UTF-8"):
        load_manifest(tmp_path / "bin.json")
