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
from glassworks.pipeline.executors import ExecutorConfig, make_executor
from glassworks.pipeline.ingest import DocumentsConfig, run_documents, writer_counts
from glassworks.pipeline.sources import SourcesConfig, run_sources
from glassworks.provenance.atomic import atomic_write_text
from glassworks.provenance.recorder import record_stage

VERSION = "1"


@dataclass(frozen=True)
class StepSpec:
    """One datatrove step, by registered name (see ``glassworks corpus steps``)."""

    step: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StageSpec:
    """An ordered group of steps recorded as one stage."""

    name: str
    steps: list[StepSpec]
    sources: tuple[str, ...] = ()  # the sources this stage applies to; empty means all
    tasks: int | None = None  # overrides executor.tasks (e.g. 1 for a global, order-dependent filter)


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


def load_recipe(path: str | Path) -> RecipeConfig:
    recipe = load_config(path, RecipeConfig)
    from glassworks.pipeline.steps import build_step

    for i, stage in enumerate(recipe.stages):  # fail on a bad step before any work starts
        for j, spec in enumerate(stage.steps):
            build_step(spec.step, spec.params, origin=f"{path}: stages[{i}].steps[{j}] ({spec.step})")
    return recipe


@dataclass
class StageJob:
    """One source through one stage: the datatrove pipeline and where it keeps its logs."""

    source: str
    input_dir: Path
    pipeline: list
    logs: Path
    tasks: int


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
                  "labelled_here": sorted(s.name for s in applies if s.name not in labelled)}
        jobs = []
        for source in applies:
            steps = [build_step(spec.step, spec.params, origin=f"{origin}: stages[{i}].steps[{j}] ({spec.step})")
                     for j, spec in enumerate(stage.steps)]
            if source.name not in labelled:
                steps.insert(0, build_step("source_label", {"source": source.name}, origin=origin))
            reader = JsonlDocumentReader(str(current[source.name]), glob_pattern="*.jsonl.gz")
            pipeline = [reader, *steps, AccountingWriter(out, source.name)]
            jobs.append(StageJob(source.name, current[source.name], pipeline, logs / source.name, tasks))
        for source in applies:
            labelled.add(source.name)
            current[source.name] = out / source.name
        upstream = canonical_sha256(config)
        plans.append(StagePlan(stage.name, config, out, logs, jobs))
    return plans


def run_recipe(recipe: RecipeConfig, run_dir: Path, origin: str = "<recipe>", progress=None) -> list[StageResult]:
    """Run every stage of ``recipe`` into ``run_dir``; returns per-stage results."""
    from glassworks.pipeline.ingest import run_quietly

    run_sources(recipe.raw, run_dir)
    documents, _ = run_documents(recipe.documents, run_dir)
    results = []
    for plan in plan_stages(recipe, run_dir, documents["id"], origin):
        plan.prepare()
        per_source = {}
        with record_stage(run_dir, f"{recipe.name}.{plan.name}", VERSION, plan.config, unit="documents") as rec:
            for job in plan.jobs:
                if not job.input_dir.is_dir():
                    raise GlassworksError(f"{job.input_dir}: input of stage {plan.name!r} for source {job.source!r} is missing")
                executor = make_executor(replace(recipe.executor, tasks=job.tasks), job.pipeline, job.logs,
                                         job_name=f"{recipe.name}.{plan.name}.{job.source}")
                run_quietly(executor, job.logs, f"{recipe.name}.{plan.name}")
                counts = writer_counts(job.logs, job.tasks)
                per_source[job.source] = counts
                rec.input(job.input_dir)
                rec.counts.add_in(counts.get("in", 0))
                rec.counts.keep(counts.get("kept", 0))
                rec.counts.quarantine(counts.get("quarantined", 0))
                for key, value in counts.items():
                    if key.startswith("dropped/"):
                        rec.counts.drop(key.removeprefix("dropped/"), value)
                if progress is not None:
                    progress(plan.name, job.source, counts)
            rec.output(plan.out)
        results.append(StageResult(stage=plan.name, manifest_id=rec.manifest_id, counts=per_source))
    return results


def check_recipe_file(path: str | Path) -> RecipeConfig:
    """Load and validate a recipe, turning dataclass errors into config errors."""
    try:
        return load_recipe(path)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
