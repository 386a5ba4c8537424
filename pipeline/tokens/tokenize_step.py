"""The task side of ``data.tokenize``: one datatrove step that tokenizes whole input files.

The unit of work is one input file of one source. A task takes every ``world_size``-th unit
(from ``rank``), and each unit writes the same files whatever task runs it, so the pool is
byte-identical for any number of tasks and on any executor (local, Ray, Slurm):

    <out>/<source>/shards/<unit>-<part>.npy     token ids, documents back to back, at most
                                                 ``shard_tokens`` ids (a longer document alone)
    <work>/<source>/<unit>.documents.npy        DOC records, offsets from the unit's first id
    <work>/<source>/<unit>.ids.jsonl.gz         each document's id and key, one gzip member
    <work>/<source>/<unit>.bad.jsonl            the unreadable records, for the quarantine
    <work>/<source>/<unit>.json                 counts and shards; written last: the unit is done

pool.py assembles these into the pool a phase opens. datatrove's own DocumentTokenizer does
not serve here: it encodes with a Hugging Face ``tokenizers`` object (the ids must be those of
Tokenizer.encode_chunks) and keeps no weights or id hashes, which the draws need.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
from array import array
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from datatrove.pipeline.base import PipelineStep

from glassworks.pipeline.tokens.sources import Bad, CorpusConfig, Skip, SourceFiles, read_source
from glassworks.pipeline.tokens.tokenizer import clean_text
from glassworks.provenance.atomic import atomic_open, atomic_write_json

SHARD_TOKENS = 1 << 28  # ids per token shard: 512 MiB at uint16, 1 GiB at uint32
DOC = np.dtype([("offset", "<i8"), ("length", "<i8"), ("weight", "<f8"), ("id", "<u8")])


@dataclass(frozen=True)
class Unit:
    """One input file of one source; ``number`` is its place in the source's reading order."""

    source: str
    number: int
    folder_index: int
    path: Path

    @property
    def stem(self) -> str:
        return f"{self.number:06d}"


def id_hash(doc_id: str) -> int:
    """The 64-bit identity of a document: the same id gives the same draws in any pool."""
    import xxhash

    return xxhash.xxh3_64_intdigest(doc_id.encode("utf-8", "surrogatepass"))


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


def tokenize_unit(unit: Unit, corpus: CorpusConfig, excluded: frozenset[str], encoder, dtype: np.dtype,
                  out: Path, work: Path, shard_tokens: int = SHARD_TOKENS) -> dict:
    """Tokenize one input file into its shards and index; returns (and writes last) its summary."""
    shards_dir, work_dir = out / unit.source / "shards", work / unit.source
    shards_dir.mkdir(parents=True, exist_ok=True)
    work_dir.mkdir(parents=True, exist_ok=True)
    files = SourceFiles(unit.source, [(unit.folder_index, unit.path)], excluded)
    summary = {"source": unit.source, "file": unit.path.name, "in": 0, "kept": 0, "dropped": {},
               "quarantined": 0, "texts_repaired": 0, "tokens": 0, "shards": []}
    offsets, lengths, weights, hashes = array("q"), array("q"), array("d"), array("Q")
    shard: _NpyAppender | None = None
    bad_out = open(work_dir / f".{unit.stem}.bad.jsonl.tmp", "w", encoding="utf-8")
    ids_file = open(work_dir / f".{unit.stem}.ids.jsonl.gz.tmp", "wb")
    ids_out = gzip.GzipFile(fileobj=ids_file, mode="wb", mtime=0, filename="")

    def usable():
        for record in read_source(corpus, files):
            summary["in"] += 1
            if isinstance(record, Bad):
                summary["quarantined"] += 1
                bad_out.write(json.dumps(record.__dict__, sort_keys=True, ensure_ascii=True) + "\n")
            elif isinstance(record, Skip):
                summary["dropped"][record.reason] = summary["dropped"].get(record.reason, 0) + 1
            else:
                text, n = clean_text(record.text)
                summary["texts_repaired"] += n > 0
                yield record, text

    def close_shard():
        shard.close()
        summary["shards"].append({"file": shard.path.name, "tokens": shard.count,
                                  "documents": len(offsets) - sum(s["documents"] for s in summary["shards"])})

    for doc, ids in encoder.run(usable()):
        if shard is not None and shard.count and shard.count + len(ids) > shard_tokens:
            close_shard()
            shard = None
        if shard is None:
            shard = _NpyAppender(shards_dir / f"{unit.stem}-{len(summary['shards']):04d}.npy", dtype)
        offsets.append(summary["tokens"])
        lengths.append(len(ids))
        weights.append(doc.weight)
        hashes.append(id_hash(doc.id))
        shard.append(ids)
        summary["tokens"] += len(ids)
        line = json.dumps({"id": doc.id, "key": doc.key}, sort_keys=True, ensure_ascii=True)
        ids_out.write(line.encode("ascii") + b"\n")
    if shard is not None:
        close_shard()
    summary["kept"] = len(offsets)
    ids_out.close()
    ids_file.close()
    bad_out.close()
    os.replace(work_dir / f".{unit.stem}.ids.jsonl.gz.tmp", work_dir / f"{unit.stem}.ids.jsonl.gz")
    os.replace(work_dir / f".{unit.stem}.bad.jsonl.tmp", work_dir / f"{unit.stem}.bad.jsonl")
    documents = np.zeros(len(offsets), dtype=DOC)
    documents["offset"], documents["length"], documents["weight"] = offsets, lengths, weights
    documents["id"] = hashes
    with atomic_open(work_dir / f"{unit.stem}.documents.npy", "wb") as handle:
        np.save(handle, documents, allow_pickle=False)
    atomic_write_json(work_dir / f"{unit.stem}.json", summary)
    return summary


class TokenizeStep(PipelineStep):
    """datatrove step: the units ``rank, rank + world_size, ...`` of the planned list."""

    name = "🔢 glassworks tokenize"
    type = "🔢 - TOKENIZER"

    def __init__(self, units: list[Unit], corpus: CorpusConfig, run_dir: Path, tokenizer_dir: Path, out: Path,
                 work: Path, shard_tokens: int = SHARD_TOKENS):
        super().__init__()
        self.units, self.corpus, self.run_dir, self.tokenizer_dir = units, corpus, run_dir, tokenizer_dir
        self.out, self.work, self.shard_tokens = out, work, shard_tokens

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        from glassworks.pipeline.tokens.pool import Encoder
        from glassworks.pipeline.tokens.sources import excluded_ids
        from glassworks.pipeline.tokens.tokenizer import Tokenizer

        if data:
            yield from data
        dtype = Tokenizer.load(self.tokenizer_dir).dtype
        encoder = Encoder(self.tokenizer_dir)
        excluded = excluded_ids(self.corpus, self.run_dir)[0]
        for unit in self.units[rank::world_size]:
            with self.track_time():
                summary = tokenize_unit(unit, self.corpus, excluded, encoder, dtype, self.out, self.work, self.shard_tokens)
            self.stat_update("files")
            self.stat_update("documents", value=summary["kept"])
            self.stat_update("tokens", value=summary["tokens"])
