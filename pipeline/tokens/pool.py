"""Stage ``data.tokenize``: every usable document of every source, tokenized once.

The phases draw from these pools, so a document up-sampled three times or used by two
phases is tokenized once. Per source, ``<run>/data/tokenized/<source>/`` holds:

    tokens.npy            1-D ids of all documents back to back (no BOS/EOS), tokenizer dtype
    documents.npy         per document: offset and length in tokens.npy (int64), weight (float64),
                          id (uint64, xxh3-64 of the document's id: what its draws are keyed by)
    documents.jsonl.gz    per document, same order: its id and key (folder/file:line), to trace back

and ``pool.json`` sums it up (documents, tokens, weights, texts repaired per source).

Tokenization runs in ``workers`` processes: texts go out in batches (a long document as
several chunks cut where tokenization cannot change, see tokenizer.py) and come back in
submission order, with a bounded number in flight, so the pool is byte-identical for any
number of workers and memory stays flat however large the corpus.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
from array import array
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import xxhash

from glassworks.pipeline.tokens.sources import Bad, CorpusConfig, Doc, Skip, list_files, read_source
from glassworks.pipeline.tokens.tokenizer import MODEL_FILE, Tokenizer, clean_text, split_points
from glassworks.provenance.atomic import atomic_open, atomic_write_json

STAGE = "data.tokenize"
VERSION = "2"  # 2: documents.npy carries each document's id hash
BATCH_CHARS = 1 << 20  # characters per unit of work sent to a worker
DOC = np.dtype([("offset", "<i8"), ("length", "<i8"), ("weight", "<f8"), ("id", "<u8")])


def id_hash(doc_id: str) -> int:
    """The 64-bit identity of a document: the same id gives the same draws in any pool."""
    return xxhash.xxh3_64_intdigest(doc_id.encode("utf-8", "surrogatepass"))


@dataclass
class SourcePool:
    """One source's tokenized documents, memory-mapped (the ids and the index alike: a pool of
    billions of documents opens in no memory at all)."""

    name: str
    tokens: np.ndarray
    documents: np.ndarray  # DOC records
    folder: Path | None = None  # where it lies (documents.jsonl.gz holds the ids in full)

    @classmethod
    def open(cls, folder: Path) -> "SourcePool":
        return cls(folder.name, np.load(folder / "tokens.npy", mmap_mode="r"),
                   np.load(folder / "documents.npy", mmap_mode="r"), folder)

    def document(self, i: int) -> np.ndarray:
        d = self.documents[i]
        return self.tokens[d["offset"]:d["offset"] + d["length"]]


@dataclass
class PoolResult:
    folder: Path
    inputs: list[Path] = field(default_factory=list)
    bad: list[Bad] = field(default_factory=list)
    summary: dict = field(default_factory=dict)


# --- workers -----------------------------------------------------------------------------

_WORKER: Tokenizer | None = None


def _init_worker(model_proto: bytes) -> None:
    global _WORKER
    _WORKER = Tokenizer(model_proto)


def _encode_batch(texts: list[str]) -> list[np.ndarray]:
    # texts are clean and chunked already; encode_chunks keeps a literal '▁' as its bytes, as the tokenizer does
    return _WORKER.encode_chunks(texts)


class Encoder:
    """Ordered, bounded parallel encoding of (document, text) pairs into id arrays."""

    def __init__(self, tokenizer_dir: Path, workers: int):
        self.model = (tokenizer_dir / MODEL_FILE).read_bytes()
        self.workers = workers
        self._parts: list[np.ndarray] = []  # chunks of a document whose last chunk is still to come

    def run(self, items: Iterator[tuple[object, str]]) -> Iterator[tuple[object, np.ndarray]]:
        batches = self._batches(items)
        if self.workers <= 1:
            _init_worker(self.model)
            for owners, texts in batches:
                yield from self._join(owners, _encode_batch(texts))
            return
        import multiprocessing as mp

        # spawn, not fork: a process that already runs threads (torch, lm-eval, tqdm's monitor)
        # can fork a child holding a lock no thread will release; such a worker hangs forever.
        with mp.get_context("spawn").Pool(self.workers, _init_worker, (self.model,)) as pool:
            pending: deque = deque()
            for owners, texts in batches:
                pending.append((owners, pool.apply_async(_encode_batch, (texts,))))
                if len(pending) >= 2 * self.workers:
                    owners_done, result = pending.popleft()
                    yield from self._join(owners_done, result.get())
            while pending:
                owners_done, result = pending.popleft()
                yield from self._join(owners_done, result.get())

    @staticmethod
    def _batches(items) -> Iterator[tuple[list, list[str]]]:
        """Batches of text chunks; ``owners[i]`` is (document, is its last chunk)."""
        owners, texts, size = [], [], 0
        for owner, text in items:
            spans = list(split_points(text))
            for k, (a, b) in enumerate(spans):
                owners.append((owner, k == len(spans) - 1))
                texts.append(text[a:b])
                size += b - a
                if size >= BATCH_CHARS:
                    yield owners, texts
                    owners, texts, size = [], [], 0
        if texts:
            yield owners, texts

    def _join(self, owners, arrays) -> Iterator[tuple[object, np.ndarray]]:
        for (owner, last), ids in zip(owners, arrays):
            self._parts.append(ids)
            if last:
                parts, self._parts = self._parts, []
                yield owner, parts[0] if len(parts) == 1 else np.concatenate(parts)


# --- the stage ---------------------------------------------------------------------------


class _NpyAppender:
    """A 1-D .npy file written by appending: raw ids to a scratch file, header at the end."""

    def __init__(self, path: Path, dtype: np.dtype):
        self.path, self.dtype, self.count = path, np.dtype(dtype), 0
        self.scratch = path.with_name(f".{path.name}.raw")
        self.handle = open(self.scratch, "wb")

    def append(self, ids: np.ndarray) -> None:
        self.handle.write(np.ascontiguousarray(ids, dtype=self.dtype).tobytes())
        self.count += len(ids)

    def close(self) -> None:
        self.handle.close()
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": (self.count,)}
        with atomic_open(self.path, "wb") as out, open(self.scratch, "rb") as raw:
            np.lib.format.write_array_header_1_0(out, header)
            shutil.copyfileobj(raw, out, 16 << 20)
        os.unlink(self.scratch)


def tokenize_sources(corpus: CorpusConfig, names: list[str], tokenizer_dir: Path, run_dir: Path,
                     counts, workers: int = 1, progress=None) -> PoolResult:
    """Tokenize the named sources into ``<run>/data/tokenized/``; every record is accounted
    for in ``counts`` (a recorder's Counts, unit documents)."""
    tokenizer = Tokenizer.load(tokenizer_dir)
    out = run_dir / "data" / "tokenized"
    shutil.rmtree(out, ignore_errors=True)
    result = PoolResult(out)
    encoder = Encoder(tokenizer_dir, workers)
    sources = {}
    for name in names:
        files = list_files(corpus, name, run_dir)
        result.inputs.extend(files.paths)
        folder = out / name
        folder.mkdir(parents=True)
        tokens = _NpyAppender(folder / "tokens.npy", tokenizer.dtype)
        offsets, lengths, weights, hashes = array("q"), array("q"), array("d"), array("Q")  # 32 bytes a document
        repaired = [0]
        ids_file = open(folder / ".documents.jsonl.gz.tmp", "wb")
        ids_out = gzip.GzipFile(fileobj=ids_file, mode="wb", mtime=0, filename="")

        part = counts.part(name)  # the manifest's documents per source

        def usable() -> Iterator[tuple[Doc, str]]:
            for record in read_source(corpus, files):
                part.add_in()
                if isinstance(record, Bad):
                    part.quarantine()
                    result.bad.append(record)
                elif isinstance(record, Skip):
                    part.drop(record.reason)
                else:
                    text, n = clean_text(record.text)
                    repaired[0] += n > 0
                    yield record, text

        for doc, ids in encoder.run(usable()):
            offsets.append(tokens.count)
            lengths.append(len(ids))
            weights.append(doc.weight)
            hashes.append(id_hash(doc.id))
            tokens.append(ids)
            line = json.dumps({"id": doc.id, "key": doc.key}, sort_keys=True, ensure_ascii=True)
            ids_out.write(line.encode("ascii") + b"\n")
            part.keep()
            if progress is not None:
                progress(len(ids))
        tokens.close()
        ids_out.close()
        ids_file.close()
        os.replace(folder / ".documents.jsonl.gz.tmp", folder / "documents.jsonl.gz")
        documents = np.zeros(len(offsets), dtype=DOC)
        documents["offset"], documents["length"], documents["weight"] = offsets, lengths, weights
        documents["id"] = hashes
        with atomic_open(folder / "documents.npy", "wb") as handle:
            np.save(handle, documents, allow_pickle=False)
        sources[name] = {"documents": len(documents), "tokens": int(tokens.count),
                         "weight_sum": float(documents["weight"].sum()), "texts_repaired": repaired[0]}
    result.summary = {"format": "glassworks.token-pool/v2", "dtype": tokenizer.dtype.name,
                      "vocab_size": tokenizer.vocab_size, "sources": sources}
    atomic_write_json(out / "pool.json", result.summary)
    return result
