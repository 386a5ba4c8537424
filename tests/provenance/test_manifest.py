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


GOOD = {"path": "a/b.txt", "bytes": 3, "sha256": "0" * 64}


@pytest.mark.parametrize("entry", [
    GOOD, {**GOOD, "root": "data"}, {**GOOD, "path": "..a/b..c/.x"}, {**GOOD, "bytes": 0},
    {**GOOD, "path": "../x"}, {**GOOD, "path": "a/.."}, {**GOOD, "path": "/abs"}, {**GOOD, "path": "a\\b"},
    {**GOOD, "path": "a\x00b"}, {**GOOD, "path": "tab\there"}, {**GOOD, "path": "del\x7f"}, {**GOOD, "path": ""},
    {**GOOD, "path": 3}, {**GOOD, "bytes": -1}, {**GOOD, "bytes": 1.0}, {**GOOD, "bytes": True}, {**GOOD, "bytes": "3"},
    {**GOOD, "sha256": "0" * 63}, {**GOOD, "sha256": "A" * 64}, {**GOOD, "sha256": "0" * 64 + "\n"},
    {**GOOD, "root": "Data"}, {**GOOD, "root": "1x"}, {**GOOD, "root": None}, {**GOOD, "extra": 1},
    {"path": "x", "bytes": 1}, [GOOD], "a/b.txt", None,
])
def test_fast_file_entry_check_never_accepts_what_the_schema_refuses(manifest, entry):
    """The fast path for file entries must be sound: whatever it accepts, jsonschema accepts."""
    from glassworks.provenance.manifest import _validator, plain_file_entry

    broken = copy.deepcopy(manifest)
    broken["outputs"]["files"] = [GOOD, entry]
    by_schema = [e.message for e in _validator().iter_errors(broken)]
    if plain_file_entry(entry):
        assert by_schema == []
    assert validate_manifest(broken) == [
        f"outputs.files.1{'.' + '.'.join(str(p) for p in list(e.absolute_path)[3:]) if len(e.absolute_path) > 3 else ''}: "
        f"{e.message}" for e in sorted(_validator().iter_errors(broken), key=lambda e: [str(p) for p in e.absolute_path])]
