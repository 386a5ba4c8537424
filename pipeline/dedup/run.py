"""The dedup stage: six datatrove passes over all sources at once, recorded as one stage.

    signatures (tasks) -> buckets (bucket_tasks) -> clusters (1) -> paragraphs (1)
        -> span counts (bucket_tasks) -> filter (tasks)

``dedup_pipelines`` builds the passes for any datatrove executor (run them in this order,
each after the previous one finished: Slurm's ``depends=``, or one after the other);
``run_dedup`` runs them locally or on Ray and records the ``dedup`` manifest. The passes'
scratch files live in ``RUN/logs/dedup/`` beside their task logs (not part of the record).

Resume: ``RUN/logs/dedup/state.json`` names the config, code and input files of a run in
progress. A run that finds the same state keeps what the killed one finished: passes whose
every task left datatrove's completion marker are skipped, and datatrove reruns only the
unfinished tasks of the others (a task writes its files whole each time, so a rerun
overwrites a killed task's partial files). The record (summary, manifest) is written
atomically at the end. Any other state starts afresh.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
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
KILL_AT = "GLASSWORKS_DEDUP_KILL_AT"  # fault injection, for the resume tests only
_SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def dedup_pipelines(config: DedupConfig, sources: dict[str, Path], work: Path, out_dir: Path) -> dict[str, tuple[list, int]]:
    """Pass name -> (pipeline, tasks), in the order they must run."""
    from glassworks.pipeline.dedup.buckets import DedupBuckets
    from glassworks.pipeline.dedup.clusters import DedupClusters
    from glassworks.pipeline.dedup.files import DedupWriter, SourcesReader
    from glassworks.pipeline.dedup.filter import DedupFilter
    from glassworks.pipeline.dedup.paragraphs import DedupParagraphs
    from glassworks.pipeline.dedup.signatures import DedupSignatures
    from glassworks.pipeline.dedup.spans import SpanCounts

    tasks = config.executor.tasks
    passes = {
        "signatures": ([SourcesReader(sources), DedupSignatures(work, config)], tasks),
        "buckets": ([DedupBuckets(work, config.lsh, tasks)], config.bucket_tasks),
        "clusters": ([DedupClusters(work, tasks, config, sources)], 1),
        "paragraphs": ([DedupParagraphs(work, config, tasks)], 1),
        "span_counts": ([SpanCounts(work, tasks)], config.bucket_tasks),
        "filter": ([SourcesReader(sources), DedupFilter(work, config, out_dir), DedupWriter(out_dir)], tasks),
    }
    if not config.paragraphs.enabled:
        del passes["paragraphs"]
    return passes


def _stop_here(point: str) -> None:
    """Fault injection for the resume tests: SIGKILL this process when ``GLASSWORKS_DEDUP_KILL_AT``
    names ``point`` (a pass name: after that pass; ``recorded``: after the manifest)."""
    if os.environ.get(KILL_AT) == point:
        os.kill(os.getpid(), signal.SIGKILL)


def _run_state(config: DedupConfig, inputs: dict[str, Path], out_dir: Path) -> dict:
    """What a resumed run must share with the run it resumes: config, code, and every input
    file with its size and modification time."""
    from glassworks.pipeline.dedup.files import source_files
    from glassworks.provenance.identity import code_identity

    code = code_identity()
    code.pop("git_dirty", None)
    files = [[name, rel, (folder / rel).stat().st_size, (folder / rel).stat().st_mtime_ns]
             for name, folder in inputs.items() for rel in source_files(folder)]
    return {"config": config.recorded(), "code": code, "out_dir": str(out_dir),
            "sources": {name: str(folder) for name, folder in inputs.items()}, "files": files}


def _resume_or_start(state: dict, state_path: Path, work: Path, logs: Path, out_dir: Path) -> bool:
    """Keep the scratch, task logs and outputs of an unfinished run of the same state (True),
    or clear them and start afresh (False). The state file is removed before clearing and
    written after, so a kill in between leads to a fresh start, never to a mixed one."""
    try:
        if json.loads(state_path.read_text(encoding="utf-8")) == json.loads(json.dumps(state)):
            return True
    except (OSError, ValueError):
        pass
    state_path.unlink(missing_ok=True)
    for path in (work, logs, *(out_dir / name for name in OUTPUTS)):
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    atomic_write_text(state_path, json.dumps(state, sort_keys=True, indent=1) + "\n")
    return False


def _pass_done(logs: Path, tasks: int) -> bool:
    """Whether every task of a pass left datatrove's completion marker."""
    return all((logs / "completions" / f"{rank:05d}").is_file() for rank in range(tasks))


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
    state_path = run_dir / "logs" / STAGE / "state.json"
    _resume_or_start(_run_state(config, inputs, out_dir), state_path, work, logs, out_dir)

    with record_stage(run_dir, STAGE, VERSION, recorded, roots=_roots(inputs, run_dir), unit="documents") as rec:
        for name, folder in inputs.items():
            for rel in source_files(folder):
                rec.input(folder / rel)
        seconds, cpu = {}, {}
        for name, (pipeline, tasks) in dedup_pipelines(config, inputs, work, out_dir).items():
            started, started_cpu = time.perf_counter(), time.process_time()
            reused = _pass_done(logs / name, tasks)
            if not reused:  # a resumed pass: datatrove skips the tasks that finished before
                executor = make_executor(replace(config.executor, tasks=tasks), pipeline, logs / name,
                                         job_name=f"{STAGE}.{name}")
                run_quietly(executor, logs / name, f"{STAGE}.{name}")
            seconds[name] = round(time.perf_counter() - started, 3)
            cpu[name] = round(time.process_time() - started_cpu, 3)  # this process only: forked workers not counted
            if progress is not None:
                progress(name, reused)
            _stop_here(name)
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
    _stop_here("recorded")
    summary["manifest"] = rec.manifest_id
    summary["pass_seconds"], summary["pass_cpu_seconds"] = seconds, cpu  # not in summary.json: same run, same bytes
    summary["histogram"] = str(weight_histogram(weights, config.weights.cap, run_dir / "reports" / "dedup-weights.png"))
    state_path.unlink(missing_ok=True)  # finished: the same command runs afresh next time
    return summary
