"""Pass 2 of 6 (buckets): documents that share a band key become candidate pairs, checked, as edges.

Bands (and the exact-text "band") are spread over the tasks: task t takes every T-th.
A band's (key, doc) records of all signature tasks are merged by key; in a run of equal
keys every member is paired with the run's first (a star) and with its predecessor (a
chain), which connects the run with 2(m - 1) pairs instead of m(m - 1)/2 and still
joins it when the star's centre fails the check with some member. A candidate pair is
kept when the share of agreeing signature slots reaches ``exact.estimate_cutoff`` (``threshold -
verify_slack``, or lower when the clusters pass checks the pairs exactly); exact-text pairs
need no check. Documents are referred to as ``task << 32 | number``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from glassworks.pipeline.dedup.config import LshConfig
from glassworks.pipeline.dedup.exact import estimate_cutoff
from glassworks.pipeline.dedup.shingles import estimated_jaccard
from glassworks.pipeline.dedup.signatures import load_signatures

_LOW = np.uint64(0xFFFFFFFF)
_CHECK_BATCH = 1 << 16


def band_names(lsh: LshConfig) -> list[str]:
    return [f"{b:03d}" for b in range(lsh.bands)] + ["exact"]


def candidate_pairs(keys: np.ndarray, refs: np.ndarray) -> np.ndarray:
    """(pairs, 2) uint64 refs, smaller first, of documents whose keys are equal; keys sorted."""
    if len(keys) < 2:
        return np.zeros((0, 2), np.uint64)
    same = keys[1:] == keys[:-1]  # element i+1 continues i's run
    position = np.arange(len(keys))
    run_start = np.maximum.accumulate(np.where(np.concatenate([[True], ~same]), position, 0))
    members = np.flatnonzero(same) + 1
    star = np.stack([refs[run_start[members]], refs[members]], axis=1)
    chained = members[run_start[members] != members - 1]
    chain = np.stack([refs[chained - 1], refs[chained]], axis=1)
    pairs = np.concatenate([star, chain])
    pairs.sort(axis=1)
    return pairs


def _agreement(pairs: np.ndarray, signatures: list[np.ndarray]) -> np.ndarray:
    """Estimated Jaccard of each pair from the signature files (memory-mapped, read in batches)."""
    out = np.empty(len(pairs))
    slots = signatures[0].shape[1] if signatures else 0
    for lo in range(0, len(pairs), _CHECK_BATCH):
        batch = pairs[lo:lo + _CHECK_BATCH]
        rows = []
        for side in (0, 1):
            task, number = (batch[:, side] >> np.uint64(32)).astype(np.int64), (batch[:, side] & _LOW).astype(np.int64)
            gathered = np.empty((len(batch), slots), np.uint32)
            for t in np.unique(task):
                at = task == t
                gathered[at] = signatures[t][number[at]]
            rows.append(gathered)
        out[lo:lo + len(batch)] = estimated_jaccard(rows[0], rows[1])
    return out


class DedupBuckets(PipelineStep):
    """Pass 2: the checked edges of this task's bands, written to ``edges/<rank>.npy``."""

    name = "🪣 dedup buckets"
    type = "🫂 - DEDUP"

    def __init__(self, work: str | Path, lsh: LshConfig, signature_tasks: int):
        super().__init__()
        self.work = Path(work)
        self.lsh = lsh
        self.signature_tasks = signature_tasks

    def _merged(self, band: str) -> tuple[np.ndarray, np.ndarray]:
        keys, refs = [], []
        for task in range(self.signature_tasks):
            records = np.load(self.work / "bands" / band / f"{task:05d}.npy")
            keys.append(records["key"])
            refs.append((np.uint64(task) << np.uint64(32)) | records["doc"].astype(np.uint64))
        keys, refs = np.concatenate(keys), np.concatenate(refs)
        order = np.lexsort((refs, keys))
        return keys[order], refs[order]

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        signatures = [load_signatures(self.work, t, self.lsh.slots) for t in range(self.signature_tasks)]
        cutoff = estimate_cutoff(self.lsh)
        exact, near = [np.zeros((0, 2), np.uint64)], [np.zeros((0, 2), np.uint64)]
        for band in band_names(self.lsh)[rank::world_size]:
            (exact if band == "exact" else near).append(candidate_pairs(*self._merged(band)))
        near = np.unique(np.concatenate(near), axis=0)  # a pair shares many bands: check it once
        self.stat_update("candidates", value=len(near))
        if self.lsh.verify and len(near):
            near = near[_agreement(near, signatures) >= cutoff - 1e-9]
        edges = np.unique(np.concatenate([*exact, near]), axis=0)
        self.stat_update("edges", value=len(edges))
        (self.work / "edges").mkdir(parents=True, exist_ok=True)
        np.save(self.work / "edges" / f"{rank:05d}.npy", edges.astype(np.uint64).reshape(-1, 2))
        return
        yield
