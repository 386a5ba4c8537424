"""Corpus recipes: a YAML that names sources and an ordered list of stages, run and recorded.

``glassworks corpus run configs/<recipe>.yaml --workdir RUN`` first runs the ``sources``
and ``documents`` stages (raw bytes in, one JSONL document per record out), then each
recipe stage in order. A stage applies its datatrove steps to every source it names,
through the configured executor, and writes ``RUN/corpus/<recipe>/<stage>/<source>/``
(kept), ``.../dropped/<source>/`` and ``.../quarantine/<source>/`` with the reasons; the
next stage reads only what was kept. Each stage records one manifest
(``<recipe>.<stage>``) whose counts balance, linked to the manifests it read from.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from glassworks.canonical import canonical_sha256
from glassworks.config import load_config
from glassworks.errors import ConfigError, GlassworksError
from glassworks.pipeline.code.dedup import NearDedupConfig
from glassworks.pipeline.executors import ExecutorConfig, make_executor
from glassworks.pipeline.ingest import DocumentsConfig, run_documents, writer_counts
from glassworks.pipeline.sources import SourcesConfig, run_sources
from glassworks.provenance.atomic import atomic_write_text
from glassworks.provenance.recorder import record_stage, refuse_to_clobber

VERSION = "1"


@dataclass(frozen=True)
class StepSpec:
    """One datatrove step, by registered name (see ``glassworks corpus steps``)."""

    step: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StageSpec:
    """A stage: an ordered group of steps, or datatrove's four MinHash passes, recorded as one."""

    name: str
    steps: list[StepSpec] = field(default_factory=list)
    sources: tuple[str, ...] = ()  # the sources this stage applies to; empty means all
    tasks: int | None = None  # overrides executor.tasks (e.g. 1 for a global, order-dependent filter)
    kind: Literal["steps", "minhash_near_dedup"] = "steps"
    minhash: NearDedupConfig = field(default_factory=NearDedupConfig)  # used by kind minhash_near_dedup

    def __post_init__(self):
        if self.kind == "minhash_near_dedup" and self.steps:
            raise ValueError(f"stage {self.name!r}: a minhash_near_dedup stage takes no steps")


@dataclass(frozen=True)
class SourceSpec:
    """A labelled input: the documents of one raw shape."""

    name: str  # the label every document carries in metadata.source
    shape: Literal["web", "text", "code"]  # which documents/<shape> output of the documents stage


@dataclass(frozen=True)
class RecipeConfig:
    """A whole corpus recipe."""

    name: str
    sources: list[SourceSpec]
    stages: list[StageSpec]
    raw: SourcesConfig = field(default_factory=SourcesConfig)
    documents: DocumentsConfig = field(default_factory=DocumentsConfig)
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)

    def __post_init__(self):
        names = [s.name for s in self.sources]
        if len(set(names)) != len(names):
            raise ValueError(f"source names must be unique, got {names}")
        for stage in self.stages:
            unknown = set(stage.sources) - set(names)
            if unknown:
                raise ValueError(f"stage {stage.name!r} names unknown sources {sorted(unknown)}")


@dataclass
class StageResult:
    """What one stage did, per source, for the summary table and chart."""

    stage: str
    manifest_id: str
    counts: dict[str, dict[str, int]]  # source -> writer counters
    out: Path | None = None  # the stage's kept documents: <out>/<source>/, dropped/ and quarantine/ beside


def load_recipe(path: str | Path) -> RecipeConfig:
    recipe = load_config(path, RecipeConfig)
    from glassworks.pipeline.steps import build_step

    for i, stage in enumerate(recipe.stages):  # fail on a bad step before any work starts
        for j, spec in enumerate(stage.steps):
            build_step(spec.step, spec.params, f"{path}: stages[{i}].steps[{j}] ({spec.step})",
                       {"run": Path("<run>"), "recipe": Path(path).parent})
    return recipe


@dataclass
class Pass:
    """One datatrove pipeline run with its own task count and logging folder."""

    name: str
    pipeline: list
    tasks: int
    logs: Path


@dataclass
class StageJob:
    """One source through one stage: passes run in order, the last one writing the documents."""

    source: str
    input_dir: Path
    passes: list[Pass]


@dataclass
class StagePlan:
    """One recipe stage ready to run: its recorded config, output folder and jobs."""

    name: str
    config: dict
    out: Path
    logs: Path
    jobs: list[StageJob]

    def prepare(self) -> None:
        """Keep partial outputs and completion markers for resume only if they came from
        exactly this stage config and the same upstream; otherwise start afresh."""
        key = canonical_sha256(self.config)
        marker = self.logs / "stage-config.sha256"
        if marker.is_file() and marker.read_text() == key and self.out.is_dir():
            return
        shutil.rmtree(self.out, ignore_errors=True)
        shutil.rmtree(self.logs, ignore_errors=True)
        self.out.mkdir(parents=True)
        atomic_write_text(marker, key)


def plan_stages(recipe: RecipeConfig, run_dir: Path, documents_id: str, origin: str = "<recipe>") -> list[StagePlan]:
    """Every stage of the recipe with its pipelines, in order, without running anything.

    A stage's config chains the config of the stage before it and the id of the documents
    manifest, so changing raw data or an earlier stage invalidates later partial outputs.
    """
    from glassworks.pipeline.documents import AccountingWriter
    from glassworks.pipeline.readers import JsonlDocumentReader
    from glassworks.pipeline.steps import build_step

    current = {s.name: run_dir / "documents" / s.shape for s in recipe.sources}
    labelled: set[str] = set()
    upstream = documents_id
    plans = []
    for i, stage in enumerate(recipe.stages):
        applies = [s for s in recipe.sources if not stage.sources or s.name in stage.sources]
        out = run_dir / "corpus" / recipe.name / stage.name
        logs = run_dir / "logs" / recipe.name / stage.name
        # What shapes the bytes: the steps, the task count (shard layout) and what came
        # before; not which executor ran them nor how many workers.
        tasks = stage.tasks or recipe.executor.tasks
        config = {"recipe": recipe.name, "stage": stage, "tasks": tasks, "after": upstream,
                  "labelled_here": sorted(s.name for s in applies if s.name not in labelled),
                  "sources": {s.name: s.shape for s in applies}}  # which documents folder each source reads
        beside = _recipe_files(stage, Path(origin).parent, f"{origin}: stages[{i}]")
        if beside:  # files the steps read beside the recipe (an opt-out list): their bytes shape the output
            config["recipe_files"] = beside
        jobs = []
        for source in applies:
            if source.name not in labelled and stage.kind != "steps":
                raise ConfigError(f"{origin}: stage {stage.name!r} cannot be the first stage of source {source.name!r}")
            if stage.kind == "minhash_near_dedup":
                passes = _minhash_passes(stage, current[source.name], out, logs / source.name, source.name, tasks)
            else:
                anchors = {"run": run_dir, "recipe": Path(origin).parent}
                steps = [build_step(spec.step, spec.params, f"{origin}: stages[{i}].steps[{j}] ({spec.step})", anchors)
                         for j, spec in enumerate(stage.steps)]
                if source.name not in labelled:
                    steps.insert(0, build_step("source_label", {"source": source.name}, origin))
                reader = JsonlDocumentReader(str(current[source.name]), glob_pattern="*.jsonl.gz", trust_marks=True)
                passes = [Pass("main", [reader, *steps, AccountingWriter(out, source.name)], tasks, logs / source.name)]
            jobs.append(StageJob(source.name, current[source.name], passes))
        for source in applies:
            labelled.add(source.name)
            current[source.name] = out / source.name
        upstream = canonical_sha256(config)
        plans.append(StagePlan(stage.name, config, out, logs, jobs))
    return plans


def _recipe_files(stage: StageSpec, recipe_dir: Path, where: str) -> dict[str, str]:
    """sha256 of each ``{recipe}/...`` file a step of ``stage`` names, by its name there."""
    from glassworks.provenance.hashing import sha256_file

    found = {}
    for spec in stage.steps:
        for key, value in spec.params.items():
            if isinstance(value, str) and value.startswith("{recipe}/"):
                rel = value.removeprefix("{recipe}/")
                try:
                    found[rel] = sha256_file(recipe_dir / rel)[0]
                except OSError as exc:
                    raise ConfigError(f"{where}: step {spec.step!r} parameter {key!r}: cannot read "
                                      f"{recipe_dir / rel} ({exc.strerror or exc})") from None
    return dict(sorted(found.items()))


def _minhash_passes(stage: StageSpec, src: Path, out: Path, logs: Path, source: str, tasks: int) -> list[Pass]:
    """datatrove's MinHash stages (signatures, buckets, clusters, filter) for one source; the
    intermediate files live beside the logs: scratch, not part of the record."""
    from glassworks.pipeline.code.dedup import near_dedup_pipelines

    pipelines = near_dedup_pipelines(src, logs / "minhash", out, name=source, config=stage.minhash)
    task_counts = {"signatures": tasks, "buckets": stage.minhash.num_buckets, "clusters": 1, "filter": tasks}
    return [Pass(name, pipeline, task_counts[name], logs / name) for name, pipeline in pipelines.items()]


def run_recipe(recipe: RecipeConfig, run_dir: Path, origin: str = "<recipe>", progress=None) -> list[StageResult]:
    """Run every stage of ``recipe`` into ``run_dir``; returns per-stage results."""
    from glassworks.pipeline.documents import add_writer_counts
    from glassworks.pipeline.ingest import run_quietly

    run_sources(recipe.raw, run_dir)
    documents, _ = run_documents(recipe.documents, run_dir)
    results = []
    for plan in plan_stages(recipe, run_dir, documents["id"], origin):
        refuse_to_clobber(run_dir, f"{recipe.name}.{plan.name}", plan.config)
        plan.prepare()
        per_source = {}
        with record_stage(run_dir, f"{recipe.name}.{plan.name}", VERSION, plan.config, unit="documents") as rec:
            for job in plan.jobs:
                if not job.input_dir.is_dir():
                    raise GlassworksError(f"{job.input_dir}: input of stage {plan.name!r} for source {job.source!r} is missing")
                (plan.out / job.source).mkdir(parents=True, exist_ok=True)  # the next stage's input, even if empty
                if not any(job.input_dir.glob("*.jsonl.gz")):  # nothing came this far
                    counts = {}
                else:
                    for step in job.passes:
                        executor = make_executor(replace(recipe.executor, tasks=step.tasks), step.pipeline, step.logs,
                                                 job_name=f"{recipe.name}.{plan.name}.{job.source}.{step.name}")
                        run_quietly(executor, step.logs, f"{recipe.name}.{plan.name}")
                    last = job.passes[-1]
                    counts = writer_counts(last.logs, last.tasks)
                per_source[job.source] = counts
                rec.input(job.input_dir)
                add_writer_counts(rec.counts, counts)
                if progress is not None:
                    progress(plan.name, job.source, counts)
            rec.output(plan.out)
        results.append(StageResult(stage=plan.name, manifest_id=rec.manifest_id, counts=per_source, out=plan.out))
    return results


def check_recipe_file(path: str | Path) -> RecipeConfig:
    """Load and validate a recipe, turning dataclass errors into config errors."""
    try:
        return load_recipe(path)
    except ConfigError:
        raise
    except (TypeError, ValueError, OSError) as exc:  # OSError: a file a step names is missing
        raise ConfigError(f"{path}: {exc}") from None
