"""The `documents` stage: read the snapshotted raw inputs into JSONL documents, one shape at a time.

It reads ``RUN/raw/{web,text,code}`` with the accounted readers (WARC; JSONL, Parquet and
Hugging Face datasets saved on disk; code trees) and writes
``RUN/documents/<shape>/*.jsonl.gz`` (kept), ``RUN/documents/dropped/<shape>/`` and
``RUN/documents/quarantine/<shape>/`` through datatrove's local executor (files, or
repositories, spread over ``tasks``). Its counts come from the tasks' stats (datatrove's own
record of the run), and the recorder links the stage to the ``sources`` manifest that
produced the raw files. It always runs here: it is quick, and every recipe starts from it.

Published corpora (SlimPajama, DCLM, Dolma, The Stack, Common Crawl WARC/WET) are read by
the inputs the config declares (``documents.inputs``, see ``formats``). Every file under
``raw/`` must be taken by exactly one reader, or the run stops naming it (``unmatched:
skip`` lists it as skipped instead); ``RUN/inputs/documents.jsonl`` records per file what
it yielded and how reading ended (``inputs``).
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from glassworks.errors import GlassworksError
from glassworks.pipeline.formats import InputSpec
from glassworks.pipeline.inputs import claim_files, write_input_listing
from glassworks.pipeline.sources import raw_location
from glassworks.provenance.recorder import record_stage, refuse_to_clobber

STAGE, VERSION = "documents", "1"
SHAPES = ("web", "text", "code")


@dataclass(frozen=True)
class DocumentsConfig:
    """Where each raw shape lies inside the run, and how the executor spreads the work."""

    raw_dir: str = "raw"  # relative to the run directory; holds web/, text/ and code/
    tasks: int = 1  # datatrove tasks per shape: files (or repositories) are split over them
    workers: int = 1  # tasks run at once
    # Published shapes under raw/<shape>/ (see pipeline/formats.py); a shape named here is read
    # only by these inputs, the others by the built-in readers (WARC, JSONL with id and text,
    # Parquet, saved datasets, code trees).
    inputs: tuple[InputSpec, ...] = ()
    unmatched: Literal["fail", "skip"] = "fail"  # a raw file no reader takes: stop the run, or list it as skipped

    def __post_init__(self):
        if self.tasks < 1 or self.workers < 1:
            raise ValueError("tasks and workers must be at least 1")

    def recorded(self) -> dict:
        """What shapes the output bytes, for the manifest: not ``workers``, which does not.
        ``inputs`` and ``unmatched`` appear only when set, so older manifests keep their ids."""
        out = {"raw_dir": self.raw_dir, "tasks": self.tasks}
        if self.inputs:
            out["inputs"] = [spec.resolved() for spec in self.inputs]
        if self.unmatched != "fail":
            out["unmatched"] = self.unmatched
        return out


def _readers(raw: Path, inputs: tuple[InputSpec, ...] = ()) -> dict[str, list]:
    """The readers of each shape; chained readers each add their own files' documents."""
    from glassworks.pipeline.published import reader_for
    from glassworks.pipeline.readers import CodeTreeReader, JsonlDocumentReader, WarcHtmlReader
    from glassworks.pipeline.tabular import HfDiskDatasetReader, ParquetDocumentReader

    text = str(raw / "text")
    readers = {
        "web": [WarcHtmlReader(str(raw / "web"), glob_pattern="**/*.warc*")],
        "text": [JsonlDocumentReader(text, glob_pattern="**/*.jsonl*"),
                 ParquetDocumentReader(text, glob_pattern="**/*.parquet"),
                 HfDiskDatasetReader(raw / "text")],
        "code": [CodeTreeReader(raw / "code")],
    }
    declared: dict[str, list] = {}
    for spec in inputs:
        declared.setdefault(spec.shape, []).append(reader_for(str(raw / spec.shape), spec))
    return {**readers, **declared}


def _has_input(reader) -> bool:
    """datatrove's disk readers refuse an empty folder; a shape without files is simply empty."""
    from datatrove.pipeline.readers.base import BaseDiskReader

    if isinstance(reader, BaseDiskReader):
        return bool(reader.data_folder.list_files(glob_pattern=reader.glob_pattern, recursive=True))
    return True


def writer_counts(logs: Path, tasks: int) -> dict:
    """The accounting writer's counters summed over the per-task stats datatrove wrote.

    Read from ``logs/stats/<rank>.json`` rather than the merged ``stats.json``: a resumed
    run skips tasks that had finished, and only the per-task files are there for all of them.
    """
    total: dict[str, int] = {}
    for rank in range(tasks):
        path = logs / "stats" / f"{rank:05d}.json"
        try:
            steps = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise GlassworksError(f"{path}: cannot read the stats of task {rank} ({exc})") from None
        writer = [step for step in steps if "accounting writer" in step.get("name", "")]
        if not writer:
            raise GlassworksError(f"{path}: no accounting writer stats (did the pipeline run?)")
        counters = {key: value["total"] if isinstance(value, dict) else value for key, value in writer[0]["stats"].items()}
        _check_nothing_lost(path, steps, counters)
        for key, value in counters.items():
            total[key] = total.get(key, 0) + value
    return total


def _check_nothing_lost(path: Path, steps: list[dict], writer: dict) -> None:
    """Every document a task's readers yielded must reach its accounting writer: a step that
    discards documents instead of marking them would otherwise go unnoticed."""
    readers = [step for step in steps if "READER" in step.get("name", "")]
    if not readers:
        return
    read = 0
    for reader in readers:  # chained readers pass the documents before them on and count their own
        stat = reader["stats"].get("documents", 0)
        read += stat["total"] if isinstance(stat, dict) else stat
    if read != writer.get("in", 0):
        raise GlassworksError(f"{path}: the reader yielded {read} documents but the accounting writer saw "
                              f"{writer.get('in', 0)}: a step lost documents without marking them")


def run_quietly(executor, logs: Path, stage: str = STAGE) -> None:
    """Run a datatrove executor with its console chatter kept to its task logs."""
    chatter = io.StringIO()
    try:
        with contextlib.redirect_stderr(chatter):
            executor.run()
    except Exception as exc:
        tail = "\n".join(chatter.getvalue().splitlines()[-20:])
        raise GlassworksError(f"{stage}: the datatrove pipeline failed ({exc}); logs in {logs}\n{tail}") from exc


def run_documents(config: DocumentsConfig, run_dir: Path) -> tuple[dict, dict[str, dict]]:
    """Run the stage; returns its manifest and per-shape counts."""
    from datatrove.executor import LocalPipelineExecutor

    from glassworks.pipeline.documents import AccountingWriter, add_writer_counts

    where = raw_location(run_dir, config.raw_dir)  # the run's copy, or the data folder read in place
    raw = where.folder
    out = run_dir / "documents"
    for shape in SHAPES:
        if not (raw / shape).is_dir():
            raise GlassworksError(f"{raw / shape}: raw input folder missing (run the sources stage first)")
    refuse_to_clobber(run_dir, STAGE, config.recorded())
    shutil.rmtree(out, ignore_errors=True)
    per_shape = {}
    shapes = _readers(raw, config.inputs)
    listing = []
    for shape, readers in shapes.items():  # before any work: a file no reader takes stops the run here
        listing += claim_files(raw / shape, shape, readers, config.unmatched)
    with record_stage(run_dir, STAGE, VERSION, config.recorded(), roots=where.roots, unit="documents") as rec:
        if where.listing is not None:
            rec.input(where.listing)
        for shape, readers in shapes.items():
            readers = [r for r in readers if _has_input(r)]
            (out / shape).mkdir(parents=True, exist_ok=True)  # an empty shape is an empty input, not a missing one
            if not readers:
                continue
            rec.input(raw / shape)
            logs = run_dir / "logs" / STAGE / shape
            shutil.rmtree(logs, ignore_errors=True)
            executor = LocalPipelineExecutor(
                pipeline=[*readers, AccountingWriter(out, shape)],
                tasks=config.tasks, workers=config.workers, logging_dir=str(logs), skip_completed=False,
            )
            run_quietly(executor, logs)
            counts = writer_counts(logs, config.tasks)
            per_shape[shape] = counts
            add_writer_counts(rec.counts, counts)
        rec.output(out)
        rec.output(write_input_listing(run_dir, out, listing))
    return rec.manifest, per_shape
