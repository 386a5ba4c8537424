"""The main job on the embedded corpus: it runs, it verifies, and tampering is caught and named."""

import json
import shutil
from pathlib import Path

import pytest

from glassworks.cli import main
from glassworks.provenance import verify_run

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("demo") / "run"
    assert main(["demo", "--workdir", str(workdir)]) == 0
    return workdir


def copy(run: Path, tmp_path: Path) -> Path:
    target = tmp_path / "run"
    shutil.copytree(run, target, symlinks=True)
    return target


def test_demo_records_both_stages_and_verifies(demo_run, capsys):
    manifests = sorted(p.name.rsplit("-", 1)[0] for p in (demo_run / "manifests").glob("*.json"))
    assert manifests == ["dclm.bff", "dclm.extract", "dclm.heuristics", "dclm.language", "dclm.quality", "documents",
                         "slimpajama.extract", "slimpajama.language", "slimpajama.normalize", "sources",
                         "stack.exact_dedup", "stack.filters", "stack.licenses", "stack.near_dedup", "stack.redact"]
    for recipe in ("slimpajama", "dclm", "stack"):
        assert (demo_run / "reports" / f"{recipe}-stages.png").stat().st_size > 10_000
    docs = json.loads(next((demo_run / "manifests").glob("documents-*.json")).read_text())
    sources = json.loads(next((demo_run / "manifests").glob("sources-*.json")).read_text())
    assert docs["upstream"] == [sources["id"]]
    c = docs["counts"]
    assert c["in"] == c["kept"] + sum(c["dropped"].values()) + c["quarantined"] and c["kept"] > 300
    assert main(["audit", "verify", str(demo_run), "--root", f"data={DATA}"]) == 0
    assert "VERIFIED" in capsys.readouterr().out


def test_demo_is_deterministic(demo_run, tmp_path):
    again = tmp_path / "again"
    assert main(["demo", "--workdir", str(again)]) == 0
    names = sorted(p.name for p in (demo_run / "manifests").iterdir())
    assert names == sorted(p.name for p in (again / "manifests").iterdir())
    first, second = demo_run / "corpus", again / "corpus"
    files = sorted(p.relative_to(first) for p in first.rglob("*.jsonl.gz"))
    assert files == sorted(p.relative_to(second) for p in second.rglob("*.jsonl.gz"))
    assert all((first / f).read_bytes() == (second / f).read_bytes() for f in files)


@pytest.mark.parametrize("victim", ["raw/web/sphinx-docs.warc.gz", "raw/code/toml/LICENSE", "documents/text/00000.jsonl.gz",
                                    "documents/dropped/web/00000.jsonl.gz",
                                    "corpus/slimpajama/language/web/00000.jsonl.gz",
                                    "corpus/slimpajama/normalize/dropped/text/00000.jsonl.gz"])
def test_one_changed_byte_fails_and_is_named(demo_run, tmp_path, victim, capsys):
    run = copy(demo_run, tmp_path)
    data = bytearray((run / victim).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (run / victim).write_bytes(bytes(data))
    assert main(["audit", "verify", str(run), "--root", f"data={DATA}"]) == 1
    fails = [line for line in capsys.readouterr().out.splitlines() if line.startswith("FAIL ")]
    assert fails and all(victim in line for line in fails)


def test_deleted_manifest_names_the_missing_link(demo_run, tmp_path):
    run = copy(demo_run, tmp_path)
    sources = next((run / "manifests").glob("sources-*.json"))
    sources.unlink()
    lines = [f.line() for f in verify_run(run, roots={"data": DATA}).failures]
    assert any(f"missing link: upstream manifest manifests/{sources.name} does not exist" in line for line in lines)
