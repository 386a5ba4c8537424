"""The pieces between signatures and weights: candidate pairs, components, spans, the weight law."""

import math

import numpy as np
import pytest

from glassworks.config import parse_config
from glassworks.errors import ConfigError
from glassworks.pipeline.dedup.buckets import candidate_pairs
from glassworks.pipeline.dedup.clusters import components
from glassworks.pipeline.dedup.config import DedupConfig, SpanConfig, WeightConfig
from glassworks.pipeline.dedup.spans import COUNT_RECORD, SpanTable, analyse, span_hash, spans
from glassworks.pipeline.dedup.weights import sampling_weight


def test_candidate_pairs_connect_each_run_of_equal_keys():
    keys = np.array([1, 1, 1, 2, 3, 3], dtype=np.uint64)
    refs = np.array([10, 11, 12, 13, 14, 15], dtype=np.uint64)
    pairs = {tuple(p) for p in candidate_pairs(keys, refs).tolist()}
    assert pairs == {(10, 11), (10, 12), (11, 12), (14, 15)}
    assert candidate_pairs(keys[:1], refs[:1]).shape == (0, 2)


def test_components_find_roots_whatever_the_edge_order():
    a = np.array([5, 1, 3, 7, 8])
    b = np.array([4, 2, 1, 8, 6])
    root = components(10, a, b)
    assert root.tolist() == [0, 1, 1, 1, 4, 4, 6, 6, 6, 9]
    rng = np.random.default_rng(0)
    order = rng.permutation(5)
    assert components(10, b[order], a[order]).tolist() == root.tolist()


def test_components_of_a_long_chain():
    n = 5000
    root = components(n, np.arange(n - 1)[::-1], np.arange(1, n)[::-1])
    assert (root == 0).all()


def test_spans_are_paragraphs_and_their_sentences():
    text = "First sentence is long enough. Second one is also long.\n\nA lone paragraph of some length\nshort\n"
    got = spans(text, min_chars=10)
    found = [(text[s:e], "paragraph" if p else "sentence") for s, e, p in zip(got.start, got.end, got.paragraph)]
    assert found == [("First sentence is long enough. Second one is also long.", "paragraph"),
                     ("A lone paragraph of some length\nshort", "paragraph"),
                     ("First sentence is long enough.", "sentence"), ("Second one is also long.", "sentence"),
                     ("A lone paragraph of some length", "sentence")]
    one = spans("Just one sentence, long enough.\n\nx", min_chars=5)
    assert one.paragraph.tolist() == [True]  # a paragraph that is one sentence counts once
    assert span_hash("Last updated on Oct 07,  2026") == span_hash("last updated on oct 19, 2025")
    assert span_hash("Last updated on Oct 07") != span_hash("Last updated in Oct 07")
    assert int(got.hash[-1]) == span_hash("A lone paragraph of some length")  # the same hash at any offset


def table_of(tmp_path, frequencies: dict[str, int]) -> SpanTable:
    records = np.zeros(len(frequencies), COUNT_RECORD)
    records["hash"] = [span_hash(s) for s in frequencies]
    records["count"] = list(frequencies.values())
    (tmp_path / "counts").mkdir()
    np.save(tmp_path / "counts" / "00000.npy", records)
    return SpanTable(tmp_path / "counts")


def test_analyse_measures_duplication_and_cuts_boilerplate(tmp_path):
    nav = "Home » Docs » Tutorial » Next page"
    shared = "This paragraph appears in exactly one other kept document."
    own = "Only this document says that, and it says it at length."
    table = table_of(tmp_path, {nav: 500, shared: 4})
    text = f"{nav}\n\n{shared}\n\n{own}\n"
    share, factor, cleaned, removed = analyse(text, table, SpanConfig(min_chars=20, max_frequency=100), alpha=0.5)
    ink = lambda s: sum(not c.isspace() for c in s)  # noqa: E731
    assert share == pytest.approx((ink(nav) + ink(shared)) / ink(text))
    assert cleaned == f"\n{shared}\n\n{own}\n"
    assert removed == [{"kind": "paragraph", "start": 0, "text": nav, "frequency": 500, "reason": "frequent_span"}]
    left = ink(shared) + ink(own)
    assert factor == pytest.approx((ink(shared) * 4**-0.5 + ink(own)) / left)
    assert analyse(nav, table, SpanConfig(min_chars=20, max_frequency=100), alpha=0.5)[1:3] == (0.0, "")


def test_weight_law():
    w = WeightConfig()
    unique = sampling_weight(1, 1.0, float("nan"), w)
    assert unique == 1.0
    # a cluster's total weight (its one kept document's) grows sublinearly
    totals = [sampling_weight(k, 1.0, float("nan"), w) for k in (1, 2, 4, 16)]
    assert totals == sorted(totals) and totals[2] == 2.0 and all(t < k for t, k in zip(totals[1:], (2, 4, 16)))
    # text shared with k documents: each copy k**-0.5, so boilerplate everywhere tends to 0
    assert sampling_weight(1, 10_000**-0.5, float("nan"), w) == pytest.approx(0.01)
    # a unique high-quality document is up-sampled, a poor one down-sampled, the cap holds
    assert sampling_weight(1, 1.0, 0.9, w) == pytest.approx(1.8)
    assert sampling_weight(1, 1.0, 0.2, w) == pytest.approx(0.4)
    assert sampling_weight(10_000, 1.0, 1.0, w) == w.cap
    assert math.isclose(sampling_weight(2, 0.5, 0.5, w), 2**0.5 * 0.5, rel_tol=1e-6)


def test_config_errors_name_the_key():
    with pytest.raises(ConfigError, match="shingles"):
        parse_config("shingles: {kind: bytes}\n", DedupConfig, origin="dedup.yaml")
    with pytest.raises((ConfigError, ValueError), match="alpha"):
        parse_config("weights: {alpha: 1.5}\n", DedupConfig, origin="dedup.yaml")
    assert "workers" not in DedupConfig().recorded()["executor"]


def test_command_line_surface_changes_only_on_purpose():
    from glassworks.pipeline.dedup.cli import dedup_command

    assert [p.name for p in dedup_command.params] == ["in_dir", "out_dir", "run_dir", "recipes", "threshold",
                                                      "config_path", "workdir", "tasks", "workers"]
