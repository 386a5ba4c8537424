"""`audit regenerate`: the demo's corpus rebuilt from a bundle matches bit for bit; divergence is named."""

import json
import shutil
from pathlib import Path

import pytest

from glassworks.cli import main
from glassworks.errors import GlassworksError
from glassworks.provenance.manifest import manifest_digest
from glassworks.provenance.regenerate import regenerate

DATA = Path(__file__).resolve().parents[2] / "data"
CORPUS_STAGES = ["sources", "documents", "dclm.extract", "dclm.language", "dclm.heuristics", "dclm.bff", "dclm.quality",
                 "slimpajama.extract", "slimpajama.normalize", "slimpajama.language", "stack.licenses", "stack.filters",
                 "stack.redact", "stack.exact_dedup", "stack.near_dedup"]


def test_regenerate_the_demo_corpus_from_its_bundle(manifests_bundle, tmp_path, capsys):
    """A bundle that ships the corpus as manifests: raw inputs and {recipe} files come out of
    its code archive; nothing outside the bundle is used."""
    assert main(["audit", "regenerate", str(manifests_bundle), "--workdir", str(tmp_path / "again"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] and result["first_divergence"] is None
    assert [s["stage"] for s in result["stages"]] == CORPUS_STAGES
    assert all(s["files"] == s["matched"] > 0 for s in result["stages"])
    assert sorted({m.split("-")[0] for m in result["not_regenerated"]}) == ["checkpoint", "eval", "export_hf",
                                                                            "release.bundle"]
    assert all(result["not_regenerated"].values())  # each with the reason it is not re-run
    # the corpus shards this bundle does not ship are regenerated; the rest is verified or named
    files = result["files"]
    regenerated = sum(s["files"] for s in result["stages"][1:])  # the sources' outputs include the raw snapshot
    assert files["counts"]["regenerated"] >= regenerated > 0 and not files["failures"]
    assert all(reason for reason in files["unchecked"])
    assert (tmp_path / "again" / "report" / "regenerate.html").is_file()
    assert (tmp_path / "again" / "inputs" / "data" / "web" / "sphinx-docs.warc.gz").is_file()
    assert (tmp_path / "again" / "inputs" / "configs" / "stack-optout.txt").is_file()


def only_slimpajama(corpus_run: Path, target: Path) -> Path:
    """The manifests alone are the instructions: copy them, leaving out the other recipes."""
    (target / "manifests").mkdir(parents=True)
    for path in (corpus_run / "manifests").glob("*.json"):
        if not path.name.startswith(("dclm.", "stack.")):
            shutil.copy(path, target / "manifests" / path.name)
    return target


def rewrite(path: Path, change) -> None:
    manifest = json.loads(path.read_text())
    change(manifest)
    manifest["digest"] = manifest_digest(manifest)
    path.write_text(json.dumps(manifest))


def test_first_diverging_stage_and_file_are_named(corpus_run, tmp_path):
    record = only_slimpajama(corpus_run, tmp_path / "record")
    language = next((record / "manifests").glob("slimpajama.language-*.json"))

    def claim_other_bytes(manifest):
        manifest["outputs"]["files"][-1]["sha256"] = "0" * 64

    rewrite(language, claim_other_bytes)
    result = regenerate(record, tmp_path / "again", roots={"data": DATA})
    assert not result.ok
    assert [s.stage for s in result.stages] == ["sources", "documents", "slimpajama.extract", "slimpajama.normalize",
                                                "slimpajama.language"]
    assert all(s.ok for s in result.stages[:-1])
    stage, file, what = result.first_divergence
    assert (stage, file, what) == ("slimpajama.language", "corpus/slimpajama/language/web/00000.jsonl.gz",
                                   "sha256 differs from the record")
    assert result.lines()[-1] == f"DIVERGED: first at stage {stage}, file {file}: {what}"


def test_changed_raw_input_is_named_before_anything_runs(corpus_run, tmp_path, capsys):
    record = only_slimpajama(corpus_run, tmp_path / "record")
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    changed = sorted((data / "text").glob("*.jsonl"))[0]  # a raw input the record names
    with open(changed, "a") as handle:
        handle.write('{"id": "x", "text": "slipped in"}\n')
    argv = ["audit", "regenerate", str(record), "--workdir", str(tmp_path / "again"), "--root", f"data={data}"]
    assert main(argv) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == (f"DIVERGED: first at stage sources, file data:text/{changed.name}: "
                       "raw input differs from the recorded one")
    assert not (tmp_path / "again" / "run").exists()


def test_regenerate_refuses_a_used_workdir_and_broken_manifests(corpus_run, tmp_path):
    record = only_slimpajama(corpus_run, tmp_path / "record")
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "file").write_text("x")
    with pytest.raises(GlassworksError, match="not empty"):
        regenerate(record, tmp_path / "used", roots={"data": DATA})
    broken = next((record / "manifests").glob("documents-*.json"))
    broken.write_text("{")
    with pytest.raises(GlassworksError, match=rf"{broken.name}:1: manifest is not valid JSON"):
        regenerate(record, tmp_path / "fresh", roots={"data": DATA})
