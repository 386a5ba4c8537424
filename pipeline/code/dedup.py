"""Exact and near-duplicate code files, marked (never removed) so that every stage balances.

Exact duplicates share the sha256 of their UTF-8 text. The first by (repo, path) is kept
and the others are marked ``exact_duplicate_of:<id>``:

- within one task, ``ExactDedup()`` streams: ``CodeTreeReader`` yields a task's files in
  (repo, path) order, so the first seen is the one to keep. A stream out of that order is
  an error rather than a keeper that depends on the order;
- across tasks, run two pipelines over the same input: the first ends with
  ``ExactHashRecorder(folder)`` (any number of tasks), the second has
  ``ExactDedup(hashes=folder)``, which reads every task's (sha256, id) records (some 100
  bytes per file), keeps the least (repo, path) per hash, and needs no order.

Near duplicates are found by datatrove's stock MinHash stages on word 5-grams of
datatrove's normalised text (lower case, punctuation and digits folded), with LSH bands
set for Jaccard 0.85; ``near_dedup_pipelines`` builds the four stages for an executor.
Three small pieces are ours: stage 1 signs unsettled documents only (a dropped copy must
not cost a kept file its place); stage 3 always leaves its output folder; and stage 4
marks ``near_duplicate`` where datatrove's ``MinhashDedupFilter`` removes documents from
the stream (its ``exclusion_writer`` copies them to another writer, with no reason and
outside the accounting writer's balance).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.dedup.minhash import (
    MinhashConfig,
    MinhashDedupBuckets,
    MinhashDedupCluster,
    MinhashDedupSignature,
)
from datatrove.utils.word_tokenizers import WordTokenizer

from glassworks.pipeline.documents import AccountingWriter, is_settled, mark_dropped
from glassworks.pipeline.readers import JsonlDocumentReader


def content_hash(doc: Document) -> str:
    return hashlib.sha256(doc.text.encode("utf-8")).hexdigest()


def order_key(doc_id: str) -> tuple[str, ...]:
    """(repo, path parts): the order in which CodeTreeReader yields files (ids are repo/path)."""
    return tuple(doc_id.split("/"))


class ExactHashRecorder(PipelineStep):
    """First of the cross-task exact dedup: write each task's (sha256, id) records; pass documents on.

    Give each run a fresh folder: records left by an earlier run would name keepers that
    are not in this one.
    """

    name = "#️⃣ exact hashes"
    type = "🫂 - DEDUP"

    def __init__(self, folder: str | Path):
        super().__init__()
        self.folder = Path(folder)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / f"{rank:05d}.jsonl", "w", encoding="utf-8") as out:
            for doc in data:
                if not is_settled(doc):
                    out.write(json.dumps([content_hash(doc), doc.id], ensure_ascii=False) + "\n")
                    self.stat_update("recorded")
                yield doc


def load_keepers(folder: Path) -> dict[str, str]:
    """sha256 -> id of the file to keep (least by order_key), over all recorded tasks."""
    files = sorted(folder.glob("*.jsonl"))
    if not files:
        raise FileNotFoundError(f"{folder}: no exact-hash records; run ExactHashRecorder first")
    keepers: dict[str, str] = {}
    for file in files:
        with open(file, encoding="utf-8") as records:
            for number, line in enumerate(records, 1):
                try:
                    digest, doc_id = json.loads(line)
                except ValueError as exc:
                    raise ValueError(f"{file}:{number}: not a [sha256, id] record ({exc})") from exc
                if digest not in keepers or order_key(doc_id) < order_key(keepers[digest]):
                    keepers[digest] = doc_id
    return keepers


class ExactDedup(PipelineStep):
    """Mark files whose content repeats a file earlier in (repo, path) order as ``exact_duplicate_of:<id>``.

    Without ``hashes`` it works within the task, on a stream in (repo, path) order; with
    the folder ``ExactHashRecorder`` wrote, across all tasks that recorded there.
    """

    name = "🫂 exact dedup"
    type = "🫂 - DEDUP"

    def __init__(self, hashes: str | Path | None = None):
        super().__init__()
        self.hashes = Path(hashes) if hashes is not None else None

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        keepers = load_keepers(self.hashes) if self.hashes else {}
        previous = None
        for doc in data:
            if is_settled(doc):
                yield doc
                continue
            self.stat_update("total")
            digest = content_hash(doc)
            if self.hashes is None:
                if previous is not None and order_key(doc.id) < order_key(previous):
                    raise ValueError(f"ExactDedup: {doc.id} came after {previous}; a task's stream must be in "
                                     "(repo, path) order, or use ExactHashRecorder and ExactDedup(hashes=...)")
                previous = doc.id
                keepers.setdefault(digest, doc.id)
            keeper = keepers.get(digest, doc.id)
            if keeper != doc.id:
                mark_dropped(doc, f"exact_duplicate_of:{keeper}")
                self.stat_update("dropped/exact_duplicate")
            yield doc


@dataclass(frozen=True)
class NearDedupConfig:
    n_grams: int = 5
    """Words per shingle."""
    num_buckets: int = 20
    """LSH bands; the buckets stage runs a multiple of this many tasks."""
    hashes_per_bucket: int = 13
    """Hashes per band. A pair is found with p = 1 - (1 - J**13)**20: 0.92 at Jaccard 0.85,
    over 0.999 at 0.95, 0.68 at 0.8, 0.18 at 0.7 (LSH has no hard edge; datatrove does not
    recompute the Jaccard of a found pair)."""
    seed: int = 1
    """Seed of the hash permutations; the same for every stage and run."""

    def minhash(self) -> MinhashConfig:
        return MinhashConfig(n_grams=self.n_grams, num_buckets=self.num_buckets,
                             hashes_per_bucket=self.hashes_per_bucket, seed=self.seed)

    def detection_probability(self, jaccard: float) -> float:
        return 1 - (1 - jaccard**self.hashes_per_bucket) ** self.num_buckets


class CodeWordTokenizer(WordTokenizer):
    """Words of code for shingles: whatever whitespace separates once datatrove's
    normalisation has turned punctuation into spaces (no spaCy model, unlike English)."""

    def __init__(self):
        super().__init__("code")

    def word_tokenize(self, text: str) -> list[str]:
        return text.split()

    def sent_tokenize(self, text: str) -> list[str]:  # the interface asks for it; MinHash never calls it
        return text.splitlines()

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:  # likewise
        return [(0, len(text))]


class UnsettledMinhashSignature(MinhashDedupSignature):
    """Stage 1: datatrove's signatures of the unsettled documents only, numbered as
    ``NearDuplicateMarker`` counts them."""

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1):
        return super().run((doc for doc in data if not is_settled(doc)), rank, world_size)


class MinhashClusters(MinhashDedupCluster):
    """Stage 3: datatrove's clustering, leaving its output folder even when nothing is to be
    removed, so that stage 4 can tell "no near duplicates" from "stage 3 never ran"."""

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1):
        super().run(data, rank, world_size)
        self.output_folder.makedirs("", exist_ok=True)


class NearDuplicateMarker(PipelineStep):
    """Stage 4: mark what MinHash clustering removes as ``near_duplicate``; pass the rest.

    Reads stage 3's ``<rank:06d>.remove`` (little-endian uint32 indices of the task's
    unsettled documents); a task with no such file had no near duplicates.
    """

    name = "🎯 near-duplicate marker"
    type = "🫂 - DEDUP"

    def __init__(self, remove_folder: str | Path):
        super().__init__()
        self.remove_folder = Path(remove_folder)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if not self.remove_folder.is_dir():
            raise FileNotFoundError(f"{self.remove_folder}: no MinHash cluster output; run the clusters stage first")
        removals = self.remove_folder / f"{rank:06d}.remove"
        remove = set(np.fromfile(removals, dtype="<u4").tolist()) if removals.exists() else set()
        index = 0
        for doc in data:
            if not is_settled(doc):
                if index in remove:
                    mark_dropped(doc, "near_duplicate")
                    self.stat_update("dropped/near_duplicate")
                index += 1
            yield doc


def near_dedup_pipelines(input_folder: str | Path, work_folder: str | Path, output_folder: str | Path,
                         name: str = "code", config: NearDedupConfig = NearDedupConfig()) -> dict[str, list]:
    """The four MinHash stages, in order, as pipelines for executors.

    ``input_folder`` holds JSONL(.gz) documents (an accounting writer's output: settled
    ones pass through); results go to ``AccountingWriter(output_folder, name)``. Tasks:
    ``signatures`` and ``filter`` the same number (each task must read the same files
    in both); ``buckets`` a multiple of ``config.num_buckets``; ``clusters`` exactly 1.
    """
    work, minhash = Path(work_folder), config.minhash()

    def reader() -> JsonlDocumentReader:
        return JsonlDocumentReader(str(input_folder), glob_pattern="**/*.jsonl*", trust_marks=True)

    return {
        "signatures": [reader(), UnsettledMinhashSignature(str(work / "signatures"), config=minhash,
                                                           language=CodeWordTokenizer())],
        "buckets": [MinhashDedupBuckets(str(work / "signatures"), str(work / "buckets"), config=minhash)],
        "clusters": [MinhashClusters(str(work / "buckets"), str(work / "remove"), config=minhash)],
        "filter": [reader(), NearDuplicateMarker(work / "remove"), AccountingWriter(output_folder, name)],
    }
