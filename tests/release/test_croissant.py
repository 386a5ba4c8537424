"""croissant.json describes exactly the data that ships, and mlcroissant loads every record set
from the bundle (and from a copy elsewhere) with the manifests' counts."""

import json
import logging
import shutil
from pathlib import Path

import pytest

from glassworks.provenance.hashing import sha256_file


def _load(bundle: Path) -> dict[str, list[dict]]:
    import mlcroissant as mlc

    logging.getLogger("absl").setLevel(logging.ERROR)
    dataset = mlc.Dataset(jsonld=bundle / "croissant.json")
    assert not dataset.metadata.ctx.issues.errors
    return {rs.id: list(dataset.records(record_set=rs.id)) for rs in dataset.metadata.record_sets}


@pytest.fixture(scope="module")
def loaded(built):
    return _load(built[1])


def _manifest(bundle: Path, stage: str) -> dict:
    (found,) = [m for m in (json.loads(p.read_text()) for p in (bundle / "manifests").glob(f"{stage}-*.json"))
                if m["stage"]["name"] == stage]
    return found


def test_every_record_set_loads_with_the_manifests_counts(built, loaded):
    _, bundle = built
    summary = json.loads((bundle / "corpus" / "documents" / "summary.json").read_text())
    documents = {k.removeprefix("documents-"): v for k, v in loaded.items() if k.startswith("documents-")}
    assert {s: len(v) for s, v in documents.items()} == {s: c["kept"] for s, c in summary["sources"].items() if c["kept"]}
    assert sum(map(len, documents.values())) == _manifest(bundle, "dedup")["counts"]["kept"]
    for rows in documents.values():
        assert all(r[k] is not None for r in rows for k in r), "a document field did not load"
        assert {k.split("/")[-1] for k in rows[0]} >= {"id", "text", "source", "dedup_weight", "dedup_cluster"}
    for phase in ("phase1", "phase2", "phase3"):
        rows = loaded[f"tokens-{phase}-shards"]
        index = json.loads((bundle / "corpus" / "tokens" / phase / "index.json").read_text())
        assert len(rows) == len(index["shards"])
        sequences = sum(r[f"tokens-{phase}-shards/sequences"] for r in rows)
        assert sequences * index["seq_len"] == _manifest(bundle, f"data.{phase}")["counts"]["kept"]
    tasks = {k.removeprefix("eval-"): v for k, v in loaded.items() if k.startswith("eval-")}
    assert tasks
    for task, rows in tasks.items():
        lines = (bundle / "eval" / "suite" / f"{task}.jsonl").read_text().splitlines()
        assert len(rows) == len(lines), task


def test_it_describes_exactly_the_shipped_data_by_relative_path_and_hash(built):
    _, bundle = built
    doc = json.loads((bundle / "croissant.json").read_text())
    assert doc["conformsTo"].startswith("http://mlcommons.org/croissant/1.0") or \
        "http://mlcommons.org/croissant/1.0" in doc["conformsTo"]
    assert doc["url"] and doc["license"] in ("https://spdx.org/licenses/CDLA-Permissive-2.0.html",
                                             ["https://spdx.org/licenses/CDLA-Permissive-2.0.html"])
    assert doc["rai:dataPreprocessingProtocol"] and doc["rai:dataCollection"]
    urls = {}
    for item in doc["distribution"]:
        url = item["contentUrl"]
        assert not url.startswith(("/", "http")) and (bundle / url).is_file(), url
        assert sha256_file(bundle / url)[0] == item["sha256"], url
        urls[url] = item
    shipped = {p.relative_to(bundle).as_posix() for folder in ("corpus/documents", "corpus/tokens", "eval/suite")
               for p in (bundle / folder).rglob("*") if p.is_file()}
    assert set(urls) == shipped - {"corpus/documents/summary.json"}


def test_it_loads_from_a_copy_of_the_bundle_elsewhere(built, loaded, tmp_path):
    _, bundle = built
    checkout = tmp_path / "checkout"
    for rel in ("croissant.json", "corpus", "eval/suite"):
        src = bundle / rel
        (checkout / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, checkout / rel) if src.is_dir() else shutil.copyfile(src, checkout / rel)
    assert {k: len(v) for k, v in _load(checkout).items()} == {k: len(v) for k, v in loaded.items()}
