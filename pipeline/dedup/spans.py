"""Sentence and paragraph level: exact counts across the corpus, boilerplate cut, duplicated share.

A paragraph is a block of lines between blank lines; a sentence ends at ``.``, ``!`` or
``?`` followed by white space, or at a line break (so a breadcrumb or footer line is a
sentence of its own). A span is hashed on its normalised form (lower case, white space
folded, digits as ``0``, so "Last updated on Oct 07, 2026" recurs across dates).

Counts are document frequencies over the documents dedup keeps, one per cluster, so a
near-duplicate copy does not make its original's text look duplicated. ``SpanCounts``
is the distributed pass: task t of T counts the hashes with ``hash % T == t`` from every
signature task's span records, and writes those in at least two kept documents.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import xxhash
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from glassworks.pipeline.dedup.config import SpanConfig

SPAN_RECORD = np.dtype([("hash", "<u8"), ("doc", "<u4")])
COUNT_RECORD = np.dtype([("hash", "<u8"), ("count", "<u4")])
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_DIGITS = str.maketrans("123456789", "000000000")
_SPAN_SEED = 0x5EED


def span_hash(span: str) -> int:
    return xxhash.xxh3_64_intdigest(" ".join(span.lower().translate(_DIGITS).split()), _SPAN_SEED)


def _pieces(text: str, start: int, end: int, boundary: re.Pattern):
    """(start, end) of the stripped pieces of text[start:end] between boundary matches."""
    pos = start
    for m in boundary.finditer(text, start, end):
        yield pos, m.start()
        pos = m.end()
    yield pos, end


def _stripped(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def spans(text: str, min_chars: int) -> list[tuple[int, int, str]]:
    """(start, end, kind) of every paragraph and sentence of at least ``min_chars`` characters."""
    out = []
    for ps, pe in _pieces(text, 0, len(text), _PARAGRAPH_BREAK):
        ps, pe = _stripped(text, ps, pe)
        if pe - ps < min_chars:
            continue
        out.append((ps, pe, "paragraph"))
        sentences = [_stripped(text, s, e) for s, e in _pieces(text, ps, pe, _SENTENCE_END)]
        if len(sentences) > 1:
            out.extend((s, e, "sentence") for s, e in sentences if e - s >= min_chars)
    return out


def unique_span_hashes(text: str, config: SpanConfig) -> np.ndarray:
    return np.unique(np.fromiter((span_hash(text[s:e]) for s, e, _ in spans(text, config.min_chars)), dtype=np.uint64))


class SpanTable:
    """The document frequencies of repeated spans (those in at least two kept documents)."""

    def __init__(self, folder: Path):
        parts = [np.load(p) for p in sorted(Path(folder).glob("*.npy"))]
        table = np.concatenate(parts) if parts else np.zeros(0, COUNT_RECORD)
        table.sort(order="hash")
        self.hashes, self.counts = table["hash"], table["count"]

    def frequency(self, hashes: np.ndarray) -> np.ndarray:
        """Kept documents containing each span; 1 (this document alone) for a span not repeated."""
        if not len(self.hashes):
            return np.ones(len(hashes), dtype=np.int64)
        at = np.minimum(np.searchsorted(self.hashes, hashes), len(self.hashes) - 1)
        return np.where(self.hashes[at] == hashes, self.counts[at], 1).astype(np.int64)


def analyse(text: str, table: SpanTable, config: SpanConfig, alpha: float) -> tuple[float, float, str, list[dict]]:
    """What the kept ``text`` shares with other kept documents, and the text without boilerplate.

    Returns (duplicate fraction, repetition factor, new text, removed spans). The duplicate
    fraction is the share of non-space characters inside a sentence or paragraph found in
    another kept document. The repetition factor is the mean, over the non-space
    characters left after the cut, of ``df ** (alpha - 1)``, with ``df`` the most kept
    documents any span around the character is in (1 if none): text shared by k
    documents then weighs k**alpha in total over them, the law clusters follow too.
    """
    found = spans(text, config.min_chars)
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    ink = ~np.isin(codes, (9, 10, 11, 12, 13, 32))
    if not found:
        return 0.0, 1.0 if ink.any() else 0.0, text, []
    freq = table.frequency(np.fromiter((span_hash(text[s:e]) for s, e, _ in found), dtype=np.uint64, count=len(found)))
    df = np.ones(len(text), dtype=np.int64)
    cut_mask = np.zeros(len(text), dtype=bool)
    cuts, removed = [], []
    for (s, e, kind), f in zip(found, freq):
        if f >= 2:
            df[s:e] = np.maximum(df[s:e], f)
        if f > config.max_frequency and not any(cs <= s and e <= ce for cs, ce in cuts):
            cuts.append((s, e))
            cut_mask[s:e] = True
            removed.append({"kind": kind, "start": s, "text": text[s:e], "frequency": int(f)})
    share = float(((df >= 2) & ink).sum() / max(ink.sum(), 1))
    left = ink & ~cut_mask
    factor = float(np.mean(df[left].astype(np.float64) ** (alpha - 1))) if left.any() else 0.0
    return share, factor, _cut(text, cuts), removed


def _cut(text: str, cuts: list[tuple[int, int]]) -> str:
    """``text`` without the cut ranges; a cut that was a whole line takes its line break along."""
    if not cuts:
        return text
    pieces, pos = [], 0
    for s, e in sorted(cuts):
        if s < pos:
            s = pos
        if (s == 0 or text[s - 1] == "\n") and text[e:e + 1] == "\n":
            e += 1
        pieces.append(text[pos:s])
        pos = max(pos, e)
    pieces.append(text[pos:])
    return "".join(pieces)


class SpanCounts(PipelineStep):
    """Count pass: document frequency over kept documents of this task's share of span hashes."""

    name = "🧮 span counts"
    type = "🫂 - DEDUP"

    def __init__(self, work: str | Path, signature_tasks: int):
        super().__init__()
        self.work = Path(work)
        self.signature_tasks = signature_tasks

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        from glassworks.pipeline.dedup.clusters import load_assignment

        hashes = []
        for task in range(self.signature_tasks):
            records = np.load(self.work / "spans" / f"{task:05d}.npy")
            kept = load_assignment(self.work, task)["kept"].astype(bool)
            mine = records[(records["hash"] % np.uint64(world_size)) == np.uint64(rank)]
            hashes.append(mine["hash"][kept[mine["doc"]]])
        values, counts = np.unique(np.concatenate(hashes) if hashes else np.zeros(0, np.uint64), return_counts=True)
        repeated = counts >= 2
        table = np.zeros(int(repeated.sum()), COUNT_RECORD)
        table["hash"], table["count"] = values[repeated], counts[repeated]
        (self.work / "counts").mkdir(parents=True, exist_ok=True)
        np.save(self.work / "counts" / f"{rank:05d}.npy", table)
        self.stat_update("repeated_spans", value=len(table))
        return
        yield
