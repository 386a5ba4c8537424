"""`corpus sources scan` writes the listing; `copy: false` runs a corpus from it with no copy of the raw data."""

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from glassworks.cli import cli
from glassworks.errors import GlassworksError
from glassworks.pipeline.recipe import check_recipe_file, run_recipe
from glassworks.pipeline.sources import SourcesConfig, read_listing, run_sources, scan_sources
from glassworks.provenance import verify_run
from glassworks.provenance.regenerate import regenerate

REPO = Path(__file__).resolve().parents[2]
RECIPE = "name: small\nsources: [{name: text, shape: text}, {name: code, shape: code}]\n" \
         "stages:\n  - name: normalize\n    steps: [{step: unicode_normalize}]\n"


def make_data(tmp_path: Path) -> Path:
    """Real embedded files (a Bible in JSONL, a small code repository) and no listing yet."""
    data = tmp_path / "data"
    shutil.copytree(REPO / "data" / "code" / "debianutils", data / "code" / "debianutils")
    (data / "text").mkdir()
    shutil.copy(REPO / "data" / "text" / "reina-valera-1909.jsonl", data / "text")
    (data / "web").mkdir()  # an empty shape: read as no documents
    return data


def test_scan_lists_every_file_with_its_licence(tmp_path):
    data = make_data(tmp_path)
    (data / "REUSE.toml").write_text(
        'version = 1\n[[annotations]]\npath = "**"\nSPDX-License-Identifier = "CC0-1.0"\n'
        '[[annotations]]\npath = ["text/*.jsonl"]\nSPDX-License-Identifier = "LicenseRef-Public-Domain"\n')
    (data / "code" / "other").mkdir()
    (data / "code" / "other" / "COPYING").write_text("GNU GENERAL PUBLIC LICENSE\n")
    (data / "code" / "other" / "main.c").write_text("int main(void) { return 0; }\n")
    rows = scan_sources([data / "text", data / "code"], tmp_path / "listing.jsonl", tmp_path / "SOURCES.md")
    by_path = {r["path"]: r for r in rows}
    assert [r["path"] for r in rows] == sorted(by_path)
    assert by_path["text/reina-valera-1909.jsonl"]["licence"] == "LicenseRef-Public-Domain"  # the last match wins
    assert by_path["code/debianutils/add-shell"]["licence"] == "CC0-1.0"
    assert by_path["code/other/main.c"]["licence"] == "CC0-1.0"  # REUSE.toml (above the scanned folders) before COPYING
    (data / "REUSE.toml").unlink()
    rows = {r["path"]: r for r in scan_sources([data / "text", data / "code"], tmp_path / "listing.jsonl")}
    assert rows["code/other/main.c"]["licence_file"] == "code/other/COPYING" and "licence" not in rows["code/other/main.c"]
    assert "licence" not in rows["text/reina-valera-1909.jsonl"] and "licence_file" not in rows["text/reina-valera-1909.jsonl"]
    # the JSONL and the Markdown table give the same listing, and both agree with the hand-written SOURCES.md
    listed = read_listing(tmp_path / "listing.jsonl")
    assert read_listing(tmp_path / "SOURCES.md") == listed
    reference = read_listing(REPO / "data" / "SOURCES.md")
    assert all(reference[path] == sha for path, sha in listed.items() if not path.startswith("code/other/"))


def test_scan_leaves_out_its_own_listing_and_is_deterministic(tmp_path):
    data = make_data(tmp_path)
    first = scan_sources([data], data / "SOURCES.jsonl")
    again = scan_sources([data], data / "SOURCES.jsonl")
    assert first == again and "SOURCES.jsonl" not in {r["path"] for r in again}
    assert {r["path"].split("/")[0] for r in first} == {"code", "text"}


def test_jsonl_listing_errors_name_the_line(tmp_path):
    path = tmp_path / "SOURCES.jsonl"
    path.write_text(json.dumps({"path": "a", "sha256": "a" * 64}) + "\n{oops\n")
    with pytest.raises(GlassworksError, match=r"SOURCES\.jsonl:2: not JSON"):
        read_listing(path)
    path.write_text(json.dumps({"path": "a", "sha256": "short"}) + "\n")
    with pytest.raises(GlassworksError, match=r"SOURCES\.jsonl:1: a listing line needs"):
        read_listing(path)


def test_corpus_runs_in_place_from_a_generated_listing(tmp_path):
    data = make_data(tmp_path)
    scan_sources([data], data / "SOURCES.jsonl")
    (tmp_path / "recipe.yaml").write_text(RECIPE + "raw: {listing: SOURCES.jsonl, copy: false}\n")
    config = check_recipe_file(tmp_path / "recipe.yaml")
    assert config.raw.copy is False
    config = replace(config, raw=replace(config.raw, data_dir=data))
    run_recipe(config, tmp_path / "run")
    run_recipe(replace(config, raw=replace(config.raw, copy=True)), tmp_path / "copied")

    run = tmp_path / "run"
    assert not (run / "raw").exists()  # nothing copied
    manifests = {json.loads(p.read_text())["stage"]["name"]: json.loads(p.read_text()) for p in (run / "manifests").glob("*.json")}
    raw = {r["path"] for r in manifests["documents"]["inputs"]["files"] if r.get("root") == "data"}
    assert "text/reina-valera-1909.jsonl" in raw and "code/debianutils/add-shell" in raw
    assert manifests["sources"]["id"] in manifests["documents"]["upstream"]
    # the same documents as from a copy of the raw files
    for folder in ("documents", "corpus"):
        ours = {p.relative_to(run).as_posix(): p.read_bytes() for p in (run / folder).rglob("*") if p.is_file()}
        theirs = {p.relative_to(tmp_path / "copied").as_posix(): p.read_bytes()
                  for p in (tmp_path / "copied" / folder).rglob("*") if p.is_file()}
        assert ours == theirs
    assert verify_run(run, roots={"data": data}).ok
    result = regenerate(run, tmp_path / "again", roots={"data": data})
    assert result.ok, result.lines()

    with open(data / "text" / "reina-valera-1909.jsonl", "ab") as handle:  # the raw bytes change after the run
        handle.write(b"\n")
    report = verify_run(run, roots={"data": data})
    assert not report.ok
    assert any("data:text/reina-valera-1909.jsonl" in f.line() for f in report.failures), [f.line() for f in report.failures]


def test_in_place_refuses_a_file_it_cannot_set_aside(tmp_path):
    data = make_data(tmp_path)
    scan_sources([data], data / "SOURCES.jsonl")
    (data / "code" / "debianutils" / "late.sh").write_text("echo late\n")
    config = SourcesConfig(data_dir=data, listing="SOURCES.jsonl", copy=False)
    with pytest.raises(GlassworksError, match=r"late\.sh: not listed .*read in place"):
        run_sources(config, tmp_path / "run")
    (data / "code" / "debianutils" / "late.sh").unlink()
    (data / "code" / "debianutils" / "add-shell").unlink()  # listed but gone: nothing to read, so only recorded
    manifest = run_sources(config, tmp_path / "run")
    assert manifest["counts"]["quarantined"] == 1 and manifest["config"]["copy"] is False


def test_cli_scan_then_in_place_stage(tmp_path):
    data = make_data(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli, ["corpus", "sources", "scan", str(data), "--markdown", str(tmp_path / "SOURCES.md")])
    assert result.exit_code == 0, result.output
    assert f"-> {data / 'SOURCES.jsonl'}" in result.output and (tmp_path / "SOURCES.md").is_file()
    result = runner.invoke(cli, ["corpus", "sources", "--data-dir", str(data), "--listing", "SOURCES.jsonl",
                                  "--workdir", str(tmp_path / "run"), "--in-place"])
    assert result.exit_code == 0, result.output
    assert "kept in place" in result.output and not (tmp_path / "run" / "raw").exists()
    result = runner.invoke(cli, ["corpus", "sources", "--data-dir", str(data)])
    assert result.exit_code != 0 and "--workdir is required" in result.output
