"""Bounded memory: the external sort equals the in-memory one, pools open memory-mapped,
and a phase built in a tiny budget (many sorted runs on disk) has the same bytes."""

import hashlib
import shutil
from dataclasses import replace

import numpy as np

from glassworks.pipeline.tokens.build import build_mixtures
from glassworks.pipeline.tokens.copies import COPY
from glassworks.pipeline.tokens.external import ExternalSort, sort_records
from glassworks.pipeline.tokens.pool import SourcePool


def _records(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.zeros(n, dtype=COPY)
    out["key"] = rng.integers(0, 50, n, dtype=np.uint64) * np.uint64(1 << 58)  # many ties: the later fields decide
    out["source"] = rng.integers(0, 3, n)
    out["document"] = rng.integers(0, 1000, n)
    return out


def test_sorted_runs_merge_to_the_in_memory_order(tmp_path):
    records = _records(5000, 0)
    sorter = ExternalSort(COPY, tmp_path / "runs", memory_bytes=COPY.itemsize * 3 * 300)
    for a in range(0, len(records), 777):  # chunks that do not line up with the runs
        sorter.add(records[a:a + 777])
    assert len(sorter.runs) >= 15
    merged = np.concatenate(list(sorter.merged()))
    assert merged.tobytes() == sort_records(records).tobytes()
    assert not (tmp_path / "runs").exists()  # the runs are removed once read


def test_one_run_stays_in_memory(tmp_path):
    records = _records(100, 1)
    sorter = ExternalSort(COPY, tmp_path / "runs", memory_bytes=1 << 20)
    sorter.add(records)
    assert np.concatenate(list(sorter.merged())).tobytes() == sort_records(records).tobytes()
    assert not sorter.runs and not (tmp_path / "runs").exists()


def test_pools_open_memory_mapped(trained, tmp_path, mix_config):
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    config = mix_config()
    build_mixtures(replace(config, phases=config.phases[:1]), run)
    pool = SourcePool.open(run / "data" / "tokenized" / "docs")
    assert isinstance(pool.documents, np.memmap) and pool.shards and all(isinstance(s, np.memmap) for s in pool.shards)


def test_a_tiny_memory_budget_gives_the_same_shards(trained, tmp_path, mix_config, monkeypatch):
    config = mix_config()
    big = replace(config, phases=[replace(config.phases[2], tokens=128 * 2000)])
    spills = []
    original = ExternalSort._spill

    def counting(self):
        spills.append(self.run_records)
        original(self)

    monkeypatch.setattr(ExternalSort, "_spill", counting)
    digests = []
    for name, memory in (("roomy", 1 << 30), ("tiny", 100)):
        run = tmp_path / name
        shutil.copytree(trained, run)
        build_mixtures(big, run, memory_bytes=memory)
        digests.append({p.relative_to(run).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                        for p in sorted((run / "data").rglob("*")) if p.is_file()})
        assert not list((run / "data").glob(".*.runs"))
    assert len(spills) >= 4, "the tiny budget should have written several sorted runs"
    assert digests[0] == digests[1]
