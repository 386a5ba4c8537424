"""Near-duplicate paragraphs: MinHash per long paragraph, grouped across all kept documents.

Baichuan 2 and BaichuanSEED deduplicate at several granularities; exact sentence and
paragraph counting (``spans.py``) misses a paragraph copied with a few words changed.
Here every paragraph of at least ``paragraphs.min_chars`` characters gets a small MinHash
signature (character n-grams of its normalised text, the document-level scheme of
``shingles.py``), computed for all paragraphs of a document at once: the document is
normalised as one array that remembers each character's paragraph, n-grams that straddle
two paragraphs are dropped, and ``np.minimum.at`` fills a (paragraphs x slots) table.

``DedupParagraphs`` (one task, after the clusters pass) reads the signatures of the
paragraphs of kept documents, pairs those sharing an LSH band, keeps the pairs whose
slots agree on at least ``threshold - verify_slack``, and takes connected components as
groups. The first occurrence of a group is the paragraph of the document first by (id,
source, file, line), then by offset: a rule on the documents alone, so any task count
gives the same groups. Per signature task it writes ``paragraphs/<t>.groups.npy``
(``GROUP_RECORD`` of every grouped paragraph, by document and offset) and, for all
tasks, ``paragraphs/firsts.json`` (group -> the first occurrence's id, source, offset).

Memory of the pass: per kept paragraph its signature (4 bytes a slot, memory-mapped),
its band keys (8 bytes a band) and about 40 bytes of records.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xxhash
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from glassworks.pipeline.dedup.config import DedupConfig, ParagraphConfig
from glassworks.pipeline.dedup.shingles import EMPTY, U64, _codes, _normal_table, _probes, _rolling, band_keys
from glassworks.pipeline.dedup.spans import Spans

PARAGRAPH_RECORD = np.dtype([("doc", "<u4"), ("start", "<u4"), ("end", "<u4")])
GROUP_RECORD = np.dtype([("doc", "<u4"), ("start", "<u4"), ("end", "<u4"), ("group", "<u8"), ("size", "<u4"),
                         ("first", "u1")])
_DROP = 0xFFFFFFFF


def paragraph_signatures(text: str, found: Spans, config: ParagraphConfig, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices into ``found`` of the paragraphs signed, their (paragraphs, slots) uint32 signatures)."""
    slots = config.bands * config.rows
    chosen = np.flatnonzero(found.paragraph & (found.end - found.start >= config.min_chars))
    if not len(chosen):
        return chosen, np.zeros((0, slots), np.uint32)
    starts, ends = found.start[chosen], found.end[chosen]
    order = np.argsort(starts, kind="stable")  # paragraphs never overlap; sorted, a position finds its own
    codes = _codes(text)
    starts, ends = starts[order], ends[order]
    # the owning paragraph of every character, -1 between paragraphs: one np.repeat over
    # the alternating (gap, paragraph) runs instead of a binary search per character
    edges = np.stack([starts, ends], axis=1).ravel()
    runs = np.diff(np.concatenate([[0], edges, [len(codes)]]))
    owners = np.full(2 * len(order) + 1, -1, dtype=np.int64)
    owners[1::2] = order
    para = np.repeat(owners, runs)
    inside = para >= 0
    codes, para = codes[inside], para[inside]
    folded = _normal_table()[np.minimum(codes, 0xFFFF)]
    if len(codes) and codes.max() > 0xFFFF:
        folded = np.where(codes > 0xFFFF, codes, folded)
    keep = folded != _DROP
    folded, para = folded[keep], para[keep]
    blank = folded == 32
    boundary_before = np.concatenate([[True], para[1:] != para[:-1]])
    boundary_after = np.concatenate([para[1:] != para[:-1], [True]])
    extra = blank & (boundary_before | boundary_after | np.concatenate([[False], blank[:-1]]))
    folded, para = folded[~extra], para[~extra]  # each paragraph normalised, much as ``normalise`` does
    best = np.full(len(chosen) * slots, EMPTY, dtype=U64)
    n = config.n
    if len(folded) >= n:
        hashes = _rolling(folded, n, seed)
        whole = para[:len(hashes)] == para[n - 1:n - 1 + len(hashes)]  # n-grams inside one paragraph
        hashes, owner = hashes[whole], para[:len(hashes)][whole]
        with np.errstate(over="ignore"):
            bins = ((hashes >> U64(32)) * U64(slots)) >> U64(32)
        np.minimum.at(best, owner.astype(np.intp) * slots + bins.astype(np.intp), hashes & U64(0xFFFFFFFF))
    best = best.reshape(len(chosen), slots)
    signed = (best != EMPTY).any(axis=1)  # a paragraph shorter than n after normalising has none
    return chosen[signed], _densify_rows(best[signed], seed)


def _densify_rows(best: np.ndarray, seed: int) -> np.ndarray:
    """``shingles._densify`` for many signatures at once: an empty bin copies its first filled probe."""
    filled = best != EMPTY
    if filled.all():
        return best.astype(np.uint32)
    slots = best.shape[1]
    rows, empty = np.nonzero(~filled)
    probes = _probes(slots, seed)[empty]  # (empties, probes)
    ok = filled[rows[:, None], probes]
    donor = probes[np.arange(len(empty)), ok.argmax(axis=1)]
    for i in np.flatnonzero(~ok.any(axis=1)):  # very sparse rows: next filled bin to the right, circularly
        filled_at = np.flatnonzero(filled[rows[i]])
        donor[i] = filled_at[np.searchsorted(filled_at, empty[i]) % len(filled_at)]
    out = best.copy()
    out[rows, empty] = best[rows, donor]
    return out.astype(np.uint32)


def load_paragraphs(work: Path, task: int, slots: int) -> tuple[np.ndarray, np.ndarray]:
    """(``PARAGRAPH_RECORD``s, signatures) that signature task ``task`` wrote."""
    records = np.fromfile(Path(work) / "paragraphs" / f"{task:05d}.bin", dtype=PARAGRAPH_RECORD)
    path = Path(work) / "paragraphs" / f"{task:05d}.sig.bin"
    sigs = np.fromfile(path, dtype=np.uint32).reshape(-1, slots) if path.stat().st_size else np.zeros((0, slots), np.uint32)
    return records, sigs


def load_groups(work: Path, task: int) -> np.ndarray:
    return np.load(Path(work) / "paragraphs" / f"{task:05d}.groups.npy")


def load_firsts(work: Path) -> dict[str, list]:
    return json.loads((Path(work) / "paragraphs" / "firsts.json").read_text(encoding="utf-8"))


class DedupParagraphs(PipelineStep):
    """The paragraphs pass: groups of near-duplicate paragraphs among the kept documents."""

    name = "🧩 dedup paragraphs"
    type = "🫂 - DEDUP"

    def __init__(self, work: str | Path, config: DedupConfig, signature_tasks: int):
        super().__init__()
        self.work = Path(work)
        self.config = config
        self.signature_tasks = signature_tasks

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        from glassworks.pipeline.dedup.clusters import components, load_assignment

        if world_size != 1:
            raise ValueError("the paragraphs pass sees every paragraph at once: run it as exactly 1 task")
        pconf = self.config.paragraphs
        lsh = pconf.lsh(self.config.lsh.seed)
        records, sigs, task_of = [], [], []
        for t in range(self.signature_tasks):
            rec, sig = load_paragraphs(self.work, t, lsh.slots)
            kept = load_assignment(self.work, t)["kept"].astype(bool)
            mine = kept[rec["doc"]] if len(rec) else np.zeros(0, bool)
            records.append(rec[mine]), sigs.append(sig[mine]), task_of.append(np.full(int(mine.sum()), t))
        records, sigs, task_of = np.concatenate(records), np.concatenate(sigs), np.concatenate(task_of)
        self.stat_update("paragraphs", value=len(records))
        edges = self._edges(sigs, lsh)
        root = components(len(records), edges[:, 0], edges[:, 1]) if len(records) else np.zeros(0, np.int64)
        size = np.bincount(root, minlength=len(records))[root] if len(records) else np.zeros(0, np.int64)
        members = np.flatnonzero(size > 1)
        self.stat_update("grouped", value=len(members))
        groups, firsts = self._groups(records, task_of, root, size, members)
        (self.work / "paragraphs").mkdir(parents=True, exist_ok=True)
        for t in range(self.signature_tasks):
            np.save(self.work / "paragraphs" / f"{t:05d}.groups.npy", groups[t])
        (self.work / "paragraphs" / "firsts.json").write_text(json.dumps(firsts, sort_keys=True, ensure_ascii=False),
                                                              encoding="utf-8")
        return
        yield

    def _edges(self, sigs: np.ndarray, lsh) -> np.ndarray:
        """Checked pairs (dense indices) of paragraphs sharing a band key."""
        from glassworks.pipeline.dedup.buckets import candidate_pairs

        if len(sigs) < 2:
            return np.zeros((0, 2), np.int64)
        keys = band_keys(sigs, lsh)
        refs = np.arange(len(sigs), dtype=np.uint64)
        pairs = []
        for b in range(lsh.bands):
            order = np.argsort(keys[:, b], kind="stable")
            pairs.append(candidate_pairs(keys[order, b], refs[order]))
        pairs = np.unique(np.concatenate(pairs), axis=0).astype(np.int64)
        agree = (sigs[pairs[:, 0]] == sigs[pairs[:, 1]]).mean(axis=1) if len(pairs) else np.zeros(0)
        return pairs[agree >= lsh.threshold - lsh.verify_slack - 1e-9]

    def _groups(self, records, task_of, root, size, members) -> tuple[list[np.ndarray], dict]:
        """Per task its ``GROUP_RECORD``s, and group name -> [id, source, start] of its first occurrence."""
        from glassworks.pipeline.dedup.clusters import _id_lines, _name_key

        names = {}
        for t in np.unique(task_of[members]):
            docs = np.unique(records["doc"][members[task_of[members] == t]])
            names.update({(int(t), int(d)): _name_key(n) for d, n in zip(docs, _id_lines(self.work, int(t), docs))})
        key = {int(i): (*names[(int(task_of[i]), int(records["doc"][i]))], int(records["start"][i])) for i in members}
        first_of: dict[int, int] = {}
        for i in members.tolist():
            r = int(root[i])
            if r not in first_of or key[i] < key[first_of[r]]:
                first_of[r] = i
        out, firsts = [], {}
        for r, i in first_of.items():
            doc_id, source, _, _, start = key[i]
            group = xxhash.xxh3_64_intdigest(f"{source}\0{doc_id}\0{start}")
            firsts[f"{group:016x}"] = [doc_id, source, start]
            first_of[r] = (i, group)
        for t in range(self.signature_tasks):
            mine = members[task_of[members] == t]
            rec = np.zeros(len(mine), GROUP_RECORD)
            for field in ("doc", "start", "end"):
                rec[field] = records[field][mine]
            rec["size"] = size[mine]
            rec["group"] = [first_of[int(root[i])][1] for i in mine.tolist()]
            rec["first"] = [first_of[int(root[i])][0] == i for i in mine.tolist()]
            rec.sort(order=("doc", "start"))
            out.append(rec)
        return out, firsts
