"""Draws keyed by document identity: a pool that grows by 1 % keeps every old document's draws.

The pool is the embedded test corpus cut into paragraphs (some 4,000 real documents in two
sources); the grown pool adds every 100th paragraph back in its place, so nearly every old
document sits at another position in the grown pool.
"""

import gzip
import json
import shutil

import numpy as np
import pytest

from glassworks.pipeline.tokens.build import build_mixtures
from glassworks.pipeline.tokens.copies import copy_order, draw_source
from glassworks.pipeline.tokens.draw import base, uniforms
from glassworks.pipeline.tokens.pool import SourcePool

PATTERN = (0.5, 1.0, 2.5, 1.0, 0.0, 1.5)
EXTRA = 2  # <s> and </s>


def paragraphs(records, source):
    out = []
    for record in records:
        for k, text in enumerate(p for p in record["text"].split("\n\n") if p.strip()):
            out.append({"id": f"{record['id']}#{k}", "text": text,
                        "metadata": {"dedup": {"weight": PATTERN[len(out) % len(PATTERN)]}}})
    return out


@pytest.fixture(scope="module")
def pools(trained, tmp_path_factory, records, jsonl_writer, mix_config):
    """(old pools, grown pools, ids of the added documents) as {source: SourcePool}."""
    corpus = {"prose": paragraphs(records["docs"] + records["bible"], "prose"),
              "code": paragraphs(records["code"], "code")}
    built = {}
    for name, skip in (("old", True), ("grown", False)):
        run = tmp_path_factory.mktemp(f"identity-{name}") / "run"
        shutil.copytree(trained, run)
        for source, items in corpus.items():
            kept = [r for i, r in enumerate(items) if not (skip and i % 100 == 50)]
            jsonl_writer(run / "paras" / source / "part-0.jsonl.gz", kept)
        config = mix_config(corpus={"sources": {s: [f"paras/{s}"] for s in corpus}},
                            phases=[{"name": "p", "seq_len": 64, "tokens": 64 * 10, "weights": {"prose": 1, "code": 1}}])
        build_mixtures(config, run)
        built[name] = {s: SourcePool.open(run / "data" / "tokenized" / s) for s in corpus}
    added = {r["id"] for items in corpus.values() for i, r in enumerate(items) if i % 100 == 50}
    return built["old"], built["grown"], added


def ids_of(pool: SourcePool) -> list[str]:
    with gzip.open(pool.folder / "documents.jsonl.gz", "rt", encoding="utf-8") as handle:
        return [json.loads(line)["id"] for line in handle]


def by_id(pool, draw) -> dict[str, int]:
    return dict(zip(ids_of(pool), draw.all_copies().tolist()))


@pytest.mark.parametrize("share", [0.4, 2.5])  # a sample of the pool; up-sampled past it
def test_at_the_same_rate_every_old_document_keeps_its_copies_and_order(pools, tmp_path, share):
    old, grown, added = pools
    draws_old, draws_grown = [], []
    for source in ("code", "prose"):
        a, b = old[source], grown[source]
        assert len(b.documents) > len(a.documents) >= 100 * (len(b.documents) - len(a.documents)) - 100
        target = int(share * int((a.documents["length"] + EXTRA) @ np.ceil(a.documents["weight"])))
        draw_a = draw_source(source, a.documents, EXTRA, target, seed=3, phase="p")
        # the grown pool asks for the old tokens plus what the new documents give at the old rate
        docs = b.documents
        new = np.array([i in added for i in ids_of(b)])
        n = np.floor(draw_a.rate * docs["weight"] + uniforms(base(3, "p", source, "copies"), docs["id"])).astype(np.int64)
        target_b = draw_a.drawn_tokens + int((n * (docs["length"] + EXTRA))[new].sum())
        draw_b = draw_source(source, b.documents, EXTRA, target_b, seed=3, phase="p")
        assert draw_b.rate == draw_a.rate
        copies_a, copies_b = by_id(a, draw_a), by_id(b, draw_b)
        assert {i: copies_b[i] for i in copies_a} == copies_a
        assert sum(copies_b[i] for i in added if i in copies_b) > 0, "no new document was drawn: a weak test"
        draws_old.append(draw_a)
        draws_grown.append(draw_b)
    # the packing order: the old documents' copies come in the same relative order
    names = {0: ids_of(old["code"]), 1: ids_of(old["prose"])}, {0: ids_of(grown["code"]), 1: ids_of(grown["prose"])}
    orders = []
    for draws, ids, scratch in ((draws_old, names[0], "a"), (draws_grown, names[1], "b")):
        seq = [(s, ids[s][d]) for src, doc in copy_order(draws, 3, "p", tmp_path / scratch, memory_bytes=1 << 16)
               for s, d in zip(src.tolist(), doc.tolist())]
        orders.append(seq)
    assert [c for c in orders[1] if c[1] not in added] == orders[0]
    assert len(orders[1]) > len(orders[0])


def test_with_the_same_target_old_documents_lose_only_the_last_arrivals(pools):
    old, grown, added = pools
    for source in ("code", "prose"):
        a, b = old[source], grown[source]
        target = int(0.7 * int((a.documents["length"] + EXTRA) @ a.documents["weight"]))
        draw_a = draw_source(source, a.documents, EXTRA, target, seed=0, phase="p")
        draw_b = draw_source(source, b.documents, EXTRA, target, seed=0, phase="p")
        assert draw_b.rate <= draw_a.rate
        copies_a, copies_b = by_id(a, draw_a), by_id(b, draw_b)
        lengths = dict(zip(ids_of(b), (b.documents["length"] + EXTRA).tolist()))
        changed = [i for i in copies_a if copies_b[i] != copies_a[i]]
        assert all(copies_b[i] == copies_a[i] - 1 for i in changed)  # one arrival lost, never gained
        lost = sum(lengths[i] for i in changed)
        gained = sum(copies_b[i] * lengths[i] for i in added if i in copies_b)
        assert abs(lost - gained) <= 2 * max(lengths.values())
        assert len(changed) <= 0.03 * len(copies_a)  # position-keyed draws would change most of them
