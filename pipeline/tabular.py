"""Readers for tabular text: Parquet files and Hugging Face datasets saved on disk.

Rows become documents exactly as JSONL lines do (``document_from_record``): a string
``id`` and ``text``, the other columns as metadata; a row without them is quarantined
with its file and row number. A file that cannot be read at all (truncated, not Parquet,
not a saved dataset) is quarantined as one record naming the file and the error.
"""

from __future__ import annotations

from pathlib import Path

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.readers.base import BaseDiskReader

from glassworks.pipeline.documents import mark_quarantined
from glassworks.pipeline.readers import document_from_record


class ParquetDocumentReader(BaseDiskReader):
    """One document per Parquet row, read a row group at a time (bounded memory)."""

    name = "🗜 Parquet (accounted)"
    _requires_dependencies = ["pyarrow"]

    def read_file(self, filepath: str) -> DocumentsPipeline:
        import pyarrow
        import pyarrow.parquet as pq

        row = 0
        try:
            with self.data_folder.open(filepath, "rb") as handle:
                table = pq.ParquetFile(handle)
                for batch in table.iter_batches(batch_size=1024):
                    for record in batch.to_pylist():
                        yield document_from_record(record, f"{filepath}#{row}", {"file_path": filepath, "row": row})
                        row += 1
        except (pyarrow.ArrowException, OSError) as exc:
            yield mark_quarantined(
                Document(text="", id=f"{filepath}#{row}",
                         metadata={"file_path": filepath, "row": row, "error": f"{type(exc).__name__}: {exc}"}),
                "unreadable_parquet",
            )


def saved_datasets(root: Path) -> list[Path]:
    """Folders under ``root`` written by ``datasets.Dataset.save_to_disk``."""
    return sorted(p.parent for p in root.rglob("state.json") if (p.parent / "dataset_info.json").is_file())


class HfDiskDatasetReader(PipelineStep):
    """One document per row of every Hugging Face dataset saved on disk under ``root``.

    Datasets (not rows) are spread over tasks. Nothing is fetched: ``load_from_disk``
    memory-maps the Arrow files that ``save_to_disk`` wrote.
    """

    name = "🤗 dataset on disk (accounted)"
    type = "📖 - READER"
    _requires_dependencies = ["datasets"]

    def __init__(self, root: str | Path):
        super().__init__()
        self.root = Path(root)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        from datasets import load_from_disk

        if data:
            yield from data
        if not self.root.is_dir():
            return
        for folder in saved_datasets(self.root)[rank::world_size]:
            where = folder.relative_to(self.root).as_posix()
            try:
                dataset = load_from_disk(str(folder))
            except Exception as exc:  # datasets raises many types for a damaged folder
                self.stat_update("documents")  # counted like every document a reader yields
                yield mark_quarantined(Document(text="", id=where, metadata={"dataset_path": where,
                                                                             "error": f"{type(exc).__name__}: {exc}"}),
                                       "unreadable_dataset")
                continue
            self.stat_update("datasets")
            for row, record in enumerate(dataset):
                self.stat_update("documents")
                yield document_from_record(record, f"{where}#{row}", {"dataset_path": where, "row": row})
