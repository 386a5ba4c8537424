"""The sequences of a phase in training order, cut into steps, ranks and micro-batches.

The order is a pure function of (seed, phase, pass): a keyed permutation of the phase's
sequence indices, a fresh one for each pass over the data. So the data cursor is just the
step, and any process can compute any batch without having seen the ones before it.

Step ``s`` takes the ``batch_size`` sequences ``order[s*B : (s+1)*B]`` (running on into the
next pass). Micro-batch ``a`` of rank ``r`` (of ``W`` ranks, ``m`` sequences each) is the
slice ``[(a*W + r)*m, (a*W + r + 1)*m)`` of the step: with one rank and ``W`` times the
accumulation, the same sequences are seen in the same step, which is why a 2-rank run and
a 1-rank run of the same global batch compute the same loss.

A sequence of ``seq_len`` tokens gives ``seq_len - 1`` predictions (input ``t[:-1]``, target
``t[1:]``). A target that opens a new document (its ``<s>``) is not predicted: nothing in
the previous document says which document comes next, and attention cannot see across.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from glassworks.errors import GlassworksError

IGNORE = -100  # cross_entropy's ignore_index


@dataclass
class MicroBatch:
    tokens: torch.Tensor  # (m, S-1) long, inputs
    targets: torch.Tensor  # (m, S-1) long, IGNORE where not predicted
    segment_ids: torch.Tensor  # (m, S-1) long, document number within each row


class PhaseData:
    """One phase's packed dataset (pipeline/tokens/shards.py ``PackedDataset``) in step order."""

    def __init__(self, dataset, name: str, batch_size: int, seed: int):
        self.dataset, self.name, self.batch_size, self.seed = dataset, name, batch_size, seed
        if len(dataset) < batch_size:
            raise GlassworksError(f"{dataset.path}: phase {name!r} has {len(dataset)} sequences, fewer than one "
                                  f"batch of {batch_size}")
        self._orders: dict[int, np.ndarray] = {}

    @classmethod
    def open(cls, phase_dir: Path, name: str, batch_size: int, seed: int) -> "PhaseData":
        from glassworks.pipeline.tokens.shards import PackedDataset

        return cls(PackedDataset(phase_dir), name, batch_size, seed)

    @property
    def seq_len(self) -> int:
        return self.dataset.seq_len

    @property
    def steps_per_pass(self) -> int:
        return len(self.dataset) // self.batch_size

    def order(self, epoch: int) -> np.ndarray:
        """The permutation of sequence indices for pass ``epoch``."""
        if epoch not in self._orders:
            key = hashlib.sha256(f"glassworks.train/order/{self.seed}/{self.name}/{epoch}".encode()).digest()
            rng = np.random.Generator(np.random.PCG64(int.from_bytes(key[:16], "little")))
            self._orders = {epoch: rng.permutation(len(self.dataset))}  # one pass cached at a time
        return self._orders[epoch]

    def step_indices(self, step: int) -> np.ndarray:
        """The ``batch_size`` sequence indices of phase step ``step`` (0-based)."""
        n = len(self.dataset)
        start = step * self.batch_size
        out = np.empty(self.batch_size, dtype=np.int64)
        filled = 0
        while filled < self.batch_size:
            epoch, offset = divmod(start + filled, n)
            take = min(self.batch_size - filled, n - offset)
            out[filled:filled + take] = self.order(epoch)[offset:offset + take]
            filled += take
        return out

    def micro_batches(self, step: int, rank: int, world: int, micro: int, device=None) -> list[MicroBatch]:
        """This rank's micro-batches of phase step ``step``, in accumulation order."""
        indices = self.step_indices(step)
        per_micro_step = world * micro
        out = []
        for a in range(self.batch_size // per_micro_step):
            lo = (a * world + rank) * micro
            out.append(self.batch(indices[lo:lo + micro], device))
        return out

    def batch(self, indices: np.ndarray, device=None) -> MicroBatch:
        rows, segments = [], []
        for i in indices.tolist():
            sequence = self.dataset.sequence(i)
            rows.append(np.asarray(sequence.tokens, dtype=np.int64))
            segments.append(sequence.segment_ids().astype(np.int64))
        tokens = torch.from_numpy(np.stack(rows))
        seg = torch.from_numpy(np.stack(segments))
        targets = tokens[:, 1:].clone()
        targets[seg[:, 1:] != seg[:, :-1]] = IGNORE  # a target that starts a new document
        batch = MicroBatch(tokens[:, :-1].contiguous(), targets, seg[:, :-1].contiguous())
        if device is not None and torch.device(device).type != "cpu":
            batch = MicroBatch(*(t.pin_memory().to(device, non_blocking=True)
                                 for t in (batch.tokens, batch.targets, batch.segment_ids)))
        return batch

    def predicted_tokens(self, step: int) -> int:
        """Targets the loss of phase step ``step`` averages over, across all ranks."""
        count = 0
        for i in self.step_indices(step).tolist():
            count += self.dataset.seq_len - 1 - int(np.count_nonzero(self.dataset.sequence(i).doc_starts > 0))
        return count

    def sequences_used(self, steps: int) -> int:
        """Distinct sequences of the phase that ``steps`` steps have read."""
        return min(len(self.dataset), steps * self.batch_size)


def data_manifest_id(run_dir: Path, phase_dir: Path) -> str | None:
    """Id of the manifest that wrote ``phase_dir/index.json`` as it is now (None: none did)."""
    from glassworks.provenance.hashing import sha256_file
    from glassworks.provenance.manifest import load_manifest

    index = phase_dir / "index.json"
    manifests = Path(run_dir) / "manifests"
    try:
        rel = index.resolve().relative_to(Path(run_dir).resolve()).as_posix()
    except ValueError:
        return None
    if not manifests.is_dir() or not index.is_file():
        return None
    digest = sha256_file(index)[0]
    for path in sorted(manifests.glob("*.json")):
        try:
            manifest = load_manifest(path)
        except GlassworksError:
            continue
        for record in manifest.get("outputs", {}).get("files", []):
            if record.get("root", "run") == "run" and record.get("path") == rel and record.get("sha256") == digest:
                return manifest["id"]
    return None
