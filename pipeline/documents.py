"""Documents that leave the pipeline by a side door, and the writer that accounts for all of them.

A step never silently discards input. A reader or filter that will not keep a document
marks it: ``mark_dropped(doc, reason)`` for a decision (not HTML, too short) or
``mark_quarantined(doc, reason)`` for input that could not be read as it should (bad JSON,
invalid UTF-8, a truncated archive). ``AccountingWriter`` closes every pipeline: kept
documents go to ``<out>/<name>/``, the others to ``<out>/dropped/<name>/`` and
``<out>/quarantine/<name>/`` with their reason, and each of its datatrove stats counts one
door, so ``in = kept + dropped + quarantined`` holds per task and in the merged stats.json.

Output files are gzip'd JSONL with a zero gzip timestamp and sorted keys: the same
documents give the same bytes.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

DROP = "drop_reason"
QUARANTINE = "quarantine_reason"


def mark_dropped(doc: Document, reason: str) -> Document:
    doc.metadata[DROP] = reason
    return doc


def mark_quarantined(doc: Document, reason: str) -> Document:
    doc.metadata[QUARANTINE] = reason
    return doc


def is_settled(doc: Document) -> bool:
    """True once a document has left by a side door: later steps pass it through untouched."""
    return DROP in doc.metadata or QUARANTINE in doc.metadata


def document_json(doc: Document) -> str:
    return json.dumps({"id": doc.id, "text": doc.text, "metadata": doc.metadata}, sort_keys=True, ensure_ascii=False)


class SourceLabel(PipelineStep):
    """Label every document with the recipe source it came from (``metadata.source``)."""

    name = "🏷 source label"
    type = "🏷 - TAGGER"

    def __init__(self, source: str):
        super().__init__()
        self.source = source

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            doc.metadata["source"] = self.source
            yield doc


class MarkingFilter(PipelineStep):
    """Run any datatrove ``BaseFilter`` so that what it rejects is marked, not discarded.

    Stock filters drop rejected documents from the stream (optionally copying them to an
    exclusion writer); wrapped here, a rejected document continues marked
    ``drop_reason = "<label>:<reason>"`` to the ``AccountingWriter``, which writes it with
    the others, so the stage balances. Settled documents are passed through unjudged.
    """

    type = "🔻 - FILTER"

    def __init__(self, inner, label: str | None = None):
        self.inner = inner
        self.label = label or type(inner).__name__
        self.name = f"{self.label} (marking)"  # before super().__init__: the stats are named from it
        super().__init__()

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            if is_settled(doc):
                yield doc
                continue
            self.stat_update("total")
            verdict = self.inner.filter(doc)
            keep, reason = (verdict, None) if isinstance(verdict, bool) else (verdict[0], verdict[1])
            if keep:
                self.stat_update("forwarded")
            else:
                reason = reason or "rejected"
                self.stat_update(f"dropped/{reason}")
                mark_dropped(doc, f"{self.label}:{reason}")
            yield doc


def add_writer_counts(counts, writer: dict) -> None:
    """Add an AccountingWriter's counters (``in``, ``kept``, ``dropped/<reason>``,
    ``quarantined``, summed over tasks) to a stage recorder's ``Counts``."""
    counts.add_in(writer.get("in", 0))
    counts.keep(writer.get("kept", 0))
    counts.quarantine(writer.get("quarantined", 0))
    for key, value in writer.items():
        if key.startswith("dropped/"):
            counts.drop(key.removeprefix("dropped/"), value)


class GzipJsonl:
    """Lazily opened, deterministic gzip JSONL file (no file appears when nothing is written)."""

    def __init__(self, path: Path, compresslevel: int = 6):
        self.path, self.compresslevel = path, compresslevel
        self._raw = self._gz = None

    def write(self, line: str) -> None:
        if self._gz is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._raw = open(self.path, "wb")
            self._gz = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, mtime=0, compresslevel=self.compresslevel)
        self._gz.write(line.encode("utf-8") + b"\n")

    def close(self) -> None:
        if self._gz is not None:
            self._gz.close()
            self._raw.close()


class AccountingWriter(PipelineStep):
    """Write kept, dropped and quarantined documents apart; count each in the step's stats."""

    name = "📒 accounting writer"
    type = "✍️ - WRITER"

    def __init__(self, output_dir: str | Path, name: str):
        super().__init__()
        self.output_dir = Path(output_dir)
        self.shard_name = name

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        filename = f"{rank:05d}.jsonl.gz"
        doors = {
            "kept": GzipJsonl(self.output_dir / self.shard_name / filename),
            "dropped": GzipJsonl(self.output_dir / "dropped" / self.shard_name / filename),
            "quarantined": GzipJsonl(self.output_dir / "quarantine" / self.shard_name / filename),
        }
        try:
            for doc in data:
                self.stat_update("in")
                if QUARANTINE in doc.metadata:
                    door = "quarantined"
                elif DROP in doc.metadata:
                    door = "dropped"
                    self.stat_update(f"dropped/{doc.metadata[DROP]}")
                else:
                    door = "kept"
                    self.update_doc_stats(doc)
                self.stat_update(door)
                doors[door].write(document_json(doc))
                yield doc
        finally:
            for door in doors.values():
                door.close()
