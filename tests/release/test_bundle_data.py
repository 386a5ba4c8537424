"""The data ships: the documents trained on (after global dedup, with their weights), the token
shards of every phase and the held-out suite are in the bundle, each the bytes its manifest recorded."""

import gzip
import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from glassworks.errors import GlassworksError
from glassworks.provenance.hashing import sha256_file
from glassworks.provenance.verify import PASS, verify_run
from glassworks.release.bundle import build_bundle


def _manifests(bundle: Path, stage: str) -> list[dict]:
    found = [json.loads(p.read_text()) for p in sorted((bundle / "manifests").glob(f"{stage}-*.json"))]
    return [m for m in found if m["stage"]["name"] == stage]


def test_documents_trained_on_ship_with_their_dedup_weights(built):
    _, bundle = built
    (dedup,) = _manifests(bundle, "dedup")
    kept = {r["path"]: r["sha256"] for r in dedup["outputs"]["files"] if "/kept/" in r["path"]}
    assert kept
    for path, sha in kept.items():
        shipped = bundle / "corpus" / "documents" / path.split("/kept/", 1)[1]
        assert sha256_file(shipped)[0] == sha, path
    docs = [json.loads(line) for f in sorted((bundle / "corpus" / "documents").rglob("*.jsonl.gz"))
            for line in gzip.open(f, "rt", encoding="utf-8")]
    assert len(docs) == dedup["counts"]["kept"]
    assert all(d["metadata"]["dedup"]["weight"] >= 0 and d["metadata"]["dedup"]["cluster"] for d in docs)


def test_token_shards_of_every_phase_ship(built):
    _, bundle = built
    phases = [m for m in (_manifests(bundle, f"data.phase{i}") for i in (1, 2, 3))]
    assert all(len(m) == 1 for m in phases)
    for (manifest,) in phases:
        phase = manifest["stage"]["name"].split(".", 1)[1]
        for rec in manifest["outputs"]["files"]:
            shipped = bundle / "corpus" / "tokens" / phase / Path(rec["path"]).name
            assert sha256_file(shipped)[0] == rec["sha256"], rec["path"]


def test_model_yml_points_at_the_data_and_verify_matches_it_by_hash(built):
    _, bundle = built
    mof = {c["name"]: c for c in yaml.safe_load((bundle / "model.yml").read_text())["release"]["components"]}
    assert mof["Datasets"]["component_path"] == "corpus/" and mof["Datasets"]["license"] == "CDLA-Permissive-2.0"
    assert mof["Evaluation data"]["component_path"] == "eval/suite/"
    assert mof["Evaluation data"]["license"] == "CDLA-Permissive-2.0"
    report = verify_run(bundle, allow_unsigned=True)
    assert report.ok, [f.line() for f in report.failures]
    data = [f for f in report.findings if f.check == "file" and f.subject.startswith(("dedup/kept/", "data/phase"))]
    assert data and all(f.status == PASS and "shipped as corpus/" in f.detail for f in data), data[:3]


def test_manifests_only_ships_no_data_and_claims_no_datasets(trained_run, bundle_config, tmp_path):
    config = bundle_config()
    result = build_bundle(replace(config, corpus=replace(config.corpus, ship="manifests")), trained_run, tmp_path / "b")
    assert not (tmp_path / "b" / "corpus" / "documents").exists()
    assert "Datasets" not in result.components and result.mof_class != "Class I"


def test_a_changed_document_file_is_refused(trained_run, bundle_config, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    target = next((run / "dedup" / "kept").rglob("*.jsonl.gz"))
    target.write_bytes(gzip.compress(b'{"id": "x", "text": "not what dedup kept"}\n'))
    with pytest.raises(GlassworksError, match="differs from what manifest dedup-"):
        build_bundle(bundle_config(), run, tmp_path / "bundle")
