"""The draw and the shuffle of a phase, keyed by document identity, in bounded memory.

**Copies at a rate.** Document ``d`` of a source (weight ``w_d``, cost ``c_d`` tokens with
``<s>`` and ``</s>``, identity ``h_d`` = the hash of its id, pool.py) has a keyed offset
``v_d = uniform(seed, phase, source, h_d)`` in (0, 1), and at rate ``r`` it gets
``n_d(r) = floor(r * w_d + v_d)`` copies: ``floor(r w_d)`` for sure and one more with
probability ``frac(r w_d)``, so ``E[n_d] = r w_d``. The phase takes the smallest rate at
which the source's copies reach its token target ``T``: going up in ``r``, copy ``j`` of
``d`` arrives at ``t = (j - v_d) / w_d``; arrivals are taken in order of ``(t, h_d, d)``
until their tokens reach ``T``, and ``rate`` is the arrival time of the one that does.

So a document's copies depend on nothing but its own id and weight and the rate. Adding
documents to a pool adds their arrivals to the sequence and moves no other: at the same
rate every old document keeps its copies exactly, and with the same target the rate comes
down a little and the old documents lose only the last arrivals (tests/pipeline/tokens/
test_identity.py shows both on a real pool with 1 % more documents).

Finding the rate takes a few passes over the memory-mapped pool in chunks: each pass
evaluates the tokens at ``PROBES`` rates inside the bracket that holds the target and keeps
the sub-bracket, until at most ``window`` arrivals lie inside; one more pass collects those
and sorts them. Memory is a chunk and the window, never a value per document.

**The order.** Every copy ``k`` of document ``d`` has the key
``mix64(mix64(h_d ^ stream(seed, phase, source, "order")) ^ k)``; the phase packs the copies of
all its sources by ascending (key, source, document). That order is also identity-keyed:
inserted documents slot in between, the old copies keep their relative order. The copies
go through an external sort (external.py), so a phase of billions of copies is ordered in
``memory_bytes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from glassworks.errors import GlassworksError
from glassworks.pipeline.tokens.draw import base, mix64, uniforms
from glassworks.pipeline.tokens.external import ExternalSort

CHUNK = 1 << 16  # documents per step of a pass: about 30 MiB of work at PROBES rates
PROBES = 16  # rates evaluated per pass: the bracket shrinks 16-fold
COPY = np.dtype([("key", "<u8"), ("source", "<u2"), ("document", "<i8")])
EVENT = np.dtype([("time", "<f8"), ("id", "<u8"), ("document", "<i8"), ("cost", "<i8")])
DEFAULT_MEMORY = 4 << 30


def _chunks(n: int) -> Iterator[tuple[int, int]]:
    for a in range(0, n, CHUNK):
        yield a, min(a + CHUNK, n)


@dataclass
class SourceDraw:
    """Copies of each document of one source in one phase, computed chunk by chunk."""

    source: str
    target: int  # tokens asked of the source
    rate: float  # arrival time of the copy that reached the target (0 when none)
    documents: np.ndarray  # the pool's DOC records (memory-mapped)
    extra: int  # tokens added to every document (<s>, </s>)
    stream: np.uint64  # the copy offsets' stream
    below: float  # the rate below the window: n_d(below) copies for sure
    taken: np.ndarray  # int64 document indices (sorted) of the window's arrivals that were taken
    copies: int = 0
    unique_documents: int = 0
    drawn_tokens: int = 0

    def copies_in(self, a: int, b: int) -> np.ndarray:
        """Copies (int64) of documents ``a`` to ``b - 1``."""
        docs = self.documents[a:b]
        n = _counts(np.array([self.below]), docs["weight"], uniforms(self.stream, docs["id"]))[0]
        lo, hi = np.searchsorted(self.taken, [a, b])
        np.add.at(n, self.taken[lo:hi] - a, 1)
        return n

    def all_copies(self) -> np.ndarray:
        return np.concatenate([self.copies_in(a, b) for a, b in _chunks(len(self.documents))] or [np.zeros(0, np.int64)])

    def summary(self) -> dict:
        return {"target_tokens": self.target, "rate": self.rate, "copies": self.copies,
                "unique_documents": self.unique_documents, "drawn_tokens": self.drawn_tokens}


def _counts(rates: np.ndarray, weights: np.ndarray, v: np.ndarray) -> np.ndarray:
    """n_d(r) for every rate (rows) and document (columns)."""
    return np.floor(np.multiply.outer(rates, weights) + v).astype(np.int64)


def _pass(documents: np.ndarray, extra: int, stream: np.uint64, rates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tokens and copies of all documents at each rate, exact integers."""
    tokens = np.zeros(len(rates), dtype=np.int64)
    copies = np.zeros(len(rates), dtype=np.int64)
    for a, b in _chunks(len(documents)):
        docs = documents[a:b]
        n = _counts(rates, docs["weight"], uniforms(stream, docs["id"]))
        tokens += n @ (docs["length"] + extra)
        copies += n.sum(axis=1)
    return tokens, copies


def draw_source(source: str, documents: np.ndarray, extra: int, target: int, seed: int, phase: str,
                window: int = 1 << 20) -> SourceDraw:
    """Copies per document for one source (module docstring); ``documents`` are DOC records."""
    stream = base(seed, phase, source, "copies")
    empty = np.zeros(0, dtype=np.int64)
    if target <= 0:
        return SourceDraw(source, 0, 0.0, documents, extra, stream, 0.0, empty)
    mass, size = 0.0, 0
    for a, b in _chunks(len(documents)):
        docs = documents[a:b]
        mass += float(docs["weight"] @ (docs["length"] + extra))
        size += int((docs["length"][docs["weight"] > 0] + extra).sum())
    if mass <= 0:
        raise GlassworksError(f"phase {phase!r}: source {source!r} has a share of the tokens but no usable documents")
    # n_d(r) > r w_d + v_d - 1 >= r w_d - 1: at this rate the copies surely hold the target
    lo, hi = 0.0, (target + size) / mass * (1 + 1e-9)
    guess = target / mass
    probes = np.unique(np.clip(guess * (1 + np.linspace(-0.05, 0.05, PROBES)), lo, hi))
    while True:
        rates = np.concatenate([[lo], probes, [hi]])
        tokens, counts = _pass(documents, extra, stream, rates)
        if tokens[-1] < target:
            raise GlassworksError(f"phase {phase!r}: source {source!r}: rate {hi} should give {target} tokens, "
                                  f"gives {tokens[-1]} (weights too large for float64?)")
        k = int(np.searchsorted(tokens, target, side="left"))  # first rate reaching the target
        lo, hi = float(rates[k - 1]), float(rates[k])
        if counts[k] - counts[k - 1] <= window or np.nextafter(lo, hi) >= hi:
            break
        probes = np.linspace(lo, hi, PROBES + 2)[1:-1]
    below_tokens = int(tokens[k - 1])
    events = np.sort(_arrivals(documents, stream, lo, hi, extra), order=["time", "id", "document"])
    cumulative = below_tokens + np.cumsum(events["cost"])
    cut = int(np.searchsorted(cumulative, target, side="left"))
    taken = np.sort(events["document"][:cut + 1])
    draw = SourceDraw(source, target, float(events["time"][cut]), documents, extra, stream, lo, taken)
    for a, b in _chunks(len(documents)):
        n = draw.copies_in(a, b)
        draw.copies += int(n.sum())
        draw.unique_documents += int((n > 0).sum())
        draw.drawn_tokens += int(n @ (documents[a:b]["length"] + extra))
    return draw


def _arrivals(documents, stream, lo: float, hi: float, extra: int) -> np.ndarray:
    """The arrivals with rates in (lo, hi], as EVENT records."""
    found = []
    for a, b in _chunks(len(documents)):
        docs = documents[a:b]
        v = uniforms(stream, docs["id"])
        n = _counts(np.array([lo, hi]), docs["weight"], v)
        more = n[1] - n[0]
        if not more.any():
            continue
        rows = np.flatnonzero(more)
        reps = more[rows]
        doc = np.repeat(rows, reps)
        j = np.repeat(n[0][rows], reps) + np.arange(len(doc)) - np.repeat(np.cumsum(reps) - reps, reps) + 1
        event = np.zeros(len(doc), dtype=EVENT)
        event["time"] = (j - v[doc]) / docs["weight"][doc]
        event["id"] = docs["id"][doc]
        event["document"] = doc + a
        event["cost"] = docs["length"][doc] + extra
        found.append(event)
    return np.concatenate(found) if found else np.zeros(0, dtype=EVENT)


def copy_order(draws: list[SourceDraw], seed: int, phase: str, scratch: Path,
               memory_bytes: int = DEFAULT_MEMORY) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(source index, document index) of every copy, in the keyed packing order, in chunks;
    at most about ``memory_bytes`` held, the rest in sorted runs under ``scratch``."""
    sorter = ExternalSort(COPY, scratch, memory_bytes)
    for s, draw in enumerate(draws):
        stream = base(seed, phase, draw.source, "order")
        for a, b in _chunks(len(draw.documents)):
            n = draw.copies_in(a, b)
            if not n.any():
                continue
            rows = np.flatnonzero(n)
            reps = n[rows]
            doc = np.repeat(rows, reps)
            copy_no = np.arange(len(doc), dtype=np.int64) - np.repeat(np.cumsum(reps) - reps, reps)
            records = np.zeros(len(doc), dtype=COPY)
            records["key"] = mix64(mix64(draw.documents[a:b]["id"][doc] ^ stream) ^ copy_no.astype(np.uint64))
            records["source"] = s
            records["document"] = doc + a
            sorter.add(records)
    for chunk in sorter.merged():
        yield chunk["source"].astype(np.int64), chunk["document"]
