"""The pure parts: learning-rate schedule, kept steps, FLOPs per token, batch partition."""

import math

import numpy as np
import pytest

from glassworks.model.config import preset
from glassworks.model.train.config import CheckpointConfig, ScheduleConfig
from glassworks.model.train.metrics import flops_per_token, mfu, peak_flops
from glassworks.model.train.schedule import checkpoint_name, kept_steps, lr_at


def test_warmup_then_cosine_to_ten_percent():
    s = ScheduleConfig(warmup_steps=10, final_lr_ratio=0.1)
    lrs = [lr_at(i, 110, 1.0, s) for i in range(110)]
    assert lrs[:10] == pytest.approx([(i + 1) / 10 for i in range(10)])
    assert lrs[9] == 1.0 and lrs[-1] == pytest.approx(0.1)
    assert lrs[59] == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 49 / 99)))
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:]))
    assert lr_at(0, 5, 2.0, ScheduleConfig()) == 2.0  # no warmup: the first update is at peak


def test_kept_steps_are_log_spaced_then_regular_plus_phase_ends():
    steps = kept_steps(3000, CheckpointConfig(log_spaced_until=512, every=1000), phase_ends=[1500, 3000])
    assert steps == [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 1500, 2000, 3000]
    assert checkpoint_name(128, 524288) == "step0000128-tokens0000000524288"


def test_flops_per_token_is_6n_plus_attention():
    c = preset("mistral-7b")
    n = 7_241_732_096 - 32000 * 4096  # the input embedding is a lookup
    assert flops_per_token(c, 4096) == 6 * n + 12 * 32 * 32 * 128 * 4096
    assert flops_per_token(c, 8192) == flops_per_token(c, 4096)  # the window caps the span
    assert peak_flops("cpu") is None and mfu(1e4, c, 4096, None, 1) is None
    assert mfu(1000.0, c, 4096, 989e12, 1) == pytest.approx(1000 * flops_per_token(c, 4096) / 989e12)


class FakeSequences:
    """A stand-in PackedDataset: sequence i holds tokens i*10 ... and one document start."""

    def __init__(self, n, seq_len):
        from glassworks.pipeline.tokens.shards import PackedSequence

        self.n, self.seq_len, self.path, self.PackedSequence = n, seq_len, "fake", PackedSequence

    def __len__(self):
        return self.n

    def sequence(self, i):
        return self.PackedSequence(np.arange(self.seq_len) + 10 * i, np.array([0, 1 + i % (self.seq_len - 2)]))


def test_two_ranks_see_the_batches_of_one_rank_and_passes_reshuffle():
    from glassworks.model.train.data import IGNORE, PhaseData

    data = PhaseData(FakeSequences(10, 6), "phase1", batch_size=4, seed=0)
    one = [b.tokens for b in data.micro_batches(3, rank=0, world=1, micro=1)]  # 4 accumulated
    two = [data.micro_batches(3, rank=r, world=2, micro=1) for r in range(2)]  # 2 x 2 accumulated: rank 0 takes the first half of the step
    assert [t.tolist() for t in one] == [two[a // 2][a % 2].tokens.tolist() for a in range(4)]
    passes = np.concatenate([data.step_indices(s) for s in range(5)])  # 20 = two passes of 10
    assert sorted(passes[:10]) == sorted(passes[10:]) == list(range(10))
    assert passes[:10].tolist() != passes[10:].tolist()
    batch = data.batch(np.array([2]))
    assert batch.targets[0, 2].item() == IGNORE  # position 3 starts a document: not predicted
    assert (batch.targets != IGNORE).sum().item() == 4 and data.predicted_tokens(0) == 4 * 4
    assert batch.segment_ids[0].tolist() == [0, 0, 0, 1, 1]
