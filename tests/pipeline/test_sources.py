"""The sources stage: raw files checked against their listing, problems quarantined or fatal."""

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from glassworks.errors import GlassworksError
from glassworks.pipeline.sources import SourcesConfig, read_listing, run_sources
from glassworks.provenance import verify_run

REPO = Path(__file__).resolve().parents[2]


def make_data(tmp_path: Path) -> Path:
    """A copy of two real embedded files with a SOURCES.md listing them."""
    data = tmp_path / "data"
    rows = []
    for rel, licence in (("text/reina-valera-1909.jsonl", "LicenseRef-Public-Domain"),
                         ("code/debianutils/add-shell", "GPL-2.0-or-later")):
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "data" / rel, data / rel)
        sha = hashlib.sha256((data / rel).read_bytes()).hexdigest()
        rows.append(f"| `{rel}` | test copy | {licence} | {(data / rel).stat().st_size} | `{sha}` |")
    (data / "SOURCES.md").write_text("| path | origin | licence | bytes | sha256 |\n|---|---|---|---|---|\n" + "\n".join(rows) + "\n")
    return data


def config(data: Path, **kw) -> SourcesConfig:
    return SourcesConfig(data_dir=data, include=("text", "code"), **kw)


def test_clean_snapshot_verifies(tmp_path):
    data = make_data(tmp_path)
    manifest = run_sources(config(data), tmp_path / "run")
    assert manifest["counts"] == {"unit": "files", "in": 2, "kept": 2, "dropped": {}, "quarantined": 0}
    assert (tmp_path / "run" / "raw" / "code" / "debianutils" / "add-shell").read_bytes() == (
        data / "code" / "debianutils" / "add-shell").read_bytes()
    assert verify_run(tmp_path / "run", roots={"data": data}).ok


def test_changed_unlisted_and_missing_files_are_quarantined(tmp_path):
    data = make_data(tmp_path)
    with open(data / "text" / "reina-valera-1909.jsonl", "ab") as handle:
        handle.write(b"\n")
    (data / "code" / "debianutils" / "extra.sh").write_text("echo extra\n")
    (data / "code" / "debianutils" / "add-shell").unlink()
    manifest = run_sources(config(data), tmp_path / "run")
    assert manifest["counts"] == {"unit": "files", "in": 3, "kept": 0, "dropped": {}, "quarantined": 3}
    records = [json.loads(line) for line in (tmp_path / "run" / "quarantine" / "sources.jsonl").read_text().splitlines()]
    assert {r["path"]: r["reason"] for r in records} == {
        "code/debianutils/add-shell": "listed_but_missing",
        "code/debianutils/extra.sh": "not_listed",
        "text/reina-valera-1909.jsonl": "sha256_mismatch",
    }
    assert verify_run(tmp_path / "run", roots={"data": data}).ok  # the record is true, problems and all


def test_fail_mode_stops_and_names_the_file(tmp_path):
    data = make_data(tmp_path)
    (data / "text" / "reina-valera-1909.jsonl").write_text("changed")
    with pytest.raises(GlassworksError, match=r"reina-valera-1909\.jsonl: sha256 mismatch \(per .*SOURCES\.md\)"):
        run_sources(config(data, on_mismatch="fail"), tmp_path / "run")
    assert not (tmp_path / "run" / "manifests").exists()


def test_listing_errors(tmp_path):
    with pytest.raises(GlassworksError, match="source listing not found"):
        read_listing(tmp_path / "SOURCES.md")
    (tmp_path / "SOURCES.md").write_text("# nothing here\n")
    with pytest.raises(GlassworksError, match="no table rows"):
        read_listing(tmp_path / "SOURCES.md")
    sha = "a" * 64
    (tmp_path / "SOURCES.md").write_text(f"| `x` | `{sha}` |\n| `x` | `{'b' * 64}` |\n")
    with pytest.raises(GlassworksError, match=r"SOURCES\.md:2: x is listed twice"):
        read_listing(tmp_path / "SOURCES.md")


def test_embedded_listing_covers_the_corpus():
    listed = read_listing(REPO / "data" / "SOURCES.md")
    for shape in ("web", "text", "code"):
        assert any(rel.startswith(f"{shape}/") for rel in listed)
