"""Reading many sources as one corpus, and writing what dedup kept and removed, per source.

Global dedup compares every document with every other, whatever source it came from, so
one reader spreads the files of all sources over the tasks; each document carries its
source name in ``metadata.dedup.source`` from then on. The writer sends each document
through one door (``kept/``, ``removed/`` or ``quarantine/``, then its source) and counts
it, in the same stats names as the recipes' ``AccountingWriter``, so the stage balances.
"""

from __future__ import annotations

from pathlib import Path

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from glassworks.pipeline.documents import DROP, QUARANTINE, GzipJsonl, document_json
from glassworks.pipeline.readers import JsonlDocumentReader

SKIPPED_FOLDERS = frozenset({"dropped", "quarantine", "quarantined"})  # an upstream stage's side doors
PATTERNS = ("*.jsonl", "*.jsonl.gz")  # what the command line looks for in IN_DIR itself


def source_files(folder: Path) -> list[str]:
    """JSONL(.gz) files under ``folder``, relative and sorted, outside dropped/quarantine folders.

    Any other file there (hidden ones aside) is an error rather than silently left out.
    """
    from glassworks.errors import GlassworksError

    found = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if not path.is_file() or SKIPPED_FOLDERS & set(rel.parts[:-1]) or any(p.startswith(".") for p in rel.parts):
            continue
        if not path.name.endswith((".jsonl", ".jsonl.gz")):
            raise GlassworksError(f"{path}: not a .jsonl or .jsonl.gz file; dedup reads JSONL documents only "
                                  "(move it out of the input folder, or convert it)")
        found.append(rel.as_posix())
    return found


def task_files(sources: dict[str, Path], rank: int, world_size: int) -> list[tuple[str, str]]:
    """(source, file) pairs of one task: every world_size-th file of the sorted list of all sources."""
    every = [(name, rel) for name in sorted(sources) for rel in source_files(Path(sources[name]))]
    return every[rank::world_size]


# dedup writes at gzip level 1: level 6 cost its writer 1.3 s of 3.8 s on 47 MB (level 1: 0.37 s,
# files 23% larger; still deterministic, mtime 0)
WRITE_LEVEL = 1


def source_of(doc: Document) -> str:
    return doc.metadata["dedup"]["source"]


class SourcesReader(PipelineStep):
    """One document per JSONL line of every source (glassworks' accounted JSONL reader);
    the same task reads the same files in every pass, which the passes rely on."""

    name = "📚 sources (accounted)"
    type = "📖 - READER"

    def __init__(self, sources: dict[str, str | Path]):
        super().__init__()
        self.sources = {name: Path(folder) for name, folder in sources.items()}

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        readers = {}
        for source, rel in task_files(self.sources, rank, world_size):
            if source not in readers:
                readers[source] = JsonlDocumentReader(str(self.sources[source]))
            self.stat_update("files")
            for doc in readers[source].read_file(rel):
                doc.metadata["dedup"] = {"source": source}
                self.stat_update("documents")
                yield doc


class DedupWriter(PipelineStep):
    """Write each document to ``<out>/{kept,removed,quarantine}/<source>/<rank>.jsonl.gz`` and count
    it, in total (``in``, ``kept``, ``dropped/<reason>``, ``quarantined``) and per source."""

    name = "📒 accounting writer (dedup)"
    type = "✍️ - WRITER"

    def __init__(self, output_dir: str | Path):
        super().__init__()
        self.output_dir = Path(output_dir)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        import os

        kill_after = os.environ.get("GLASSWORKS_DEDUP_KILL_AT", "")  # fault injection for the resume tests
        kill_after = int(kill_after[6:]) if kill_after.startswith("write:") else -1
        written = 0
        files: dict[tuple[str, str], _FastGzipJsonl] = {}
        try:
            for doc in data:
                source = source_of(doc)
                if QUARANTINE in doc.metadata:
                    door, counters = "quarantine", ["quarantined"]
                elif DROP in doc.metadata:
                    door, counters = "removed", [f"dropped/{doc.metadata[DROP]}"]
                else:
                    door, counters = "kept", ["kept"]
                    self.update_doc_stats(doc)
                    spans = doc.metadata["dedup"].get("spans_removed", 0)
                    if spans:
                        self.stat_update(f"source/{source}/spans_removed", value=spans)
                    near = doc.metadata["dedup"].get("near_duplicate_paragraphs", 0)
                    if near:
                        self.stat_update(f"source/{source}/near_duplicate_paragraphs", value=near)
                for counter in ("in", *counters):
                    self.stat_update(counter)
                    self.stat_update(f"source/{source}/{counter}")
                key = (door, source)
                if key not in files:
                    files[key] = GzipJsonl(self.output_dir / door / key[1] / f"{rank:05d}.jsonl.gz", WRITE_LEVEL)
                files[key].write(document_json(doc))
                written += 1
                if written == kill_after:  # a real kill mid-write: partial files stay behind
                    import signal

                    os.kill(os.getpid(), signal.SIGKILL)
                yield doc
        finally:
            for handle in files.values():
                handle.close()
