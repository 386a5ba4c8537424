"""Pass 6 of 6 (filter): each document learns its cluster, loses boilerplate and gets its weight.

It reads the same files as the signature pass, in the same order, so the i-th unsettled
document of a task is the i-th of that task's cluster assignment. Every document of a
cluster gets ``metadata.dedup`` = {source, cluster, cluster_size}; a removed one is
marked ``exact_duplicate`` or ``near_duplicate`` with the id and source of the kept
document; a kept one also gets ``duplicate_fraction``, ``weight`` and ``spans_removed``,
and its text loses the sentences and paragraphs found in more than ``max_frequency``
kept documents. Those spans are written to ``<out>/spans/<source>/`` with their document,
cluster and frequency; a document that was nothing but such spans is removed as
``boilerplate``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from glassworks.pipeline.dedup.clusters import load_assignment, load_removed
from glassworks.pipeline.dedup.config import DedupConfig
from glassworks.pipeline.dedup.files import source_of
from glassworks.pipeline.dedup.paragraphs import load_firsts, load_groups
from glassworks.pipeline.dedup.signatures import quality_score
from glassworks.pipeline.dedup.spans import SPAN_CACHE, Spans, SpanTable, analyse
from glassworks.pipeline.dedup.weights import sampling_weight
from glassworks.pipeline.documents import GzipJsonl, is_settled, mark_dropped


class DedupFilter(PipelineStep):
    """Pass 5: mark removed documents, cut boilerplate spans, attach cluster facts and weights."""

    name = "⚖️ dedup filter"
    type = "🫂 - DEDUP"

    def __init__(self, work: str | Path, config: DedupConfig, output_dir: str | Path):
        super().__init__()
        self.work = Path(work)
        self.config = config
        self.output_dir = Path(output_dir)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        assignment = load_assignment(self.work, rank)
        removed_from = load_removed(self.work, rank)
        table = SpanTable(self.work / "counts")
        self._cache = self._offsets = self._groups = None
        if self.config.paragraphs.enabled:
            self._groups = load_groups(self.work, rank)
            self._firsts = load_firsts(self.work)
        if self.config.spans.enabled:
            cache = self.work / "spans" / f"{rank:05d}.cache.bin"
            self._offsets = np.load(self.work / "spans" / f"{rank:05d}.offsets.npy")
            self._cache = np.memmap(cache, dtype=SPAN_CACHE, mode="r") if cache.stat().st_size else np.zeros(0, SPAN_CACHE)
        span_files: dict[str, GzipJsonl] = {}
        summary = {"source": [], "weight": [], "duplicate_fraction": [], "cluster_size": []}
        number = 0
        try:
            for doc in data:
                if is_settled(doc):
                    yield doc
                    continue
                if number >= len(assignment):
                    raise ValueError(f"task {rank}: more documents than the signature pass saw; "
                                     "did the input change between passes?")
                facts = assignment[number]
                meta = doc.metadata["dedup"]
                meta.update(cluster=f"{int(facts['cluster']):016x}", cluster_size=int(facts["size"]))
                if not facts["kept"]:
                    kept_id, kept_source = removed_from[number]
                    meta.update(kept_id=kept_id, kept_source=kept_source)
                    mark_dropped(doc, "exact_duplicate" if facts["exact"] else "near_duplicate")
                else:
                    self._keep(doc, meta, table, span_files, rank, number)
                    if "drop_reason" not in doc.metadata:
                        for key, value in (("source", meta["source"]), ("weight", meta["weight"]),
                                           ("duplicate_fraction", meta["duplicate_fraction"]),
                                           ("cluster_size", meta["cluster_size"])):
                            summary[key].append(value)
                number += 1
                yield doc
            if number != len(assignment):
                raise ValueError(f"task {rank}: {number} documents, but the signature pass saw {len(assignment)}; "
                                 "did the input change between passes?")
        finally:
            for handle in span_files.values():
                handle.close()
        (self.work / "weights").mkdir(parents=True, exist_ok=True)
        np.savez(self.work / "weights" / f"{rank:05d}.npz", source=np.array(summary["source"], dtype=str),
                 weight=np.array(summary["weight"], dtype=np.float64),
                 duplicate_fraction=np.array(summary["duplicate_fraction"], dtype=np.float64),
                 cluster_size=np.array(summary["cluster_size"], dtype=np.int64))

    def _keep(self, doc, meta: dict, table: SpanTable, span_files: dict, rank: int, number: int) -> None:
        near = None
        if self._groups is not None:
            lo, hi = np.searchsorted(self._groups["doc"], [number, number + 1])
            near = self._groups[lo:hi]
        if self.config.spans.enabled:
            found = Spans.of(self._cache[self._offsets[number]:self._offsets[number + 1]])
        else:
            found = Spans.of(np.zeros(0, SPAN_CACHE))
        if self.config.spans.enabled or (near is not None and len(near)):
            share, factor, text, found_spans = analyse(doc.text, table, self.config.spans, self.config.weights.alpha,
                                                       found, near, self.config.paragraphs.policy)
        else:
            share, factor, text, found_spans = 0.0, 1.0, doc.text, []
        cut = [span for span in found_spans if span.get("cut", True)]
        quality = quality_score(doc, self.config.weights.quality_key)
        meta.update(duplicate_fraction=round(share, 6), repetition_factor=round(factor, 6), spans_removed=len(cut),
                    weight=sampling_weight(meta["cluster_size"], factor, quality, self.config.weights))
        if self._groups is not None:
            meta["near_duplicate_paragraphs"] = sum(span["reason"] == "near_duplicate_paragraph" for span in found_spans)
        if not found_spans:
            return
        source = source_of(doc)
        if source not in span_files:
            span_files[source] = GzipJsonl(self.output_dir / "spans" / source / f"{rank:05d}.jsonl.gz")
        for span in found_spans:
            record = {"id": doc.id, "source": source, "cluster": meta["cluster"], **span}
            if "group" in span:
                record["first_id"], record["first_source"], record["first_start"] = self._firsts[span["group"]]
            span_files[source].write(json.dumps(record, sort_keys=True, ensure_ascii=False))
        doc.text = text
        if not text.strip():
            reason = "boilerplate" if all(span["reason"] == "frequent_span" for span in cut) else "duplicate_paragraphs"
            mark_dropped(doc, reason)
            self.stat_update(reason)
