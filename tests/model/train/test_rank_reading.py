"""Each rank reads only its own contiguous part of a global batch, and the data cursor is
the step alone: 1, 2 and 4 ranks consume the same sequences in the same order, and a run
resumed on another number of ranks reads exactly what the uninterrupted run would have.
On the real phase1 of the training fixture (96 sequences of 17 tokens, shards of 40)."""

import numpy as np
import pytest

from glassworks.errors import GlassworksError
from glassworks.model.train.data import PhaseData
from glassworks.pipeline.tokens.shards import PackedDataset

PER_SHARD = 40


def consume(opened, phase_dir, batch_size, world, steps, micro=1, seed=5):
    """Every micro-batch of ``steps``, rank by rank as separate readers: (rows of input
    tokens in rank order, the shard files each rank opened at each step)."""
    rows, files = [], []
    for step in steps:
        for rank in range(world):
            data = PhaseData.open(phase_dir, "phase1", batch_size, seed)  # a fresh process's reader
            before = len(opened)
            for batch in data.micro_batches(step, rank, world, micro):
                rows.extend(batch.tokens.tolist())
            files.append((step, rank, set(opened[before:]), data.rank_indices(step, rank, world)))
    return rows, files


def expected_rows(phase_dir, indices):
    data = PackedDataset(phase_dir)
    return [data.sequence(int(i)).tokens[:-1].astype(np.int64).tolist() for i in indices]


@pytest.mark.parametrize("batch_size", [12, 20])  # 96 = 8 x 12; 96 = 4 x 20 + a short block of 16
def test_ranks_read_only_their_part_and_every_world_size_reads_the_same(packed_run, opened, batch_size):
    phase = packed_run / "data" / "phase1"
    steps = range(2 * 96 // batch_size + 1)  # two passes and a bit
    reference = PhaseData.open(phase, "phase1", batch_size, 5)
    order = np.concatenate([reference.step_indices(s) for s in steps])
    assert sorted(order[:96]) == list(range(96)) and order[:96].tolist() != order[96:192].tolist()
    seen = {}
    for world in (1, 2, 4):
        rows, files = consume(opened, phase, batch_size, world, steps)
        seen[world] = rows
        assert rows == expected_rows(phase, order), world
        for step, rank, read, indices in files:
            lo = (step * batch_size + rank * batch_size // world)
            assert indices.tolist() == order[lo:lo + batch_size // world].tolist()
            wanted = {f"shard-{k:05d}.{p}.npy" for k in {int(i) // PER_SHARD for i in indices}
                      for p in ("tokens", "docs", "seqs")}
            assert read == wanted, (world, step, rank)  # nothing of another rank's shards
    assert seen[1] == seen[2] == seen[4]
    # with 4 ranks, some rank's part lies in one shard of three: it opens that shard alone
    _, files = consume(opened, phase, batch_size, 4, steps)
    assert min(len(read) for _, _, read, _ in files) == 3


def test_resume_on_another_world_size_reads_what_the_uninterrupted_run_would(packed_run, opened):
    phase = packed_run / "data" / "phase1"
    whole, _ = consume(opened, phase, 12, 1, range(20))
    for first, second in ((2, 4), (4, 1), (1, 2)):
        head, _ = consume(opened, phase, 12, first, range(7))
        tail, _ = consume(opened, phase, 12, second, range(7, 20), micro=3 if second == 1 else 1)
        assert head + tail == whole, (first, second)


def test_predicted_tokens_come_from_the_global_index_without_opening_shards(packed_run, opened):
    phase = packed_run / "data" / "phase1"
    data = PhaseData.open(phase, "phase1", 12, 5)
    counts = [data.predicted_tokens(s) for s in range(10)]
    assert opened == ["doc-starts.npy"]
    check = PackedDataset(phase)
    for s, n in enumerate(counts):
        batches = [b for r in range(4) for b in data.micro_batches(s, r, 4, 3)]
        assert n == sum(int((b.targets != -100).sum()) for b in batches)
        assert n == sum(check.seq_len - 1 - int(np.count_nonzero(check.sequence(int(i)).doc_starts > 0))
                        for i in data.step_indices(s))


def test_a_batch_that_does_not_split_into_the_ranks_is_refused(packed_run):
    data = PhaseData.open(packed_run / "data" / "phase1", "phase1", 12, 5)
    with pytest.raises(GlassworksError, match="does not split into 5 rank"):
        data.micro_batches(0, 0, 5, 1)
    with pytest.raises(GlassworksError, match="not a multiple of micro_batch_size 5"):
        data.micro_batches(0, 0, 2, 5)
