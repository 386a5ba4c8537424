"""Sorting more records than memory holds: sorted runs on disk, merged block by block.

The phase shuffle orders every drawn copy of a phase by its key; at corpus scale that is
billions of records. ``ExternalSort`` takes records (a numpy structured array, sorted by its
first field, ties broken by the later ones) in chunks, keeps up to ``run_bytes``
of them in memory, and when that fills sorts them and writes a run (``run-00000.npy``).
``merged()`` then yields the records in sorted order, chunk by chunk: it reads a block of
every run (memory-mapped), takes every record up to the smallest block-end record (all
records below it are in the blocks already, since each run is sorted; one equal to it that
is not is the same bytes), sorts those and yields them, then moves on. Memory is ``run_bytes`` while runs are written and about
``run_bytes`` (the blocks plus what is taken) while they are merged, whatever the total.

When everything fits in one run nothing touches the disk. Either way the order is the
same: records sorted by all their fields in order, so the output does not depend on the
budget or on how the input was chunked.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import numpy as np

SORT_OVERHEAD = 4  # bytes held per byte of record: the run, its sorted copy, the sort index and key copies


def _at_most(block: np.ndarray, bound) -> np.ndarray:
    """Which records of ``block`` are <= ``bound``, comparing field by field."""
    below = np.zeros(len(block), dtype=bool)
    equal = np.ones(len(block), dtype=bool)
    for name in block.dtype.names:
        below |= equal & (block[name] < bound[name])
        equal &= block[name] == bound[name]
    return below | equal


def sort_records(records: np.ndarray) -> np.ndarray:
    """``records`` sorted by every field, the first one first."""
    names = records.dtype.names
    return records[np.lexsort([records[n] for n in reversed(names)])]


class ExternalSort:
    """Sort a stream of structured records in bounded memory (see the module docstring)."""

    def __init__(self, dtype: np.dtype, scratch: Path, memory_bytes: int):
        self.dtype = np.dtype(dtype)
        if self.dtype.names is None:
            raise ValueError("records must be a structured dtype")
        self.scratch = Path(scratch)
        self.run_records = max(16, memory_bytes // (self.dtype.itemsize * SORT_OVERHEAD))
        self._held: list[np.ndarray] = []
        self._count = 0
        self.runs: list[Path] = []
        self.total = 0

    def add(self, records: np.ndarray) -> None:
        while len(records):
            take = min(len(records), self.run_records - self._count)
            self._held.append(np.asarray(records[:take], dtype=self.dtype))
            self._count += take
            self.total += take
            records = records[take:]
            if self._count == self.run_records:
                self._spill()

    def _gather(self) -> np.ndarray:
        out = np.concatenate(self._held) if self._held else np.zeros(0, dtype=self.dtype)
        self._held, self._count = [], 0
        return sort_records(out)

    def _spill(self) -> None:
        self.scratch.mkdir(parents=True, exist_ok=True)
        path = self.scratch / f"run-{len(self.runs):05d}.npy"
        np.save(path, self._gather(), allow_pickle=False)
        self.runs.append(path)

    def merged(self) -> Iterator[np.ndarray]:
        """The records in sorted order, in chunks; removes the runs once read."""
        if not self.runs:
            yield self._gather()
            return
        if self._count:
            self._spill()
        try:
            yield from self._merge()
        finally:
            shutil.rmtree(self.scratch, ignore_errors=True)

    def _merge(self) -> Iterator[np.ndarray]:
        runs = [np.load(path, mmap_mode="r") for path in self.runs]
        block = max(8, self.run_records // (2 * len(runs)))
        pos = [0] * len(runs)
        while True:
            live = [k for k in range(len(runs)) if pos[k] < len(runs[k])]
            if not live:
                return
            blocks = {k: runs[k][pos[k]:pos[k] + block] for k in live}
            # a run whose block is its last cannot hold a record past the block
            ends = [b[-1] for k, b in blocks.items() if pos[k] + len(b) < len(runs[k])]
            bound = min(ends, key=lambda r: r.tolist()) if ends else None
            taken = []
            for k, b in blocks.items():
                n = len(b) if bound is None else int(_at_most(b, bound).sum())
                taken.append(np.asarray(b[:n]))
                pos[k] += n
            yield sort_records(np.concatenate(taken))
