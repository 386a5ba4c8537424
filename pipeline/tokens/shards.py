"""Packed token shards: the format the trainer reads, its writer and its reader.

A phase directory (``<run>/data/phase1/``) holds fixed-length sequences of token ids,
documents packed back to back (each as ``<s> ... </s>``, cut across sequence ends):

    index.json                 what follows, in one small file (format glassworks.packed/v1)
    shard-00000.tokens.npy     ids, shape (sequences, seq_len), uint16 when the vocabulary
                               has at most 65 536 pieces, else uint32; np.load(mmap_mode="r")
    shard-00000.docs.npy       one entry per document piece in the shard, in token order:
                               start (int64, position in the shard's flattened tokens),
                               source (uint16, index into index.json "sources"),
                               document (int64, the document's index in its source's token
                               pool, data/tokenized/<source>/documents.jsonl.gz),
                               offset (int64, tokens of the document before this piece;
                               0 where the document begins, > 0 where it continues)
    shard-00000.seqs.npy       int64, sequences + 1 values: the entries of sequence j are
                               docs[seqs[j]:seqs[j+1]]; every sequence's first entry starts
                               at its first token, so a sequence is described by its own
                               entries alone
    doc-starts.npy             int32, one value per sequence of the whole phase: documents
                               that begin after its first token (targets the loss skips), so
                               a trainer counts a global batch's predicted tokens without
                               opening the shards that other ranks read

index.json records seq_len, vocab_size, dtype, the special ids, the number of sequences
and tokens, ``sequences_per_shard`` (every shard but the last holds exactly that many, so
sequence i lives in shard i // sequences_per_shard, row i % sequences_per_shard: that
arithmetic is the global index, reading one sequence is O(1), and a range of sequences
opens only the shards it spans: ``PackedDataset.span``), and per shard
and in total the tokens and document starts of each source. Those counts are what the
writer counted while copying; ``PackedDataset.recount()`` derives them again from the
entries, and the tests check that both agree.

Document boundaries are kept so attention can be masked across documents: positions
where a document begins are ``PackedSequence.doc_starts``; ``segment_ids()`` numbers the
documents of a sequence 0, 1, 2, ... (a sequence that opens inside a document starts
with that document as segment 0).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from glassworks.errors import GlassworksError
from glassworks.provenance.atomic import atomic_open, atomic_write_json

FORMAT = "glassworks.packed/v1"
INDEX = "index.json"
DOC_STARTS = "doc-starts.npy"
ENTRY = np.dtype([("start", "<i8"), ("source", "<u2"), ("document", "<i8"), ("offset", "<i8")])


def shard_name(i: int) -> str:
    return f"shard-{i:05d}"


def open_array(path: Path) -> np.ndarray:
    """Memory-map one .npy file of a phase; every read of shard data goes through here."""
    return np.load(path, mmap_mode="r", allow_pickle=False)


class PackedSequence(NamedTuple):
    tokens: np.ndarray  # (seq_len,) ids
    doc_starts: np.ndarray  # int64 positions in the sequence where a document begins

    def segment_ids(self) -> np.ndarray:
        """Document number of every position: 0 for the first document, +1 at each start."""
        marks = np.zeros(len(self.tokens), dtype=np.int32)
        marks[self.doc_starts] = 1
        marks[0] = 0
        return np.cumsum(marks, dtype=np.int32)


class ShardWriter:
    """Packs documents into ``sequences`` sequences of ``seq_len`` tokens, shard by shard."""

    def __init__(self, out_dir: Path, seq_len: int, sequences: int, sequences_per_shard: int,
                 dtype: np.dtype, sources: list[str]):
        if sequences <= 0:
            raise ValueError("a phase needs at least one sequence")
        self.out_dir, self.seq_len, self.total = Path(out_dir), seq_len, sequences
        self.per_shard, self.dtype, self.sources = sequences_per_shard, np.dtype(dtype), sources
        self.shards: list[dict] = []
        self.written = 0  # sequences flushed
        self.out_dir.mkdir(parents=True, exist_ok=True)
        # filled shard by shard on disk (not in memory: a phase can hold billions of sequences);
        # renamed into place by write_index
        self._starts_tmp = self.out_dir / f".{DOC_STARTS}.partial"
        self.doc_starts = np.lib.format.open_memmap(self._starts_tmp, mode="w+", dtype=np.int32, shape=(sequences,))
        self._open_shard()

    def _open_shard(self) -> None:
        n = min(self.per_shard, self.total - self.written)
        self.buffer = np.zeros(n * self.seq_len, dtype=self.dtype)
        self.fill = 0
        self.entries: list[tuple[int, int, int, int]] = []

    @property
    def done(self) -> bool:
        return self.written == self.total

    def add(self, tokens: np.ndarray, source: int, document: int) -> int:
        """Append one document's tokens (BOS/EOS included); returns how many fitted before
        the phase was full (the rest of the phase budget is not there to take them)."""
        taken = 0
        while taken < len(tokens) and not self.done:
            room = len(self.buffer) - self.fill
            n = min(room, len(tokens) - taken)
            self._entry(source, document, taken)
            self.buffer[self.fill:self.fill + n] = tokens[taken:taken + n]
            taken += n
            # a piece that runs past a sequence end gets a continuation entry at each start
            first_seq = self.fill // self.seq_len + 1
            last_seq = (self.fill + n - 1) // self.seq_len
            for seq in range(first_seq, last_seq + 1):
                offset = taken - n + seq * self.seq_len - self.fill
                self.entries.append((seq * self.seq_len, source, document, offset))
            self.fill += n
            if self.fill == len(self.buffer):
                self._flush()
        return taken

    def _entry(self, source: int, document: int, offset: int) -> None:
        self.entries.append((self.fill, source, document, offset))

    def _flush(self) -> None:
        index = len(self.shards)
        n_seq = len(self.buffer) // self.seq_len
        entries = np.array(self.entries, dtype=ENTRY)
        bounds = np.searchsorted(entries["start"], np.arange(n_seq + 1) * self.seq_len, side="left")
        bounds[-1] = len(entries)
        name = shard_name(index)
        for suffix, array in (("tokens", self.buffer.reshape(n_seq, self.seq_len)), ("docs", entries),
                              ("seqs", bounds.astype(np.int64))):
            with atomic_open(self.out_dir / f"{name}.{suffix}.npy", "wb") as handle:
                np.save(handle, array, allow_pickle=False)
        inner = entries[(entries["offset"] == 0) & (entries["start"] % self.seq_len != 0)]
        self.doc_starts[self.written:self.written + n_seq] = np.bincount(inner["start"] // self.seq_len,
                                                                        minlength=n_seq)
        self.shards.append({"name": name, "first_sequence": self.written, "sequences": n_seq,
                            **_histogram(entries, len(self.buffer), self.sources)})
        self.written += n_seq
        if not self.done:
            self._open_shard()

    def index(self, **extra) -> dict:
        """The phase's index.json content; call once the writer is ``done``."""
        if not self.done:
            raise RuntimeError(f"the phase has {self.written} of {self.total} sequences: is the token pool too small?")
        totals = {"tokens_per_source": {s: 0 for s in self.sources}, "documents_per_source": {s: 0 for s in self.sources}}
        for shard in self.shards:
            for key in totals:
                for source, n in shard[key].items():
                    totals[key][source] += n
        return {"format": FORMAT, **extra, "seq_len": self.seq_len, "dtype": self.dtype.name,
                "sequences": self.total, "tokens": self.total * self.seq_len,
                "sequences_per_shard": self.per_shard, "sources": self.sources, **totals, "shards": self.shards}

    def write_index(self, **extra) -> dict:
        index = self.index(**extra)
        self.doc_starts.flush()
        with open(self._starts_tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        del self.doc_starts
        os.replace(self._starts_tmp, self.out_dir / DOC_STARTS)
        atomic_write_json(self.out_dir / INDEX, index)
        return index


def _histogram(entries: np.ndarray, shard_tokens: int, sources: list[str]) -> dict:
    """Tokens and document starts per source in one shard, from its entries."""
    lengths = np.diff(np.append(entries["start"], shard_tokens))
    tokens = np.bincount(entries["source"], weights=lengths, minlength=len(sources)).astype(np.int64)
    starts = np.bincount(entries["source"][entries["offset"] == 0], minlength=len(sources))
    return {"tokens_per_source": {s: int(tokens[i]) for i, s in enumerate(sources)},
            "documents_per_source": {s: int(starts[i]) for i, s in enumerate(sources)}}


class PackedDataset:
    """Read-only, memory-mapped view of one phase directory; ``sequence(i)`` is O(1)."""

    def __init__(self, phase_dir: str | Path):
        self.path = Path(phase_dir)
        try:
            self.index = json.loads((self.path / INDEX).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise GlassworksError(f"{self.path}: no {INDEX} (not a packed phase directory)") from None
        if self.index.get("format") != FORMAT:
            raise GlassworksError(f"{self.path / INDEX}: format {self.index.get('format')!r}, expected {FORMAT!r}")
        self.seq_len: int = self.index["seq_len"]
        self.vocab_size: int = self.index["vocab_size"]
        self.dtype = np.dtype(self.index["dtype"])
        self.bos_id: int = self.index["bos_id"]
        self.eos_id: int = self.index["eos_id"]
        self.sources: list[str] = self.index["sources"]
        self.per_shard: int = self.index["sequences_per_shard"]
        self._open: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._doc_starts: np.ndarray | None = None

    def __len__(self) -> int:
        return self.index["sequences"]

    @property
    def num_tokens(self) -> int:
        return self.index["tokens"]

    def _shard(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if k not in self._open:
            name = self.index["shards"][k]["name"]
            self._open[k] = tuple(open_array(self.path / f"{name}.{part}.npy") for part in ("tokens", "docs", "seqs"))
        return self._open[k]

    def doc_starts(self) -> np.ndarray:
        """Per sequence, documents that begin after its first token (memory-mapped
        doc-starts.npy; a phase written before that file existed counts them from its shards)."""
        if self._doc_starts is None:
            path = self.path / DOC_STARTS
            if path.is_file():
                self._doc_starts = open_array(path)
            else:
                counts = np.empty(len(self), dtype=np.int32)
                for k, shard in enumerate(self.index["shards"]):
                    _, docs, _ = self._shard(k)
                    inner = docs[(docs["offset"] == 0) & (docs["start"] % self.seq_len != 0)]
                    counts[shard["first_sequence"]:shard["first_sequence"] + shard["sequences"]] = np.bincount(
                        inner["start"] // self.seq_len, minlength=shard["sequences"])
                self._doc_starts = counts
            if len(self._doc_starts) != len(self):
                raise GlassworksError(f"{path}: {len(self._doc_starts)} values for {len(self)} sequences")
        return self._doc_starts

    def shards_of(self, lo: int, hi: int) -> range:
        """The shards that sequences ``[lo, hi)`` live in (the global index's arithmetic)."""
        if not 0 <= lo <= hi <= len(self):
            raise IndexError(f"sequences [{lo}, {hi}) out of range (the phase has {len(self)})")
        return range(lo // self.per_shard, (hi - 1) // self.per_shard + 1) if hi > lo else range(0)

    def span(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """Tokens and segment ids (``PackedSequence.segment_ids``) of the contiguous sequences
        ``[lo, hi)``, both ``(hi - lo, seq_len)``: opens only the shards that hold them."""
        tokens = np.empty((hi - lo, self.seq_len), dtype=self.dtype)
        marks = np.zeros((hi - lo, self.seq_len), dtype=np.int32)
        for k in self.shards_of(lo, hi):
            first = k * self.per_shard
            a, b = max(lo, first) - first, min(hi, first + self.per_shard) - first  # rows in shard k
            shard_tokens, docs, seqs = self._shard(k)
            rows = slice(first + a - lo, first + b - lo)
            tokens[rows] = shard_tokens[a:b]
            entries = docs[seqs[a]:seqs[b]]
            starts = entries["start"][entries["offset"] == 0] - a * self.seq_len
            marks[rows].reshape(-1)[starts] = 1
        marks[:, 0] = 0
        return tokens, np.cumsum(marks, axis=1, dtype=np.int32)

    def _locate(self, i: int) -> tuple[int, int]:
        if not 0 <= i < len(self):
            raise IndexError(f"sequence {i} out of range (the phase has {len(self)})")
        return i // self.per_shard, i % self.per_shard

    def sequence(self, i: int) -> PackedSequence:
        k, j = self._locate(i)
        tokens, docs, seqs = self._shard(k)
        entries = docs[seqs[j]:seqs[j + 1]]
        starts = entries["start"][entries["offset"] == 0] - j * self.seq_len
        return PackedSequence(np.asarray(tokens[j]), starts.astype(np.int64))

    def __getitem__(self, i: int) -> PackedSequence:
        return self.sequence(i)

    def entries(self, i: int) -> list[dict]:
        """The document pieces of sequence ``i``: source, document, offset, start, length."""
        k, j = self._locate(i)
        _, docs, seqs = self._shard(k)
        entries = docs[seqs[j]:seqs[j + 1]]
        ends = np.append(entries["start"][1:], (j + 1) * self.seq_len)
        return [{"source": self.sources[e["source"]], "document": int(e["document"]), "offset": int(e["offset"]),
                 "start": int(e["start"]) - j * self.seq_len, "length": int(end - e["start"])}
                for e, end in zip(entries, ends)]

    def recount(self) -> dict:
        """Tokens and document starts per source, derived from the shards' entries alone."""
        totals = {"tokens_per_source": dict.fromkeys(self.sources, 0), "documents_per_source": dict.fromkeys(self.sources, 0)}
        for k, shard in enumerate(self.index["shards"]):
            tokens, docs, _ = self._shard(k)
            counted = _histogram(np.asarray(docs), tokens.size, self.sources)
            for key in totals:
                for source, n in counted[key].items():
                    totals[key][source] += n
        return totals
