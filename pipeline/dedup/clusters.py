"""Pass 3 of 6 (clusters, one task): edges to clusters, and the one document each cluster keeps.

Connected components of the edge graph over all documents (union-find with numpy: roots
hook onto the smaller root and pointer jumping sends every node to its root, until every
edge's ends agree). The kept document of a cluster is chosen by a rule that depends on
the documents alone, never on which task read them or in what order, so any task count
keeps the same set:

    longest text (characters), then highest quality score (none counts lowest),
    then smallest id, then source name, then input file and line.

Every document of a cluster gets the kept document's cluster key as its cluster name.
With ``lsh.exact`` (and the sources given), every edge between different texts is first
checked by the exact Jaccard of the two shingle sets (``exact.py``).
datatrove's stage 3 instead keeps whichever member its merge visits first.

Memory: per document the ``DOC_RECORD`` (29 bytes), the parent array and cluster sizes (4
each), the keeper index (8) and the output ``ASSIGNMENT`` (14); per edge 16 bytes (twice,
briefly); and the ids of the documents that are in clusters. Measured by ``bench/dedup.py
--scale 20000000``: 20 million documents, 10% of them in clusters, peak 2.1 GiB
(112 bytes per document, the interpreter included).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from glassworks.pipeline.dedup.config import DedupConfig
from glassworks.pipeline.dedup.signatures import load_docs

ASSIGNMENT = np.dtype([("cluster", "<u8"), ("size", "<u4"), ("kept", "u1"), ("exact", "u1")])
_LOW = np.uint64(0xFFFFFFFF)


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Root (smallest member) of each of ``n`` nodes' connected component, for edges a[i]-b[i]."""
    dtype = np.int32 if n < 2**31 else np.int64
    parent = np.arange(n, dtype=dtype)
    a, b = a.astype(dtype), b.astype(dtype)
    while True:
        while True:  # full path compression: every node points at its root
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
        ra, rb = parent[a], parent[b]
        apart = ra != rb
        if not apart.any():
            return parent
        ra, rb = ra[apart], rb[apart]
        low, high = np.minimum(ra, rb), np.maximum(ra, rb)
        np.minimum.at(parent, high, low)  # a root only ever moves to a smaller root: no cycles


def _id_lines(work: Path, task: int, numbers: np.ndarray) -> list[list]:
    """[id, source, file, line] of the given document numbers (ascending) of one task."""
    wanted, out = iter(numbers.tolist()), []
    nxt = next(wanted, None)
    with open(work / "ids" / f"{task:05d}.jsonl", encoding="utf-8") as lines:
        for number, line in enumerate(lines):
            if nxt is None:
                break
            if number == nxt:
                out.append(json.loads(line))
                nxt = next(wanted, None)
    if len(out) != len(numbers):
        raise ValueError(f"{work}/ids/{task:05d}.jsonl: fewer id records than documents (a signature task died?)")
    return out


def _name_key(name: list) -> tuple[str, str, str, int]:
    doc_id, source, file, line = name
    return str(doc_id), str(source), str(file or ""), int(line or 0)


def load_assignment(work: Path, task: int) -> np.ndarray:
    return np.load(Path(work) / "clusters" / f"{task:05d}.npy")


def load_removed(work: Path, task: int) -> dict[int, list]:
    """Document number -> [kept id, kept source] for the removed documents of one task."""
    with open(Path(work) / "clusters" / f"{task:05d}.removed.jsonl", encoding="utf-8") as lines:
        return {record[0]: record[1:] for record in map(json.loads, lines)}


class DedupClusters(PipelineStep):
    """Pass 3: components, kept documents and each task's ``clusters/<task>.npy`` assignment."""

    name = "🔗 dedup clusters"
    type = "🫂 - DEDUP"

    def __init__(self, work: str | Path, signature_tasks: int, config: DedupConfig | None = None,
                 sources: dict[str, str | Path] | None = None):
        super().__init__()
        self.work = Path(work)
        self.signature_tasks = signature_tasks
        self.config = config
        self.sources = {name: Path(folder) for name, folder in (sources or {}).items()}

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if world_size != 1:
            raise ValueError("the clusters pass sees every edge at once: run it as exactly 1 task")
        docs = [load_docs(self.work, t) for t in range(self.signature_tasks)]
        sizes = np.array([len(d) for d in docs], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        table = np.concatenate(docs)
        del docs
        edges = [np.load(p) for p in sorted((self.work / "edges").glob("*.npy"))]
        edges = np.concatenate(edges) if edges else np.zeros((0, 2), np.uint64)
        dense = offsets[(edges >> np.uint64(32)).astype(np.int64)] + (edges & _LOW).astype(np.int64)
        if self.config is not None and self.config.lsh.exact and self.sources:
            dense = self._exact(dense, edges, table, offsets)
        del edges
        root = components(len(table), dense[:, 0], dense[:, 1])
        del dense
        size = np.bincount(root, minlength=len(table)).astype(np.uint32)[root]
        out = np.zeros(len(table), ASSIGNMENT)
        out["cluster"], out["size"], out["kept"] = table["key"], size, 1
        keeper = self._keepers(table, root, size, offsets)
        self.stat_update("documents", value=len(table))
        self.stat_update("clusters", value=int(len(np.unique(root[size > 1]))))
        removed = np.flatnonzero(keeper != np.arange(len(table)))
        self.stat_update("removed", value=len(removed))
        out["cluster"] = table["key"][keeper]
        out["kept"][removed] = 0
        out["exact"][removed] = table["text_hash"][removed] == table["text_hash"][keeper[removed]]
        self._write(out, keeper, removed, offsets)
        return
        yield

    def _exact(self, dense: np.ndarray, refs: np.ndarray, table: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """The edges left after checking by exact Jaccard each near-duplicate edge (texts differ)
        whose estimate is not beyond doubt (``exact.sure_above``)."""
        from glassworks.pipeline.dedup.buckets import _agreement
        from glassworks.pipeline.dedup.exact import exact_mask, read_texts, sure_above
        from glassworks.pipeline.dedup.signatures import load_signatures

        if not len(dense):
            return dense
        near = np.flatnonzero(table["text_hash"][dense[:, 0]] != table["text_hash"][dense[:, 1]])
        signatures = [load_signatures(self.work, t, self.config.lsh.slots) for t in range(self.signature_tasks)]
        near = near[_agreement(refs[near], signatures) < sure_above(self.config.lsh)]
        docs = np.unique(dense[near])
        task = np.searchsorted(offsets, docs, side="right") - 1
        names = {}
        for t in np.unique(task):
            names.update(zip(docs[task == t].tolist(), _id_lines(self.work, int(t), docs[task == t] - offsets[t])))
        keep = np.ones(len(dense), dtype=bool)
        keep[near] = exact_mask(dense[near], read_texts(self.sources, names), self.config.shingles, self.config.lsh)
        self.stat_update("exact_checked", value=len(near))
        self.stat_update("exact_rejected", value=int((~keep).sum()))
        return dense[keep]

    def _keepers(self, table: np.ndarray, root: np.ndarray, size: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """For every document, the index of its cluster's kept document (itself when alone)."""
        keeper = np.arange(len(table))
        members = np.flatnonzero(size > 1)
        if not len(members):
            return keeper
        task = np.searchsorted(offsets, members, side="right") - 1
        names = []
        for t in np.unique(task):
            names.extend(_id_lines(self.work, int(t), members[task == t] - offsets[t]))
        self._names = dict(zip(members.tolist(), names))
        order_by_name = np.empty(len(members), np.int64)
        by_name = sorted(range(len(members)), key=lambda i: _name_key(names[i]))
        order_by_name[by_name] = np.arange(len(members))
        quality = np.nan_to_num(table["quality"][members].astype(np.float64), nan=-np.inf)
        order = np.lexsort((order_by_name, -quality, -table["length"][members].astype(np.float64), root[members]))
        ranked = members[order]
        first = np.concatenate([[True], root[ranked[1:]] != root[ranked[:-1]]])
        best_of_root = dict(zip(root[ranked[first]].tolist(), ranked[first].tolist()))
        keeper[members] = [best_of_root[r] for r in root[members].tolist()]
        return keeper

    def _write(self, out: np.ndarray, keeper: np.ndarray, removed: np.ndarray, offsets: np.ndarray) -> None:
        folder = self.work / "clusters"
        folder.mkdir(parents=True, exist_ok=True)
        removed_set = iter(removed.tolist())
        nxt = next(removed_set, None)
        for t in range(self.signature_tasks):
            lo, hi = int(offsets[t]), int(offsets[t + 1])
            np.save(folder / f"{t:05d}.npy", out[lo:hi])
            with open(folder / f"{t:05d}.removed.jsonl", "w", encoding="utf-8") as lines:
                while nxt is not None and nxt < hi:
                    kept_id, kept_source = self._names[int(keeper[nxt])][:2]
                    lines.write(json.dumps([nxt - lo, kept_id, kept_source], ensure_ascii=False) + "\n")
                    nxt = next(removed_set, None)

