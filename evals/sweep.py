"""Checkpoint sweeps: every checkpoint of a run evaluated, each metric against tokens seen,
power-law predictability and contamination in one record.

    RUN/eval/<checkpoint>/results.json   one per checkpoint (stage ``eval``, see run.py)
    RUN/eval/sweep.json                  the table, the fits and their errors (stage ``eval.sweep``)
    RUN/eval/sweep.png                   each metric against tokens seen, fits dashed

The tasks are rendered and the held-out suite built once; the training n-grams for the
contamination report are read once and reused for every checkpoint.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from glassworks.errors import GlassworksError
from glassworks.evals.run import EvalConfig

VERSION = "1"
STAGE = "eval.sweep"


@dataclass(frozen=True)
class SweepConfig:
    """A sweep: the eval of each checkpoint, and how predictability is measured."""

    eval: EvalConfig = field(default_factory=EvalConfig)
    fit_fraction: float = 0.6
    """Share of the checkpoints (earliest by tokens seen) the power law is fitted on."""
    min_fit: int = 3
    """Fit on at least this many checkpoints; with fewer left to predict there is no fit."""

    def __post_init__(self):
        if not 0 < self.fit_fraction < 1:
            raise ValueError("fit_fraction must be in (0, 1)")
        if self.min_fit < 2:
            raise ValueError("min_fit must be >= 2")


def metric_rows(name: str, results: dict) -> tuple[dict, dict[str, bool]]:
    """One row ``{name, step, tokens_seen, phase, "<task>/<metric>": value}`` and, per metric
    key, whether higher is better."""
    state = results["glassworks"]["checkpoint"]
    row = {"name": name, "step": state["step"], "tokens_seen": state["tokens_seen"], "phase": state["phase"]}
    better = {}
    for task, metrics in sorted(results.get("results", {}).items()):
        for key, value in sorted(metrics.items()):
            metric, _, filt = key.partition(",")
            if not filt or metric.endswith("_stderr") or not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            label = f"{task}/{metric}" if filt == "none" else f"{task}/{metric},{filt}"
            row[label] = float(value)
            better[label] = bool(results.get("higher_is_better", {}).get(task, {}).get(metric, False))
    return row, better


def sweep(checkpoints: list[str | Path], run_dir: str | Path, config: SweepConfig = SweepConfig(),
          data_dir: str | Path | None = None, task_data: str | Path | None = None,
          train_data: list[Path] | None = None, include_path: str | Path | None = None) -> dict:
    """Evaluate every checkpoint (ordered by tokens seen), fit, plot and record; return the summary."""
    from glassworks.evals.predict import predictability
    from glassworks.evals.run import evaluate_checkpoint, offline, prepare
    from glassworks.model import read_state
    from glassworks.provenance.atomic import atomic_write_bytes
    from glassworks.provenance.recorder import record_stage

    run_dir = Path(run_dir)
    paths = [Path(c) for c in checkpoints]
    if not paths:
        raise GlassworksError("sweep: no checkpoints to evaluate")
    names = [p.name for p in paths]
    if len(set(names)) != len(names):
        raise GlassworksError(f"sweep: checkpoint directory names must be distinct (results go to eval/<name>/): {names}")
    states = {p: read_state(p) for p in paths}
    paths.sort(key=lambda p: (states[p].tokens_seen, states[p].step, p.name))

    with offline():
        prepared = prepare(run_dir, config.eval, Path(data_dir) if data_dir else None,
                           Path(task_data) if task_data else None, Path(include_path) if include_path else None)
    train = None
    if train_data:
        from glassworks.evals.contamination import training_ngrams

        train = training_ngrams([Path(p) for p in train_data], config.eval.ngram)
    root = Path(os.path.commonpath([p.resolve().parent for p in paths]))  # one root for every checkpoint
    rows, better, results_files, contamination = [], {}, [], None
    for path in paths:
        results = evaluate_checkpoint(path, run_dir, config.eval, data_dir=data_dir, task_data=task_data,
                                      train_data=train_data, include_path=include_path, prepared=prepared,
                                      train_ngrams=train, checkpoint_root=root)
        row, row_better = metric_rows(path.name, results)
        rows.append(row)
        better.update(row_better)
        results_files.append(run_dir / "eval" / path.name / "results.json")
        contamination = results["glassworks"].get("contamination", contamination)

    fits = {}
    for metric in sorted(better):
        prediction = predictability(rows, metric, better[metric], config.fit_fraction, config.min_fit)
        if prediction is not None:
            fits[metric] = prediction.as_json()
    summary = {"checkpoints": rows, "higher_is_better": better, "predictability": fits,
               "contamination": contamination,
               "fit": {"form": "y = E + A * tokens^-alpha (1 - y for higher-is-better metrics)",
                       "fit_fraction": config.fit_fraction, "min_fit": config.min_fit}}
    out, figure = run_dir / "eval" / "sweep.json", run_dir / "eval" / "sweep.png"
    with record_stage(run_dir, STAGE, VERSION, config, unit="checkpoints") as rec:
        atomic_write_bytes(out, (json.dumps(_finite(summary), indent=2, sort_keys=True, allow_nan=False) + "\n").encode())
        plot(rows, better, fits, figure)
        for path in results_files:
            rec.input(path)
        rec.output(out)
        rec.output(figure)
        rec.counts.add_in(len(rows))
        rec.counts.keep(len(rows))
    return {**summary, "sweep": str(out), "plot": str(figure)}


def plot(rows: list[dict], better: dict[str, bool], fits: dict[str, dict], path: Path) -> None:
    """A grid of panels, one per metric: measured points, the power law fitted on the early
    checkpoints (dashed) and its extrapolation to the later ones."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from glassworks.evals.predict import PowerLaw

    metrics = sorted(better)
    cols = min(4, max(1, len(metrics)))
    nrows = max(1, math.ceil(len(metrics) / cols))
    fig, axes = plt.subplots(nrows, cols, figsize=(4 * cols, 3 * nrows), squeeze=False)
    for ax, metric in zip(axes.flat, metrics):
        pts = [(r["tokens_seen"], r[metric]) for r in rows if metric in r and r["tokens_seen"] > 0]
        fit = fits.get(metric)
        held = set(fit["observed"]) if fit else set()
        early = [(r["tokens_seen"], r[metric]) for r in rows if r["name"] not in held and metric in r and r["tokens_seen"] > 0]
        late = [(r["tokens_seen"], r[metric]) for r in rows if r["name"] in held]
        if pts:
            x, y = zip(*pts)
        if early:
            ax.plot(*zip(*early), "o", color="C0", label="measured (fitted)" if fit else "measured")
        if late:
            ax.plot(*zip(*late), "s", color="C3", label="measured (held back)")
            predicted = [(r["tokens_seen"], fit["predicted"][r["name"]]) for r in rows if r["name"] in held]
            ax.plot(*zip(*predicted), "o", mfc="none", color="C1", label="predicted")
        if fit and pts:
            law = PowerLaw(**fit["fit"])
            grid = np.geomspace(min(x), max(x), 64)
            curve = law(grid)
            ax.plot(grid, 1 - curve if fit["higher_is_better"] else curve, "--", color="C1",
                    label=f"fit (rel. err {fit['rel_error']:.1%})")
        ax.set_xscale("log")
        if not better[metric] and pts and min(y) > 0 and max(y) / min(y) > 100:
            ax.set_yscale("log")
        ax.set_title(metric, fontsize=8)
        ax.set_xlabel("tokens seen", fontsize=7)
        ax.tick_params(labelsize=6)
        ax.legend(fontsize=6)
    for ax in list(axes.flat)[len(metrics):]:
        ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80, metadata={"Software": None})
    plt.close(fig)


def evaluate_run(config: SweepConfig | EvalConfig | None, run_dir: str | Path,
                 checkpoints: list[str | Path] | None = None, data_dir: str | Path | None = None) -> dict:
    """What the demo calls: sweep the run's checkpoints on the shipped held-out suite.

    ``checkpoints`` default to the folders under ``RUN/checkpoints/`` that hold a
    ``state.json``; contamination is measured against ``RUN/data/<phase>/`` packed shards
    when there are any; ``data_dir`` defaults to the repository's ``data/``.
    """
    from glassworks.provenance.identity import source_root

    run_dir = Path(run_dir)
    if config is None:
        config = SweepConfig(eval=EvalConfig(threads=1))  # the demo's tiny model: one thread is faster
    elif isinstance(config, EvalConfig):
        config = SweepConfig(eval=config)
    if checkpoints is None:
        checkpoints = sorted(p.parent for p in (run_dir / "checkpoints").glob("*/state.json"))
    phases = sorted(p.parent for p in (run_dir / "data").glob("*/index.json"))
    return sweep(list(checkpoints), run_dir, config, data_dir=data_dir or source_root() / "data",
                 train_data=phases or None)


def _finite(value):
    """The value with NaN and infinities as null: sweep.json stays strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
