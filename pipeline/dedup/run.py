"""The dedup stage: five datatrove passes over all sources at once, recorded as one stage.

    signatures (tasks) -> buckets (bucket_tasks) -> clusters (1) -> span counts (bucket_tasks) -> filter (tasks)

``dedup_pipelines`` builds the passes for any datatrove executor (run them in this order,
each after the previous one finished: Slurm's ``depends=``, or one after the other);
``run_dedup`` runs them locally or on Ray and records the ``dedup`` manifest. The passes'
scratch files live in ``RUN/logs/dedup/`` beside their task logs (not part of the record).
"""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import replace
from pathlib import Path

from glassworks.errors import GlassworksError
from glassworks.pipeline.dedup.config import DedupConfig
from glassworks.pipeline.executors import make_executor
from glassworks.provenance.atomic import atomic_write_text
from glassworks.provenance.recorder import record_stage, refuse_to_clobber

STAGE, VERSION = "dedup", "1"
OUTPUTS = ("kept", "removed", "quarantine", "spans", "summary.json")
_SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def dedup_pipelines(config: DedupConfig, sources: dict[str, Path], work: Path, out_dir: Path) -> dict[str, tuple[list, int]]:
    """Pass name -> (pipeline, tasks), in the order they must run."""
    from glassworks.pipeline.dedup.buckets import DedupBuckets
    from glassworks.pipeline.dedup.clusters import DedupClusters
    from glassworks.pipeline.dedup.files import DedupWriter, SourcesReader
    from glassworks.pipeline.dedup.filter import DedupFilter
    from glassworks.pipeline.dedup.signatures import DedupSignatures
    from glassworks.pipeline.dedup.spans import SpanCounts

    tasks = config.executor.tasks
    return {
        "signatures": ([SourcesReader(sources), DedupSignatures(work, config)], tasks),
        "buckets": ([DedupBuckets(work, config.lsh, tasks)], config.bucket_tasks),
        "clusters": ([DedupClusters(work, tasks)], 1),
        "span_counts": ([SpanCounts(work, tasks)], config.bucket_tasks),
        "filter": ([SourcesReader(sources), DedupFilter(work, config, out_dir), DedupWriter(out_dir)], tasks),
    }


def _check_inputs(inputs: dict[str, Path]) -> dict[str, Path]:
    if not inputs:
        raise GlassworksError("dedup: no input sources given")
    for name, folder in inputs.items():
        if not _SOURCE_NAME.match(name):
            raise GlassworksError(f"dedup: source name {name!r} must be letters, digits, '.', '_' or '-'")
        if not Path(folder).is_dir():
            raise GlassworksError(f"{folder}: input folder of source {name!r} does not exist")
    return {name: Path(folder).resolve() for name, folder in sorted(inputs.items())}


def _roots(inputs: dict[str, Path], run_dir: Path) -> dict[str, Path]:
    """An external root for each input outside the run directory (``input_<source>``)."""
    return {f"input_{re.sub(r'[^a-z0-9_]', '_', name.lower())}": folder
            for name, folder in inputs.items() if not folder.is_relative_to(run_dir)}


def run_dedup(config: DedupConfig, inputs: dict[str, Path], out_dir: Path, run_dir: Path, progress=None) -> dict:
    """Deduplicate all ``inputs`` (source name -> folder of JSONL(.gz), searched recursively
    except ``dropped/`` and ``quarantine/``) into ``out_dir``; record the stage in ``run_dir``.

    Returns the summary also written to ``out_dir/summary.json``: per source, documents
    in, kept, removed by reason, quarantined and weight figures; plus the manifest id, the
    histogram's path and each pass's seconds.
    """
    from glassworks.pipeline.dedup.files import source_files
    from glassworks.pipeline.dedup.weights import load_weights, summarise, weight_histogram
    from glassworks.pipeline.documents import add_writer_counts
    from glassworks.pipeline.ingest import run_quietly, writer_counts

    if config.executor.kind == "slurm":
        raise GlassworksError("dedup: run_dedup drives local and Ray executors; for Slurm submit "
                              "dedup_pipelines(...) in order with depends=")
    run_dir, out_dir = Path(run_dir).resolve(), Path(out_dir).resolve()
    inputs = _check_inputs(inputs)
    if not out_dir.is_relative_to(run_dir):
        raise GlassworksError(f"{out_dir}: the dedup output must lie inside the run directory {run_dir}")
    for name, folder in inputs.items():
        if folder.is_relative_to(out_dir) or out_dir.is_relative_to(folder):
            raise GlassworksError(f"{out_dir}: output and input of source {name!r} ({folder}) overlap")
    recorded = {"config": config.recorded(), "sources": sorted(inputs)}
    refuse_to_clobber(run_dir, STAGE, recorded)
    work, logs = run_dir / "logs" / STAGE / "work", run_dir / "logs" / STAGE / "tasks"
    for path in (work, logs, *(out_dir / name for name in OUTPUTS)):
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)

    with record_stage(run_dir, STAGE, VERSION, recorded, roots=_roots(inputs, run_dir), unit="documents") as rec:
        for name, folder in inputs.items():
            for rel in source_files(folder):
                rec.input(folder / rel)
        seconds, cpu = {}, {}
        for name, (pipeline, tasks) in dedup_pipelines(config, inputs, work, out_dir).items():
            started, started_cpu = time.perf_counter(), time.process_time()
            executor = make_executor(replace(config.executor, tasks=tasks), pipeline, logs / name,
                                     job_name=f"{STAGE}.{name}")
            run_quietly(executor, logs / name, f"{STAGE}.{name}")
            seconds[name] = round(time.perf_counter() - started, 3)
            cpu[name] = round(time.process_time() - started_cpu, 3)  # this process only: forked workers not counted
            if progress is not None:
                progress(name)
        counts = writer_counts(logs / "filter", config.executor.tasks)
        add_writer_counts(rec.counts, counts)
        for name in inputs:
            (out_dir / "kept" / name).mkdir(parents=True, exist_ok=True)  # an empty source is an empty input downstream
        weights = load_weights(work, config.executor.tasks)
        summary = {"stage": STAGE, "threshold": config.lsh.threshold,
                   "sources": summarise(weights, counts, list(inputs)),
                   "totals": rec.counts.as_json()}
        atomic_write_text(out_dir / "summary.json", json.dumps(summary, indent=2, sort_keys=True) + "\n")
        rec.output(out_dir / "summary.json")
        for name in OUTPUTS[:-1]:
            if (out_dir / name).is_dir():
                rec.output(out_dir / name)
    summary["manifest"] = rec.manifest_id
    summary["pass_seconds"], summary["pass_cpu_seconds"] = seconds, cpu  # not in summary.json: same run, same bytes
    summary["histogram"] = str(weight_histogram(weights, config.weights.cap, run_dir / "reports" / "dedup-weights.png"))
    return summary
