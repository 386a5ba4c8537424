"""A two-stage run recorded with the recorder, then tampered with in every way verify must catch."""

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from glassworks.cli import main
from glassworks.errors import GlassworksError
from glassworks.provenance import load_manifest, manifest_digest, record_stage, validate_manifest, verify_run


def make_run(run: Path, text: str = "first document\n") -> tuple[dict, dict]:
    """alpha writes two files from three units (one dropped); beta reads one of them."""
    with record_stage(run, "alpha", "1", {"threshold": 0.5}) as rec:
        (run / "out").mkdir(parents=True)
        (run / "out" / "a.txt").write_text(text)
        (run / "out" / "b.txt").write_text("second document\n")
        rec.counts.add_in(3)
        rec.counts.keep(2)
        rec.counts.drop("too_short")
        rec.output(run / "out")
    with record_stage(run, "beta", "1", {"upper": True}) as rec2:
        rec2.input(run / "out" / "a.txt")
        (run / "final").mkdir()
        (run / "final" / "c.txt").write_text((run / "out" / "a.txt").read_text().upper())
        rec2.counts.add_in()
        rec2.counts.keep()
        rec2.output(run / "final" / "c.txt")
    return rec.manifest, rec2.manifest


def failures(run: Path, **kw) -> list[str]:
    return [f.line() for f in verify_run(run, **kw).failures]


def test_recorded_run_verifies_and_links(tmp_path):
    alpha, beta = make_run(tmp_path / "run")
    assert beta["upstream"] == [alpha["id"]]
    assert alpha["counts"] == {"unit": "documents", "in": 3, "kept": 2, "dropped": {"too_short": 1}, "quarantined": 0}
    assert [f["path"] for f in alpha["outputs"]["files"]] == ["out/a.txt", "out/b.txt"]
    assert alpha["config"] == {"threshold": 0.5} and len(alpha["config_sha256"]) == 64
    assert set(alpha["code"]) == {"glassworks_version", "git_commit", "git_dirty", "python", "libraries"}
    assert validate_manifest(alpha) == []
    report = verify_run(tmp_path / "run")
    assert report.ok, [f.line() for f in report.failures]
    assert report.manifests == 2 and report.files_hashed == 3


def test_same_inputs_give_the_same_manifest_ids(tmp_path):
    first = make_run(tmp_path / "one")
    second = make_run(tmp_path / "two")
    assert [m["id"] for m in first] == [m["id"] for m in second]
    third = make_run(tmp_path / "three", text="other document\n")
    assert third[0]["id"] != first[0]["id"] and third[1]["id"] != first[1]["id"]


@pytest.mark.parametrize("victim", ["out/a.txt", "out/b.txt", "final/c.txt"])
def test_one_changed_byte_is_caught_and_named(tmp_path, victim):
    run = tmp_path / "run"
    make_run(run)
    data = bytearray((run / victim).read_bytes())
    data[3] ^= 0x01
    (run / victim).write_bytes(bytes(data))
    lines = failures(run)  # one line per manifest that recorded the file (producer and consumer)
    assert 1 <= len(lines) <= 2
    assert all(line.startswith(f"FAIL file     {victim} (claimed by manifests/") for line in lines)
    assert all("sha256 differs" in line for line in lines)


def test_deleted_file_is_named(tmp_path):
    run = tmp_path / "run"
    make_run(run)
    (run / "out" / "b.txt").unlink()
    assert any("out/b.txt" in line and "missing" in line for line in failures(run))


def test_deleted_manifest_is_a_missing_link(tmp_path):
    run = tmp_path / "run"
    alpha, _ = make_run(run)
    (run / "manifests" / f"{alpha['id']}.json").unlink()
    lines = failures(run)
    assert any(f"missing link: upstream manifest manifests/{alpha['id']}.json does not exist" in line for line in lines)
    assert "FAIL coverage out/b.txt: file is not recorded by any manifest (added, or its manifest is gone)" in lines


def test_edited_manifest_fails_its_digest(tmp_path):
    run = tmp_path / "run"
    alpha, _ = make_run(run)
    path = run / "manifests" / f"{alpha['id']}.json"
    edited = json.loads(path.read_text())
    edited["counts"]["kept"] = 3
    edited["counts"]["dropped"] = {}
    path.write_text(json.dumps(edited))
    assert failures(run)[0] == (f"FAIL digest   manifests/{alpha['id']}.json: content changed after it was "
                                "recorded (digest does not recompute)")


def test_unbalanced_counts_fail_even_with_a_recomputed_digest(tmp_path):
    run = tmp_path / "run"
    alpha, _ = make_run(run)
    path = run / "manifests" / f"{alpha['id']}.json"
    forged = json.loads(path.read_text())
    forged["counts"]["dropped"] = {}
    forged["digest"] = manifest_digest(forged)
    forged["id"] = f"alpha-{forged['digest'][:16]}"
    path.unlink()
    (run / "manifests" / f"{forged['id']}.json").write_text(json.dumps(forged))
    lines = failures(run)
    assert any("counts" in line and "in=3 but kept + dropped + quarantined = 2" in line for line in lines)


def test_malformed_manifest_is_named_with_its_line(tmp_path):
    run = tmp_path / "run"
    alpha, _ = make_run(run)
    path = run / "manifests" / f"{alpha['id']}.json"
    path.write_text(path.read_text()[:200])
    lines = failures(run)
    assert lines[0].startswith(f"FAIL manifest manifests/{alpha['id']}.json")
    assert "not valid JSON" in lines[0]


def test_schema_refuses_paths_that_escape(tmp_path):
    alpha, _ = make_run(tmp_path / "run")
    for bad in ("../secret", "/etc/passwd", "out/../../x", "a\\b"):
        forged = json.loads(json.dumps(alpha))
        forged["outputs"]["files"][0]["path"] = bad
        assert any(p.startswith("outputs.files.0.path") for p in validate_manifest(forged)), bad


def test_symlink_out_of_the_run_is_refused(tmp_path):
    run = tmp_path / "run"
    make_run(run)
    outside = tmp_path / "outside.txt"
    shutil.copy(run / "out" / "b.txt", outside)
    (run / "out" / "b.txt").unlink()
    (run / "out" / "b.txt").symlink_to(outside)
    assert any("out/b.txt" in line and "symlink" in line for line in failures(run))


def test_failed_stage_writes_no_manifest(tmp_path):
    run = tmp_path / "run"
    with pytest.raises(RuntimeError):
        with record_stage(run, "alpha", "1", {}) as rec:
            rec.counts.add_in()
            raise RuntimeError("stage crashed")
    assert not (run / "manifests").exists()
    with pytest.raises(GlassworksError, match=r"accounting does not balance: in=2 but kept=1"):
        with record_stage(run, "alpha", "1", {}) as rec:
            rec.counts.add_in(2)
            rec.counts.keep()
    assert not (run / "manifests").exists()


def test_rerun_retires_the_manifest_it_overwrote(tmp_path):
    run = tmp_path / "run"
    alpha, beta = make_run(run)
    with record_stage(run, "alpha", "1", {"threshold": 0.9}) as rec:
        (run / "out" / "a.txt").write_text("changed\n")
        rec.counts.add_in()
        rec.counts.keep()
        rec.output(run / "out" / "a.txt")
    names = sorted(p.stem for p in (run / "manifests").iterdir())
    assert alpha["id"] not in names and rec.manifest_id in names and beta["id"] in names
    # beta consumed the old a.txt: its record is now stale, and verify says so.
    assert any("final/c.txt" not in line and beta["id"] in line for line in failures(run))


def test_cli_verify_json_and_exit_codes(tmp_path, capsys):
    run = tmp_path / "run"
    make_run(run)
    assert main(["audit", "verify", str(run), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["manifests"] == 2 and report["failures"] == 0
    (run / "final" / "c.txt").write_text("tampered")
    assert main(["audit", "verify", str(run)]) == 1
    out = capsys.readouterr().out
    assert "FAIL file     final/c.txt" in out and out.rstrip().splitlines()[-1].startswith("FAILED:")


def test_external_roots_fail_unless_given_or_explicitly_unchecked(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "raw.txt").write_text("raw bytes")
    run = tmp_path / "run"
    with record_stage(run, "ingest", "1", {}, roots={"data": data}, unit="files") as rec:
        rec.input(data / "raw.txt")
        (run / "copy.txt").parent.mkdir(parents=True, exist_ok=True)
        (run / "copy.txt").write_text("raw bytes")
        rec.counts.add_in()
        rec.counts.keep()
        rec.output(run / "copy.txt")
    assert rec.manifest["inputs"]["files"] == [
        {"path": "raw.txt", "root": "data", "bytes": 9, "sha256": hashlib.sha256(b"raw bytes").hexdigest()}
    ]
    assert failures(run) == [f"FAIL file     data:raw.txt (claimed by manifests/{rec.manifest_id}.json): external "
                             "root 'data' not given: --root data=DIR checks it, --unchecked-root data accepts it unchecked"]
    report = verify_run(run, unchecked_roots=("data",))
    assert report.ok and any(f.status == "skip" and f.subject == "data:raw.txt" for f in report.findings)
    assert verify_run(run, roots={"data": data}).ok
    (data / "raw.txt").write_text("raw bytez")
    assert any("data:raw.txt" in line and "sha256 differs" in line for line in failures(run, roots={"data": data}))


def test_an_added_file_or_a_deleted_leaf_manifest_fails(tmp_path):
    run = tmp_path / "run"
    _, beta = make_run(run)
    (run / "out" / "extra.txt").write_text("slipped in")
    assert failures(run) == ["FAIL coverage out/extra.txt: file is not recorded by any manifest (added, or its manifest is gone)"]
    (run / "out" / "extra.txt").unlink()
    (run / "logs").mkdir()
    (run / "logs" / "task.log").write_text("logs are not records")
    assert failures(run) == []
    (run / "manifests" / f"{beta['id']}.json").unlink()  # nothing links to the last stage
    assert failures(run) == ["FAIL coverage final/c.txt: file is not recorded by any manifest (added, or its manifest is gone)"]


def test_crafted_manifests_fail_without_crashing(tmp_path):
    run = tmp_path / "run"
    alpha, _ = make_run(run)
    (run / "manifests" / "alpha-0000000000000000.json").write_text("[" * 100_000)
    forged = json.loads(json.dumps(alpha))
    forged["outputs"]["files"][0]["path"] = "out/a\x00b.txt"  # a NUL byte: no filesystem path has one
    forged["outputs"]["files"].append({"path": "x", "root": "zz", "bytes": 1, "sha256": "0" * 64})
    (run / "manifests" / "alpha-1111111111111111.json").write_text(json.dumps(forged))
    lines = failures(run)
    assert any("alpha-0000000000000000.json" in line and "nests too deeply" in line for line in lines)
    assert any("alpha-1111111111111111.json" in line and "outputs.files.0.path" in line for line in lines)
