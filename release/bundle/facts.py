"""What the run measured, read from its records: the numbers every generated document uses.

Cards, the technical report and the paper are all written from one ``RunFacts``, so they
cannot disagree with each other or with the manifests. Every number here comes from a
file of the run (a manifest's counts, a checkpoint sidecar, a metrics log, an eval result);
nothing is estimated.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from glassworks.release.bundle.checkpoints import Checkpoint, find_checkpoints
from glassworks.release.bundle.config import BundleConfig
from glassworks.release.bundle.records import RunRecord


@dataclass(frozen=True)
class StageStat:
    name: str
    manifest: str
    unit: str
    seen: int
    kept: int
    dropped: dict[str, int]
    quarantined: int


@dataclass(frozen=True)
class EvalRow:
    task: str
    metric: str
    value: float
    stderr: float | None
    source: str  # the results file, relative to the run
    checkpoint: str = ""  # the checkpoint evaluated (glassworks' block in results.json, else the folder)


@dataclass
class RunFacts:
    record: RunRecord
    stages: list[StageStat]
    final: Checkpoint | None
    intermediate: list[Checkpoint]
    evals: list[EvalRow]
    curves: dict[str, list[tuple[int, float]]]  # log file -> [(step, loss)]
    weights: dict[str, dict] = field(default_factory=dict)  # weights file -> its JSON (sampling weights)
    corpus_licences: list[str] = field(default_factory=list)

    @property
    def final_evals(self) -> list[EvalRow]:
        """The results of the final checkpoint (all results when the run evaluated only one)."""
        if len({r.checkpoint for r in self.evals}) <= 1:
            return self.evals
        return [r for r in self.evals if r.checkpoint == "final"]

    @property
    def corpus_stages(self) -> list[StageStat]:
        return [s for s in self.stages if s.unit == "documents"]


def gather(run_dir: Path, record: RunRecord, config: BundleConfig, repo: Path) -> RunFacts:
    art = config.artifacts
    final, intermediate = find_checkpoints(run_dir, art.final_checkpoint, art.intermediate_checkpoints)
    stages = [StageStat(m["stage"]["name"], m["id"], m["counts"]["unit"], m["counts"]["in"], m["counts"]["kept"],
                        dict(m["counts"]["dropped"]), m["counts"]["quarantined"]) for m in record.stage_order()]
    return RunFacts(record, stages, final, intermediate, read_evals(run_dir, art.eval_results),
                    read_curves(run_dir, art.training_metrics), read_weights(run_dir, record),
                    corpus_licences(repo / config.corpus.data_dir))


def read_evals(run_dir: Path, where: Path) -> list[EvalRow]:
    """Rows of lm-eval style results (``{"results": {task: {"acc,none": 0.5, ...}}}``)."""
    root = run_dir / where
    files = [root] if root.is_file() else sorted(root.rglob("*.json")) if root.is_dir() else []
    rows = []
    for path in files:
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        results = value.get("results") if isinstance(value, dict) else None
        if not isinstance(results, dict):
            continue
        block = value.get("glassworks", {}).get("checkpoint", {}) if isinstance(value.get("glassworks"), dict) else {}
        checkpoint = block.get("name") if isinstance(block, dict) and isinstance(block.get("name"), str) else (
            path.parent.name if root.is_dir() and path.parent != root else "")
        for task, metrics in sorted(results.items()):
            if not isinstance(metrics, dict):
                continue
            for key, number in sorted(metrics.items()):
                metric = key.split(",")[0]
                if metric.endswith("_stderr") or metric in ("alias", "sample_len") or not isinstance(number, (int, float)):
                    continue
                if isinstance(number, bool):
                    continue
                stderr = metrics.get(key.replace(metric, f"{metric}_stderr", 1))
                rows.append(EvalRow(task, metric, float(number),
                                    float(stderr) if isinstance(stderr, (int, float)) else None,
                                    path.relative_to(run_dir).as_posix(), checkpoint))
    return rows


def read_curves(run_dir: Path, patterns: list[str]) -> dict[str, list[tuple[int, float]]]:
    """(step, loss) series from JSON-lines metric logs, one per log and phase; lines without
    both are skipped (a torn last line of a killed writer among them)."""
    curves: dict[str, list[tuple[int, float]]] = {}
    for pattern in patterns:
        for path in sorted(run_dir.glob(pattern)):
            series: dict[str, list[tuple[int, float]]] = {}
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError):
                continue
            for line in lines:
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue
                loss = entry.get("loss", entry.get("train_loss")) if isinstance(entry, dict) else None
                step = entry.get("step") if isinstance(entry, dict) else None
                if isinstance(step, int) and isinstance(loss, (int, float)):
                    phase = entry.get("phase")
                    series.setdefault("" if phase is None else f" ({phase})", []).append((step, float(loss)))
            for suffix, points in series.items():
                curves[path.relative_to(run_dir).as_posix() + suffix] = points
    return curves


def read_weights(run_dir: Path, record: RunRecord) -> dict[str, dict]:
    """Dedup summaries (a dedup stage's ``summary.json``: per source in, kept, removed by
    reason, documents in clusters and weight statistics) and any ``*weights*.json`` output."""
    out = {}
    dedup_outputs = {r["path"] for m in record.manifests.values() if "dedup" in m["stage"]["name"]
                     for r in m["outputs"]["files"] if r.get("root", "run") == "run"}
    for path in sorted(record.recorded_outputs()):
        name = Path(path).name
        if (path in dedup_outputs and name == "summary.json") or ("weights" in name and name.endswith(".json")):
            try:
                value = json.loads((run_dir / path).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                continue
            if isinstance(value, dict):
                out[path] = value
    return out


def corpus_licences(data_dir: Path) -> list[str]:
    """Distinct SPDX ids of the raw sources, from ``data_dir/REUSE.toml`` (corpus files only,
    not the build scripts and listing that sit beside them)."""
    path = data_dir / "REUSE.toml"
    if not path.is_file():
        return []
    tooling = {"REUSE.toml", "SOURCES.md", "build_corpus.py", "corpus_sources.py"}
    found = set()
    for note in tomllib.loads(path.read_text(encoding="utf-8")).get("annotations", []):
        paths = note.get("path", [])
        paths = [paths] if isinstance(paths, str) else paths
        if any(p not in tooling for p in paths) and note.get("SPDX-License-Identifier"):
            found.add(note["SPDX-License-Identifier"])
    return sorted(found)
