"""Sentence and paragraph level: exact counts across the corpus, boilerplate cut, duplicated share.

A paragraph is a block of lines between blank lines; a sentence ends at ``.``, ``!`` or
``?`` followed by white space, or at a line break (so a breadcrumb or footer line is a
sentence of its own). A span is hashed on its normalised form: lower case, digits as
``0`` (so "Last updated on Oct 07, 2026" recurs across dates), white space ignored.

Splitting and hashing are vectorised over the whole text: the span hash is a polynomial
over the span's non-space characters, ``sum v[k] * P**k``, read off prefix sums of
``v[k] * P**rank(k)`` and shifted back by a power of P's inverse mod 2**64 (P is odd), so
a document's thousands of sentences cost a few numpy passes, not a Python call each.

Counts are document frequencies over the documents dedup keeps, one per cluster, so a
near-duplicate copy does not make its original's text look duplicated. ``SpanCounts``
is the distributed pass: task t of T counts the hashes with ``hash % T == t`` from every
signature task's span records, and writes those in at least two kept documents.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from glassworks.pipeline.dedup.config import SpanConfig
from glassworks.pipeline.dedup.shingles import mix64

SPAN_RECORD = np.dtype([("hash", "<u8"), ("doc", "<u4")])
COUNT_RECORD = np.dtype([("hash", "<u8"), ("count", "<u4")])
SPAN_CACHE = np.dtype([("start", "<u4"), ("end", "<u4"), ("paragraph", "u1"), ("hash", "<u8")])
U64 = np.uint64
_P = 0x100000001B3
_P_INVERSE = pow(_P, -1, 2**64)
_SEED = U64(0x5EED5EED5EED5EED)


@lru_cache(maxsize=1)
def _tables() -> tuple[np.ndarray, np.ndarray]:
    """For every BMP code point: its folded form (lower case, any digit as '0') and whether it is white space."""
    chars = [chr(c) for c in range(0x10000)]
    folded = np.array([ord("0") if ch.isdigit() else (ord(low) if len(low := ch.lower()) == 1 else ord(ch))
                       for ch in chars], dtype=np.uint32)
    return folded, np.array([ch.isspace() for ch in chars])


class Spans(NamedTuple):
    start: np.ndarray  # character offsets into the text, paragraphs first, then sentences
    end: np.ndarray
    paragraph: np.ndarray  # bool: a paragraph (else a sentence)
    hash: np.ndarray  # uint64, equal for equal normalised text

    def records(self) -> np.ndarray:
        """As ``SPAN_CACHE`` records: the signature pass stores them, the filter pass reads them back."""
        out = np.empty(len(self.hash), SPAN_CACHE)
        out["start"], out["end"], out["paragraph"], out["hash"] = self.start, self.end, self.paragraph, self.hash
        return out

    @classmethod
    def of(cls, records: np.ndarray) -> Spans:
        records = np.array(records)  # off the memory map: numpy's memmap subclass slows every later operation
        return cls(records["start"].astype(np.int64), records["end"].astype(np.int64),
                   records["paragraph"].astype(bool), records["hash"])


def _ink(codes: np.ndarray) -> np.ndarray:
    """Per character: not white space."""
    return ~np.where(codes < 0x10000, _tables()[1][np.minimum(codes, 0xFFFF)], False)


_POWER_CACHE: dict[int, np.ndarray] = {}


def _powers(base: int, n: int) -> np.ndarray:
    """base**k mod 2**64 for k < n (a cached table, grown by doubling)."""
    table = _POWER_CACHE.get(base)
    if table is None or len(table) < n:
        size = max(n, 2 * len(table) if table is not None else 1 << 16)
        out = np.full(size, U64(base), dtype=U64)
        out[0] = 1
        with np.errstate(over="ignore"):
            table = _POWER_CACHE[base] = np.cumprod(out, dtype=U64)
    return table[:n]


def _strip(starts: np.ndarray, ends: np.ndarray, ink_at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each [start, end) narrowed to its first and last non-space character; all-space pieces dropped."""
    lo = np.searchsorted(ink_at, starts)
    hi = np.searchsorted(ink_at, ends) - 1
    keep = lo <= hi
    return ink_at[lo[keep]], ink_at[hi[keep]] + 1


def spans(text: str, min_chars: int) -> Spans:
    """Every paragraph and sentence of at least ``min_chars`` characters, with its hash."""
    codes = np.frombuffer(text.encode("utf-32-le", errors="surrogatepass"), dtype=np.uint32)
    folded_table, space_table = _tables()
    bmp = np.minimum(codes, 0xFFFF)
    space = np.where(codes < 0x10000, space_table[bmp], False)
    ink = ~space
    ink_at = np.flatnonzero(ink)
    newline = codes == 10
    n = len(codes)
    # sentences: cut after a line break, and before the white space that follows . ! ?
    cut = np.zeros(n, dtype=bool)
    ender = (codes[:-1] == 46) | (codes[:-1] == 33) | (codes[:-1] == 63)  # . ! ?
    cut[1:] = newline[:-1] | (ender & space[1:])
    s_start = np.flatnonzero(cut)
    s_start = np.concatenate([[0], s_start]) if n else s_start
    s_start, s_end = _strip(s_start, np.append(s_start[1:], n), ink_at)
    # paragraphs: runs of lines that hold any ink
    line_start = np.concatenate([[0], np.flatnonzero(newline) + 1])
    line_end = np.append(np.flatnonzero(newline), n)
    ink_before = np.concatenate([[0], np.cumsum(ink)])
    full = ink_before[line_end] > ink_before[line_start]
    first = full & ~np.concatenate([[False], full[:-1]])
    last = full & ~np.concatenate([full[1:], [False]])
    p_start, p_end = _strip(line_start[first], line_end[last], ink_at)
    start, end = np.concatenate([p_start, s_start]), np.concatenate([p_end, s_end])
    paragraph = np.concatenate([np.ones(len(p_start), bool), np.zeros(len(s_start), bool)])
    long_enough = end - start >= min_chars
    start, end, paragraph = start[long_enough], end[long_enough], paragraph[long_enough]
    _, first_of = np.unique(start * (n + 1) + end, return_index=True)  # a one-sentence paragraph: once
    keep = np.sort(first_of)
    start, end, paragraph = start[keep], end[keep], paragraph[keep]
    # hashes: prefix sums of v[k] * P**rank(k) over the non-space characters
    values = np.where(codes < 0x10000, folded_table[bmp], codes)[ink_at].astype(U64) ^ _SEED
    with np.errstate(over="ignore"):
        terms = mix64(values) * _powers(_P, len(ink_at))
        prefix = np.concatenate([np.zeros(1, U64), np.cumsum(terms, dtype=U64)])
        first_rank, last_rank = ink_before[start], ink_before[end]
        raw = (prefix[last_rank] - prefix[first_rank]) * _powers(_P_INVERSE, len(ink_at) + 1)[first_rank]
    return Spans(start, end, paragraph, mix64(raw ^ U64(0x9E3779B97F4A7C15)))


def span_hash(span: str) -> int:
    """The hash ``spans`` gives ``span`` as a whole (any stripped text)."""
    found = spans(span, 1)
    return int(found.hash[0]) if len(found.hash) else 0


def unique_span_hashes(text: str, config: SpanConfig) -> np.ndarray:
    return np.unique(spans(text, config.min_chars).hash)


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


def analyse(text: str, table: "SpanTable", config: SpanConfig, alpha: float,
            found: Spans | None = None, near: np.ndarray | None = None,
            policy: str = "mark") -> tuple[float, float, str, list[dict]]:
    """What the kept ``text`` shares with other kept documents, and the text without boilerplate.

    Returns (duplicate fraction, repetition factor, new text, removed spans). The duplicate
    fraction is the share of non-space characters inside a sentence or paragraph found in
    another kept document (exactly, or as a near-duplicate paragraph). The repetition
    factor is the mean, over the non-space characters left after the cut, of
    ``df ** (alpha - 1)``, with ``df`` the most kept documents any span around the
    character is in (1 if none): text shared by k documents then weighs k**alpha in total
    over them, the law clusters follow too. ``found`` is ``spans(text, config.min_chars)``
    when the caller has it already.

    ``near`` are this document's paragraphs in near-duplicate groups (``paragraphs.GROUP_RECORD``).
    A later occurrence (not the group's first) is reported with reason
    ``near_duplicate_paragraph``; under ``policy`` "drop" it is cut, under "downweight" its
    characters count (k**alpha - 1) / (k - 1) at most, so that the k members weigh k**alpha
    together with the first occurrence at 1; "mark" changes nothing else.
    """
    found = found if found is not None else spans(text, config.min_chars)
    freq = table.frequency(found.hash)
    repeated = np.flatnonzero(freq >= 2)
    near = near if near is not None else np.zeros(0, _GROUP_FIELDS)
    if not len(repeated) and not len(near):  # the common case: nothing found elsewhere
        return 0.0, 1.0 if not text.isspace() and text else 0.0, text, []
    ink = _ink(np.frombuffer(text.encode("utf-32-le", errors="surrogatepass"), dtype=np.uint32))
    df = np.ones(len(text), dtype=np.int64)
    if len(repeated):
        np.maximum.at(df, *_ranges(found.start[repeated], found.end[repeated], freq[repeated]))
    factor_of = np.where(df >= 2, df.astype(np.float64) ** (alpha - 1), 1.0)
    shared = df >= 2
    cut_mask = np.zeros(len(text), dtype=bool)
    cuts, removed = [], []

    def cut(s: int, e: int, record: dict) -> None:
        if not any(cs <= s and e <= ce for cs, ce in cuts):
            cuts.append((s, e))
            cut_mask[s:e] = True
            removed.append(record)

    for i in np.flatnonzero(freq > config.max_frequency):  # paragraphs come first
        s, e = int(found.start[i]), int(found.end[i])
        cut(s, e, {"kind": "paragraph" if found.paragraph[i] else "sentence", "start": s, "text": text[s:e],
                   "frequency": int(freq[i]), "reason": "frequent_span"})
    for member in near:
        s, e, k = int(member["start"]), int(member["end"]), int(member["size"])
        shared[s:e] = True
        if member["first"]:
            continue
        record = {"kind": "paragraph", "start": s, "text": text[s:e], "frequency": k,
                  "reason": "near_duplicate_paragraph", "group": f"{int(member['group']):016x}",
                  "cut": policy == "drop"}
        if policy == "drop":
            cut(s, e, record)
        else:
            removed.append(record)
            if policy == "downweight":
                factor_of[s:e] = np.minimum(factor_of[s:e], (k**alpha - 1) / (k - 1))
    share = float((shared & ink).sum() / max(ink.sum(), 1))
    left = factor_of[ink & ~cut_mask]
    factor = float(left.mean()) if len(left) else 0.0
    return share, factor, _cut(text, cuts), removed


_GROUP_FIELDS = np.dtype([("start", "<u4"), ("end", "<u4"), ("group", "<u8"), ("size", "<u4"), ("first", "u1")])


def _ranges(starts: np.ndarray, ends: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(every position inside the [start, end) ranges, the value of its range), without a Python loop."""
    lengths = ends - starts
    shift = starts - np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return np.repeat(shift, lengths) + np.arange(lengths.sum()), np.repeat(values, lengths)


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
