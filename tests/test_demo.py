"""The main job on the embedded corpus: it runs, it verifies, and tampering is caught and named."""

import gzip
import json
import shutil
from pathlib import Path

import pytest

from glassworks.cli import main
from glassworks.provenance import verify_run

DATA = Path(__file__).resolve().parents[1] / "data"


SMOKE = Path(__file__).resolve().parents[1] / "configs" / "demo-smoke.yaml"
STAGES = ["data.phase1", "data.phase2", "data.phase3", "data.tokenize",
          "dclm.bff", "dclm.extract", "dclm.heuristics", "dclm.language", "dclm.quality", "dedup", "documents",
          "eval", "eval.suite", "eval.sweep", "export_hf", "samples",
          "slimpajama.extract", "slimpajama.language", "slimpajama.normalize", "sources",
          "stack.exact_dedup", "stack.filters", "stack.licenses", "stack.near_dedup", "stack.redact",
          "tokenizer", "train.phase1", "train.phase2", "train.phase3"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> Path:
    """The main job with the smoke budget (CI's end-to-end check): a few training steps."""
    workdir = tmp_path_factory.mktemp("demo") / "run"
    assert main(["demo", "--workdir", str(workdir), "--config", str(SMOKE)]) == 0
    return workdir


def copy(run: Path, tmp_path: Path) -> Path:
    target = tmp_path / "run"
    shutil.copytree(run, target, symlinks=True)
    return target


def manifest(run: Path, stage: str) -> dict:
    found = [p for p in (run / "manifests").glob(f"{stage}-*.json") if p.name.rsplit("-", 1)[0] == stage]
    assert len(found) == 1, (stage, found)
    return json.loads(found[0].read_text())


def test_demo_runs_every_stage_and_releases_a_class_one_bundle(demo_run, capsys):
    stages = sorted({p.name.rsplit("-", 1)[0] for p in (demo_run / "manifests").glob("*.json")})
    assert stages == STAGES
    for recipe in ("slimpajama", "dclm", "stack"):
        assert (demo_run / "reports" / f"{recipe}-stages.png").stat().st_size > 10_000
    docs, sources = manifest(demo_run, "documents"), manifest(demo_run, "sources")
    assert docs["upstream"] == [sources["id"]]
    c = docs["counts"]
    assert c["in"] == c["kept"] + sum(c["dropped"].values()) + c["quarantined"]
    assert c["kept"] == 96 + 162 + 28 and c["dropped"] == {"warc_not_response": 1}  # pages, text documents, code files
    # the eval suite's documents are held out of the tokenizer and the mixtures
    held = (demo_run / "eval" / "suite" / "heldout-ids.txt").read_text().split()
    assert 0 < manifest(demo_run, "data.tokenize")["counts"]["dropped"]["held_out"] <= len(held)
    pooled = {json.loads(line)["id"] for f in (demo_run / "data" / "tokenized").rglob("*.jsonl.gz")
              for line in gzip.open(f, "rt", encoding="utf-8")}
    assert pooled and not pooled & set(held)  # some held-out files never got this far (e.g. GPL code)
    # every phase trained and its tokens per source are in its manifest
    for phase in ("phase1", "phase2", "phase3"):
        parts = manifest(demo_run, f"data.{phase}")["counts"]["parts"]
        assert set(parts) == {"slimpajama", "dclm", "stack"}
        assert manifest(demo_run, f"train.{phase}")["counts"]["kept"] > 0
    bundle = demo_run / "bundle"
    for path in ("model.yml", "checkpoints/final/model.safetensors", "hf/config.json", "samples/samples.md", "LICENSES"):
        assert (bundle / path).exists(), path
    assert main(["audit", "verify", str(demo_run), "--root", f"data={DATA}"]) == 0
    # the demo signs the bundle with the key pair it made in keys/: that is the maintainer's key here
    assert main(["audit", "verify", str(bundle), "--trusted-key", str(demo_run / "keys" / "signing.pub")]) == 0
    assert main(["release", "classify", str(bundle / "model.yml"), "--json"]) == 0
    out = capsys.readouterr().out
    classified = json.loads(out.strip().splitlines()[-1])
    assert "VERIFIED" in out and classified["class"] == classified["strict_class"] == "Class I"  # MOT's rules and strictly
    assert classified["warnings"] == []  # no licence the MOT would call not type-appropriate


def test_the_demo_bundle_passes_the_fields_own_tools(demo_run):
    """On the demo's own bundle (three recipes, the GPL-filtered code): mlcroissant loads every
    record set with the manifests' counts, and `reuse lint` passes."""
    import logging

    import mlcroissant as mlc

    from glassworks.release.bundle.reuse import lint

    bundle = demo_run / "bundle"
    logging.getLogger("absl").setLevel(logging.ERROR)
    dataset = mlc.Dataset(jsonld=bundle / "croissant.json")
    counts = {rs.uuid: sum(1 for _ in dataset.records(record_set=rs.uuid)) for rs in dataset.metadata.record_sets}
    documents = {k.removeprefix("documents-"): v for k, v in counts.items() if k.startswith("documents-")}
    summary = json.loads((bundle / "corpus" / "documents" / "summary.json").read_text())  # dedup's per-source record
    assert documents == {source: s["kept"] for source, s in summary["sources"].items()}
    assert sum(documents.values()) == manifest(demo_run, "dedup")["counts"]["kept"]
    assert sum(v for k, v in counts.items() if k.startswith("eval-")) > 0
    assert {k for k in counts if k.startswith("tokens-")} == {f"tokens-phase{i}-shards" for i in (1, 2, 3)}
    assert lint(bundle) == []


def test_demo_is_deterministic(demo_run, tmp_path):
    again = tmp_path / "again"
    assert main(["demo", "--workdir", str(again), "--config", str(SMOKE)]) == 0
    names = sorted(p.name for p in (demo_run / "manifests").iterdir())
    assert names == sorted(p.name for p in (again / "manifests").iterdir())
    first, second = demo_run / "corpus", again / "corpus"
    files = sorted(p.relative_to(first) for p in first.rglob("*.jsonl.gz"))
    assert files == sorted(p.relative_to(second) for p in second.rglob("*.jsonl.gz"))
    assert all((first / f).read_bytes() == (second / f).read_bytes() for f in files)
    for same in ("checkpoints/final/model.safetensors", "data/phase1/index.json", "bundle/model.yml"):
        assert (demo_run / same).read_bytes() == (again / same).read_bytes(), same


@pytest.mark.parametrize("victim", ["raw/web/sphinx-docs.warc.gz", "raw/code/toml/LICENSE", "documents/text/00000.jsonl.gz",
                                    "documents/dropped/web/00000.jsonl.gz",
                                    "corpus/slimpajama/language/web/00000.jsonl.gz",
                                    "corpus/slimpajama/normalize/dropped/web/00000.jsonl.gz"])
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
