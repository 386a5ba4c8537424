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
from dataclasses import dataclass, field
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


def run_recipe(recipe: RecipeConfig, run_dir: Path, origin: str = "<recipe>", progress=None) -> list[StageResult]:
    """Run every stage of ``recipe`` into ``run_dir``; returns per-stage results."""
    from glassworks.pipeline.steps import build_step

    run_sources(recipe.raw, run_dir)
    run_documents(recipe.documents, run_dir)
    current = {s.name: run_dir / "documents" / s.shape for s in recipe.sources}
    labelled: set[str] = set()
    results = []
    for i, stage in enumerate(recipe.stages):
        applies = [s for s in recipe.sources if not stage.sources or s.name in stage.sources]
        out = run_dir / "corpus" / recipe.name / stage.name
        # What shapes the bytes: the steps and the task count (shard layout); not which
        # executor ran them nor how many workers, so those leave the manifest id unchanged.
        stage_config = {"recipe": recipe.name, "stage": stage, "tasks": recipe.executor.tasks,
                        "labelled_here": sorted(s.name for s in applies if s.name not in labelled)}
        logs = run_dir / "logs" / recipe.name / stage.name
        _reset_if_changed(out, logs, canonical_sha256(stage_config))
        per_source = {}
        with record_stage(run_dir, f"{recipe.name}.{stage.name}", VERSION, stage_config, unit="documents") as rec:
            for source in applies:
                steps = [build_step(spec.step, spec.params, origin=f"{origin}: stages[{i}].steps[{j}] ({spec.step})")
                         for j, spec in enumerate(stage.steps)]
                if source.name not in labelled:
                    steps.insert(0, build_step("source_label", {"source": source.name}, origin=origin))
                counts = _run_source(recipe, stage.name, source.name, current[source.name], out, logs / source.name, steps)
                per_source[source.name] = counts
                rec.input(current[source.name])
                rec.counts.add_in(counts.get("in", 0))
                rec.counts.keep(counts.get("kept", 0))
                rec.counts.quarantine(counts.get("quarantined", 0))
                for key, value in counts.items():
                    if key.startswith("dropped/"):
                        rec.counts.drop(key.removeprefix("dropped/"), value)
                if progress is not None:
                    progress(stage.name, source.name, counts)
            rec.output(out)
        for source in applies:
            labelled.add(source.name)
            current[source.name] = out / source.name
        results.append(StageResult(stage=stage.name, manifest_id=rec.manifest_id, counts=per_source))
    return results


def _reset_if_changed(out: Path, logs: Path, key: str) -> None:
    """Keep a stage's partial outputs (and completion markers) for resume only if they came
    from the same stage config; otherwise start the stage afresh."""
    marker = logs / "stage-config.sha256"
    if marker.is_file() and marker.read_text() == key and out.is_dir():
        return
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(logs, ignore_errors=True)
    out.mkdir(parents=True)
    atomic_write_text(marker, key)


def _run_source(recipe: RecipeConfig, stage: str, source: str, src: Path, out: Path, logs: Path, steps: list) -> dict:
    from glassworks.pipeline.documents import AccountingWriter
    from glassworks.pipeline.ingest import run_quietly
    from glassworks.pipeline.readers import JsonlDocumentReader

    if not src.is_dir():
        raise GlassworksError(f"{src}: input of stage {stage!r} for source {source!r} is missing")
    reader = JsonlDocumentReader(str(src), glob_pattern="*.jsonl.gz")
    pipeline = [reader, *steps, AccountingWriter(out, source)]
    executor = make_executor(recipe.executor, pipeline, logs, job_name=f"{recipe.name}-{stage}-{source}")
    run_quietly(executor, logs, stage)
    return writer_counts(logs, recipe.executor.tasks)


def check_recipe_file(path: str | Path) -> RecipeConfig:
    """Load and validate a recipe, turning dataclass errors into config errors."""
    try:
        return load_recipe(path)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
