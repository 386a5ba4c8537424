"""Phase mixtures and packed shards: exact counts, determinism, sampling by weight, the reader."""

import hashlib
import json
from dataclasses import replace

import numpy as np
import pytest

from glassworks.errors import GlassworksError
from glassworks.pipeline.tokens.build import build_mixtures
from glassworks.pipeline.tokens.copies import copy_order, draw_source
from glassworks.pipeline.tokens.mixture import split_budget
from glassworks.pipeline.tokens.pool import DOC, SourcePool, id_hash
from glassworks.pipeline.tokens.shards import PackedDataset
from glassworks.pipeline.tokens.tokenizer import Tokenizer
from glassworks.provenance.verify import verify_run


@pytest.fixture(scope="module")
def built(trained, tmp_path_factory, mix_config):
    """The trained run copied once and built with two workers (read-only)."""
    import shutil

    run = tmp_path_factory.mktemp("mixture") / "run"
    shutil.copytree(trained, run)
    summary = build_mixtures(mix_config(), run, workers=2)
    return run, summary


def _digests(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_token_counts_are_exact_per_source_in_index_manifest_and_shards(built, mix_config):
    run, summary = built
    for phase, config in zip(summary.phases, mix_config().phases):
        data = PackedDataset(phase.path)
        index = data.index
        sources = sorted(s for s, w in config.weights.items() if w > 0)
        shares = [config.weights[s] / sum(config.weights[x] for x in sources) for s in sources]
        assert len(data) == config.tokens // config.seq_len and data.seq_len == config.seq_len
        assert index["tokens_per_source"] == dict(zip(sources, split_budget(data.num_tokens, shares)))
        assert data.recount() == {k: index[k] for k in ("tokens_per_source", "documents_per_source")}
        for key in ("tokens_per_source", "documents_per_source"):
            assert {s: sum(sh[key][s] for sh in index["shards"]) for s in sources} == index[key]
        manifest = json.loads((run / "manifests" / f"{phase.manifest_id}.json").read_text())
        counts = manifest["counts"]
        assert counts["unit"] == "tokens" and counts["kept"] == data.num_tokens
        assert counts["in"] == counts["kept"] + counts["dropped"].get("over_budget", 0)
        # the manifest itself carries the tokens per source, equal to the shards'
        assert {s: part["kept"] for s, part in counts["parts"].items()} == index["tokens_per_source"]
        recorded = {f["path"]: f["sha256"] for f in manifest["outputs"]["files"]}
        assert recorded[f"data/{phase.name}/index.json"] == hashlib.sha256((phase.path / "index.json").read_bytes()).hexdigest()
    assert verify_run(run).ok


def test_sequences_rebuild_from_their_entries_and_the_pool(built):
    """Every token of every sequence is the document token its entry says it is."""
    run, summary = built
    tok = Tokenizer.load(run / "tokenizer")
    pools = {p.name: SourcePool.open(p) for p in (run / "data" / "tokenized").iterdir() if p.is_dir()}
    for phase in summary.phases:
        data = PackedDataset(phase.path)
        assert phase.name != "phase1" or len(data.index["shards"]) > 1, "phase1 should span shards"
        for i in range(len(data)):
            tokens, starts = data.sequence(i)
            assert tokens.dtype == np.uint16 and tokens.shape == (data.seq_len,)
            rebuilt = []
            for e in data.entries(i):
                doc = np.concatenate([[tok.bos_id], pools[e["source"]].document(e["document"]), [tok.eos_id]])
                rebuilt.append(doc[e["offset"]:e["offset"] + e["length"]])
                assert e["offset"] + e["length"] <= len(doc)
            assert np.array_equal(np.concatenate(rebuilt), tokens)
            assert all(tokens[s] == tok.bos_id for s in starts)
            assert list(starts) == [e["start"] for e in data.entries(i) if e["offset"] == 0]


def test_segment_ids_number_the_documents_of_a_sequence(built):
    _, summary = built
    data = PackedDataset(summary.phases[0].path)
    for i in range(len(data)):
        seq = data.sequence(i)
        seg = seq.segment_ids()
        assert seg[0] == 0 and np.all(np.diff(seg) >= 0)
        assert list(np.flatnonzero(np.diff(seg)) + 1) == [s for s in seq.doc_starts if s > 0]


def test_same_bytes_for_any_number_of_workers(built, run_dir, mix_config):
    run, summary = built
    again = build_mixtures(mix_config(), run_dir, workers=1)
    assert _digests(run / "data") == _digests(run_dir / "data")
    assert [p.manifest_id for p in again.phases] == [p.manifest_id for p in summary.phases]


def test_another_seed_draws_another_mixture(built, run_dir, mix_config):
    run, _ = built
    build_mixtures(mix_config(seed=1), run_dir)
    assert (run / "data" / "phase1" / "shard-00000.tokens.npy").read_bytes() != \
        (run_dir / "data" / "phase1" / "shard-00000.tokens.npy").read_bytes()
    assert json.loads((run_dir / "data" / "phase1" / "index.json").read_text())["tokens_per_source"] == \
        json.loads((run / "data" / "phase1" / "index.json").read_text())["tokens_per_source"]


def test_read_by_index_anywhere_and_out_of_range(built):
    _, summary = built
    data = PackedDataset(summary.phases[0].path)
    last = data.sequence(len(data) - 1)
    assert last.tokens.shape == (data.seq_len,)
    assert np.array_equal(data[data.per_shard].tokens, data.sequence(data.per_shard).tokens)
    with pytest.raises(IndexError):
        data.sequence(len(data))


def pool_of(lengths, weights) -> np.ndarray:
    """DOC records for a synthetic pool; ids are hashes of "doc-<i>"."""
    docs = np.zeros(len(weights), dtype=DOC)
    docs["length"], docs["weight"] = lengths, weights
    docs["id"] = [id_hash(f"doc-{i}") for i in range(len(weights))]
    return docs


def test_draw_up_samples_heavy_documents_with_replacement():
    weights = np.array([0, 0.5, 1, 1, 1, 1, 1, 1, 3, 2.5])
    draw = draw_source("s", pool_of(np.full(10, 98), weights), 2, target=2000, seed=0, phase="p")
    copies = draw.all_copies()
    assert copies[0] == 0  # weight 0: never
    assert copies[8] >= 3 and copies[9] >= 2  # floor(rate * weight) copies for sure
    assert 2000 <= int(copies.sum()) * 100 < 2000 + 100
    expected = draw.rate * weights
    assert np.all(copies >= np.floor(expected)) and np.all(copies <= np.ceil(expected))
    assert draw.summary()["copies"] == copies.sum() and draw.summary()["drawn_tokens"] == 100 * copies.sum()


def test_draw_takes_heavier_documents_more_often_when_the_budget_is_small():
    weights = np.where(np.arange(4000) < 2000, 3.0, 1.0)
    draw = draw_source("s", pool_of(np.full(4000, 8), weights), 2, target=8000, seed=3, phase="p")
    copies = draw.all_copies()
    heavy, light = copies[:2000].sum(), copies[2000:].sum()
    assert 2.5 < heavy / light < 3.6
    assert copies.max() == 1 and copies.sum() == 800


def test_the_draw_is_the_same_whatever_the_chunk_and_window(monkeypatch):
    """Chunked passes and a tiny window (many bisection passes) find the same copies."""
    rng = np.random.default_rng(5)
    docs = pool_of(rng.integers(1, 400, 3000), rng.choice([0.0, 0.5, 1.0, 1.7, 4.0], 3000))
    whole = draw_source("s", docs, 2, 150_000, seed=1, phase="p")
    monkeypatch.setattr("glassworks.pipeline.tokens.copies.CHUNK", 97)
    small = draw_source("s", docs, 2, 150_000, seed=1, phase="p", window=3)
    assert np.array_equal(whole.all_copies(), small.all_copies()) and whole.rate == small.rate
    assert 150_000 <= whole.drawn_tokens < 150_000 + 402


def test_draws_and_order_depend_on_seed_phase_and_source_only(tmp_path):
    docs = pool_of(np.arange(1, 51), np.linspace(0.1, 2, 50))
    a = draw_source("s", docs, 2, 600, seed=7, phase="p")
    assert np.array_equal(a.all_copies(), draw_source("s", docs, 2, 600, seed=7, phase="p").all_copies())
    assert not np.array_equal(a.all_copies(), draw_source("s", docs, 2, 600, seed=8, phase="p").all_copies())
    b = draw_source("t", docs, 2, 300, seed=7, phase="p")
    src, doc = map(np.concatenate, zip(*copy_order([a, b], seed=7, phase="p", scratch=tmp_path / "runs")))
    assert len(src) == a.copies + b.copies
    assert np.array_equal(np.bincount(doc[src == 0], minlength=50), a.all_copies())
    src2, doc2 = map(np.concatenate, zip(*copy_order([a, b], seed=7, phase="p", scratch=tmp_path / "runs")))
    assert np.array_equal(src, src2) and np.array_equal(doc, doc2)


def test_split_budget_sums_exactly():
    assert split_budget(100, [1 / 3, 1 / 3, 1 / 3]) == [34, 33, 33]
    assert sum(split_budget(65536, [0.2, 0.5, 0.3])) == 65536


def test_a_source_with_a_share_but_no_documents_is_an_error():
    with pytest.raises(GlassworksError, match="no usable documents"):
        draw_source("empty", np.zeros(0, dtype=DOC), 2, 100, seed=0, phase="p")


def test_a_budget_larger_than_the_pool_repeats_documents(run_dir, mix_config):
    config = mix_config()
    big = replace(config.phases[2], tokens=128 * 2000)  # far more than code + bible hold
    summary = build_mixtures(replace(config, phases=[big]), run_dir)
    index = PackedDataset(summary.phases[0].path).index
    assert index["mixture"]["code"]["copies"] > index["mixture"]["code"]["unique_documents"]
    assert index["tokens"] == 128 * 2000


def test_config_errors_name_the_problem(mix_config):
    with pytest.raises(GlassworksError, match="not in corpus.sources"):
        mix_config(phases=[{"name": "p", "seq_len": 8, "tokens": 64, "weights": {"nope": 1}}])
    with pytest.raises(GlassworksError, match="seq_len"):
        mix_config(phases=[{"name": "p", "seq_len": 64, "tokens": 8, "weights": {"docs": 1}}])
