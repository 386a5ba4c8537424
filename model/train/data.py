"""The sequences of a phase in training order, cut into steps, ranks and micro-batches.

The order is a pure function of (seed, phase, pass): each pass reads the phase's sequences
in a keyed permutation, fresh for each pass. So the data cursor is just the step: any
process can compute any batch without having seen the ones before it, and without
depending on how many ranks read it. The permutation is of single sequences, not of runs
of consecutive ones: the packer lays a long document over many consecutive sequences, and
batches of consecutive sequences were mostly one document each (on the demo that cost
about 15 % in held-out bits per byte).

Step ``s`` takes the ``batch_size`` sequences at positions ``[s*B, (s+1)*B)`` of that
stream (running on into the next pass). Rank ``r`` of ``W`` takes the contiguous part
``[r*B/W, (r+1)*B/W)`` of the step and cuts it into micro-batches of ``m`` in order, and
reads only the sequences of its part (``PackedDataset.span`` on each run of them), so it
opens only the shard files that hold them. Concatenated over
ranks in rank order, the micro-batches of a step are the step's sequences in order for
any ``W``: a 2-rank run and a 1-rank run of the same global batch compute the same loss,
and a run resumed at a step on another number of ranks reads exactly what the
uninterrupted run would have.

A sequence of ``seq_len`` tokens gives ``seq_len - 1`` predictions (input ``t[:-1]``, target
``t[1:]``). A target that opens a new document (its ``<s>``) is not predicted: nothing in
the previous document says which document comes next, and attention cannot see across.
The count of predicted targets in a step comes from the phase's per-sequence document
starts (``doc-starts.npy``), not from other ranks' shards.
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

    def stream(self, lo: int, hi: int) -> np.ndarray:
        """The sequence indices at stream positions ``[lo, hi)``, running on into the next pass."""
        n = len(self.dataset)
        parts, p = [], lo
        while p < hi:
            epoch, offset = divmod(p, n)
            take = min(hi - p, n - offset)
            parts.append(self.order(epoch)[offset:offset + take])
            p += take
        return np.concatenate(parts).astype(np.int64, copy=False)

    def positions(self, lo: int, hi: int) -> list[tuple[int, int]]:
        """Stream positions ``[lo, hi)`` as runs of consecutive sequence indices ``(first, end)``."""
        indices = self.stream(lo, hi)
        cuts = np.flatnonzero(np.diff(indices) != 1) + 1
        return [(int(run[0]), int(run[-1]) + 1) for run in np.split(indices, cuts)]

    def step_indices(self, step: int) -> np.ndarray:
        """The ``batch_size`` sequence indices of phase step ``step`` (0-based), in order."""
        return self.stream(step * self.batch_size, (step + 1) * self.batch_size)

    def rank_positions(self, step: int, rank: int, world: int) -> tuple[int, int]:
        """The stream positions ``[lo, hi)`` that rank ``rank`` of ``world`` reads at ``step``."""
        per_rank, rest = divmod(self.batch_size, world)
        if rest or not 0 <= rank < world:
            raise GlassworksError(f"phase {self.name!r}: batch_size {self.batch_size} does not split into "
                                  f"{world} rank(s) (rank {rank})")
        lo = step * self.batch_size + rank * per_rank
        return lo, lo + per_rank

    def rank_indices(self, step: int, rank: int, world: int) -> np.ndarray:
        """The sequence indices rank ``rank`` of ``world`` reads at ``step``, in order."""
        return self.stream(*self.rank_positions(step, rank, world))

    def micro_batches(self, step: int, rank: int, world: int, micro: int, device=None) -> list[MicroBatch]:
        """This rank's micro-batches of phase step ``step``, in accumulation order; reads
        only this rank's contiguous part of the step."""
        lo, hi = self.rank_positions(step, rank, world)
        if (hi - lo) % micro:
            raise GlassworksError(f"phase {self.name!r}: {hi - lo} sequences per rank is not a multiple of "
                                  f"micro_batch_size {micro}")
        tokens, segments = self._read(self.positions(lo, hi))
        return [self._micro(tokens[a:a + micro], segments[a:a + micro], device) for a in range(0, hi - lo, micro)]

    def _read(self, runs: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
        if hasattr(self.dataset, "span"):
            parts = [self.dataset.span(a, b) for a, b in runs]
        else:  # any dataset with ``sequence(i)`` (tests' stand-ins)
            parts = []
            for a, b in runs:
                seqs = [self.dataset.sequence(i) for i in range(a, b)]
                parts.append((np.stack([np.asarray(q.tokens) for q in seqs]), np.stack([q.segment_ids() for q in seqs])))
        return np.concatenate([t for t, _ in parts]), np.concatenate([g for _, g in parts])

    def batch(self, indices: np.ndarray, device=None) -> MicroBatch:
        """The micro-batch of the given sequence indices (any order)."""
        rows = [self._read([(i, i + 1)]) for i in np.asarray(indices).tolist()]
        return self._micro(np.concatenate([t for t, _ in rows]), np.concatenate([g for _, g in rows]), device)

    def _micro(self, rows: np.ndarray, segs: np.ndarray, device=None) -> MicroBatch:
        tokens = torch.from_numpy(np.asarray(rows, dtype=np.int64))
        seg = torch.from_numpy(np.asarray(segs, dtype=np.int64))
        targets = tokens[:, 1:].clone()
        targets[seg[:, 1:] != seg[:, :-1]] = IGNORE  # a target that starts a new document
        batch = MicroBatch(tokens[:, :-1].contiguous(), targets, seg[:, :-1].contiguous())
        if device is not None and torch.device(device).type != "cpu":
            batch = MicroBatch(*(t.pin_memory().to(device, non_blocking=True)
                                 for t in (batch.tokens, batch.targets, batch.segment_ids)))
        return batch

    def predicted_tokens(self, step: int) -> int:
        """Targets the loss of phase step ``step`` averages over, across all ranks."""
        indices = self.step_indices(step)
        if hasattr(self.dataset, "doc_starts"):
            inner = int(np.asarray(self.dataset.doc_starts()[indices], dtype=np.int64).sum())
        else:
            inner = sum(int(np.count_nonzero(self.dataset.sequence(i).doc_starts > 0)) for i in indices.tolist())
        return len(indices) * (self.dataset.seq_len - 1) - inner

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
