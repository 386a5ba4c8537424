"""The global index of packed phases: per-sequence document starts, contiguous spans that
open only their own shards, and the same answers from the entries of each sequence."""

import numpy as np
import pytest

from glassworks.pipeline.tokens.build import build_mixtures
from glassworks.pipeline.tokens.shards import DOC_STARTS, PackedDataset


@pytest.fixture(scope="module")
def phase(trained, tmp_path_factory, mix_config):
    """phase1 of the test corpus (200 sequences of 64, shards of 64: the last holds 8); read-only."""
    import shutil

    run = tmp_path_factory.mktemp("shards") / "run"
    shutil.copytree(trained, run)
    return build_mixtures(mix_config(), run).phases[0].path


def test_doc_starts_file_counts_each_sequences_inner_starts(phase, tmp_path):
    data = PackedDataset(phase)
    assert len(data.index["shards"]) == 4 and data.per_shard == 64
    expected = [int(np.count_nonzero(data.sequence(i).doc_starts > 0)) for i in range(len(data))]
    stored = np.load(phase / DOC_STARTS)
    assert stored.dtype == np.int32 and stored.tolist() == expected and sum(expected) > 0
    assert not list(phase.glob(".*partial"))  # the writer's scratch file was renamed into place
    # a phase written before the file existed: the reader counts the same from the shards
    import shutil

    old = tmp_path / "old"
    shutil.copytree(phase, old)
    (old / DOC_STARTS).unlink()
    assert PackedDataset(old).doc_starts().tolist() == expected


@pytest.mark.parametrize("lo,hi", [(0, 64), (60, 70), (3, 200), (190, 200), (64, 65), (5, 5)])
def test_span_is_the_sequences_and_opens_only_their_shards(phase, opened, lo, hi):
    data = PackedDataset(phase)
    tokens, segments = data.span(lo, hi)
    assert tokens.shape == segments.shape == (hi - lo, data.seq_len) and tokens.dtype == data.dtype
    wanted = set(data.shards_of(lo, hi))
    assert wanted == {i // 64 for i in range(lo, hi)}
    assert opened == [f"shard-{k:05d}.{part}.npy" for k in sorted(wanted) for part in ("tokens", "docs", "seqs")]
    check = PackedDataset(phase)
    for row, i in enumerate(range(lo, hi)):
        sequence = check.sequence(i)
        assert tokens[row].tolist() == sequence.tokens.tolist()
        assert segments[row].tolist() == sequence.segment_ids().tolist()


def test_shards_of_rejects_ranges_outside_the_phase(phase):
    data = PackedDataset(phase)
    with pytest.raises(IndexError, match="out of range"):
        data.shards_of(190, 201)
