"""Pass 1 of 6 (signatures): what later passes need to know about each document, per task.

For the i-th unsettled document of task r it writes, under the work folder:

- ``signatures/<r>.bin``: its MinHash slots (``slots`` x uint32), for checking candidates;
- ``bands/<b>/<r>.npy``: per LSH band, (key, i) sorted by key, for the bucket pass, and
  ``bands/exact/<r>.npy`` the same for a hash of the raw text (exact duplicates);
- ``docs/<r>.bin``: a ``DOC_RECORD`` (length, quality, cluster key, text hash);
- ``ids/<r>.jsonl``: [id, source, file, line], read back only for documents in a cluster;
- ``paragraphs/<r>.bin`` and ``.sig.bin``: each long paragraph's (i, start, end) and its
  small MinHash signature, for the paragraphs pass (``paragraphs.py``);
- ``spans/<r>.npy``: (span hash, i) for each distinct sentence and paragraph, and
  ``spans/<r>.cache.bin`` every span's offsets and hash (``SPAN_CACHE``, indexed by
  ``spans/<r>.offsets.npy``), so the filter pass need not split the texts again.

Documents are numbered in the order the task reads them; the filter pass reads the same
files in the same order and numbers them alike.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import xxhash
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from glassworks.pipeline.dedup.config import DedupConfig
from glassworks.pipeline.dedup.files import source_of
from glassworks.pipeline.dedup.paragraphs import PARAGRAPH_RECORD, paragraph_signatures
from glassworks.pipeline.dedup.shingles import band_keys, document_signature
from glassworks.pipeline.dedup.spans import SPAN_RECORD
from glassworks.pipeline.dedup.spans import spans as find_spans
from glassworks.pipeline.documents import is_settled

DOC_RECORD = np.dtype([("length", "<u8"), ("quality", "<f4"), ("has_signature", "u1"), ("key", "<u8"), ("text_hash", "<u8")])
BAND_RECORD = np.dtype([("key", "<u8"), ("doc", "<u4")])
_NO_SPANS = np.zeros(0, np.uint64)
_FLUSH = 2048  # documents buffered before their records are appended to the task's files


def quality_score(doc: Document, dotted: str) -> float:
    """The document's quality score at the dotted metadata path, NaN when absent or not a number."""
    value = doc.metadata
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else float("nan")


def text_hash(text: str) -> int:
    return xxhash.xxh3_64_intdigest(text.encode("utf-8", errors="surrogatepass"))


def cluster_key(source: str, doc_id: str, digest: int) -> int:
    """The cluster name a document gives its cluster when it is the one kept: stable, whatever the task layout."""
    return xxhash.xxh3_64_intdigest(f"{source}\0{doc_id}\0{digest:016x}")


class DedupSignatures(PipelineStep):
    """Pass 1: signatures, band keys, span hashes and the small per-document record."""

    name = "🎯 dedup signatures"
    type = "🫂 - DEDUP"

    def __init__(self, work: str | Path, config: DedupConfig):
        super().__init__()
        self.work = Path(work)
        self.config = config

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        lsh = self.config.lsh
        name = f"{rank:05d}"
        for folder in ("signatures", "docs", "ids", "spans", "tmp"):
            (self.work / folder).mkdir(parents=True, exist_ok=True)
        paths = {k: self.work / k / f"{name}.bin" for k in ("signatures", "docs")}
        paths["bands"] = self.work / "tmp" / f"{name}.bands.bin"
        paths["spans"] = self.work / "tmp" / f"{name}.spans.bin"
        paths["cache"] = self.work / "spans" / f"{name}.cache.bin"
        paragraphs = self.config.paragraphs
        if paragraphs.enabled:
            (self.work / "paragraphs").mkdir(parents=True, exist_ok=True)
            paths["paragraphs"] = self.work / "paragraphs" / f"{name}.bin"
            paths["paragraph_sigs"] = self.work / "paragraphs" / f"{name}.sig.bin"
        handles = {k: open(p, "wb") for k, p in paths.items()}
        span_offsets = [0]
        ids = open(self.work / "ids" / f"{name}.jsonl", "w", encoding="utf-8")
        sigs, docs, spans = [], [], []
        count = 0

        def flush():
            if sigs:
                block = np.stack(sigs)
                handles["signatures"].write(block.tobytes())
                handles["bands"].write(band_keys(block, lsh).tobytes())
                handles["docs"].write(np.array(docs, dtype=DOC_RECORD).tobytes())
                handles["spans"].write(np.concatenate(spans).tobytes())
                sigs.clear(), docs.clear(), spans.clear()

        try:
            for doc in data:
                if is_settled(doc):
                    continue
                self.stat_update("documents")
                source = source_of(doc)
                sig = document_signature(doc.text, self.config.shingles, lsh)
                digest = text_hash(doc.text)
                sigs.append(sig if sig is not None else np.zeros(lsh.slots, np.uint32))
                docs.append((len(doc.text), quality_score(doc, self.config.weights.quality_key), sig is not None,
                             cluster_key(source, doc.id, digest), digest))
                hashes = _NO_SPANS
                if self.config.finds_spans:
                    found = find_spans(doc.text, self.config.span_min_chars)
                if self.config.spans.enabled:
                    handles["cache"].write(found.records().tobytes())
                    span_offsets.append(span_offsets[-1] + len(found.hash))
                    hashes = np.unique(found.hash)
                if paragraphs.enabled:
                    which, psigs = paragraph_signatures(doc.text, found, paragraphs, lsh.seed)
                    precord = np.empty(len(which), PARAGRAPH_RECORD)
                    precord["doc"], precord["start"], precord["end"] = count, found.start[which], found.end[which]
                    handles["paragraphs"].write(precord.tobytes())
                    handles["paragraph_sigs"].write(psigs.tobytes())
                record = np.empty(len(hashes), SPAN_RECORD)
                record["hash"], record["doc"] = hashes, count
                spans.append(record)
                ids.write(json.dumps([doc.id, source, doc.metadata.get("file_path"), doc.metadata.get("line")],
                                     ensure_ascii=False) + "\n")
                count += 1
                if len(sigs) >= _FLUSH:
                    flush()
            flush()
        finally:
            for handle in (*handles.values(), ids):
                handle.close()
        np.save(self.work / "spans" / f"{name}.offsets.npy", np.array(span_offsets, dtype=np.int64))
        self._sort_bands(name, paths, count)

    def _sort_bands(self, name: str, paths: dict[str, Path], count: int) -> None:
        """Per band, (key, doc) sorted by key: the bucket pass merges these across tasks."""
        lsh = self.config.lsh
        docs = np.fromfile(paths["docs"], dtype=DOC_RECORD)
        keys = np.fromfile(paths["bands"], dtype=np.uint64).reshape(count, lsh.bands)
        signed = np.flatnonzero(docs["has_signature"])
        columns = {f"{b:03d}": keys[signed, b] for b in range(lsh.bands)}
        columns["exact"] = docs["text_hash"]
        for band, column in columns.items():
            doc_numbers = signed if band != "exact" else np.arange(count)
            record = np.empty(len(column), BAND_RECORD)
            record["key"], record["doc"] = column, doc_numbers
            record.sort(order=("key", "doc"))
            (self.work / "bands" / band).mkdir(parents=True, exist_ok=True)
            np.save(self.work / "bands" / band / f"{name}.npy", record)
        spans = np.fromfile(paths["spans"], dtype=SPAN_RECORD)
        np.save(self.work / "spans" / f"{name}.npy", spans)
        paths["bands"].unlink()
        paths["spans"].unlink()


def load_docs(work: Path, rank: int) -> np.ndarray:
    return np.fromfile(Path(work) / "docs" / f"{rank:05d}.bin", dtype=DOC_RECORD)


def load_signatures(work: Path, rank: int, slots: int) -> np.ndarray:
    path = Path(work) / "signatures" / f"{rank:05d}.bin"
    if path.stat().st_size == 0:
        return np.zeros((0, slots), np.uint32)
    return np.memmap(path, dtype=np.uint32, mode="r").reshape(-1, slots)
