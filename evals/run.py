"""`glassworks eval`: one checkpoint through lm-eval, offline, with a provenance manifest.

    RUN/eval/suite/heldout_*.jsonl        the held-out suite (stage ``eval.suite``), when asked for
    RUN/eval/<checkpoint>/results.json    lm-eval's results dict (stage ``eval``)

``results.json`` is what ``lm_eval.simple_evaluate`` returns (``results``, ``groups``,
``configs``, ``versions``, ``n-shot``, ``higher_is_better``, ``n-samples``, ``config``,
the environment), without the logged samples and without the wall-clock fields (``date``,
``start_time``, ``end_time``, ``total_evaluation_time_seconds``: the manifest keeps
timings), so the same checkpoint, tasks and code give the same bytes. A ``glassworks``
key adds what lm-eval does not record: the checkpoint's hash and training state, the
sha256 of every task data file, the lm-eval version and, when training shards are given,
the contamination of each task. The manifest records the checkpoint files and task data
as inputs (under the roots ``checkpoints``, ``task_data`` and ``train_data`` when they lie
outside RUN).

Offline: HF_HUB_OFFLINE and HF_DATASETS_OFFLINE are set for the run; the tasks read JSON
files through the datasets library's packaged ``json`` builder, the model reads the
checkpoint directory, and nothing else is opened.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from glassworks.errors import GlassworksError
from glassworks.evals.suite import SuiteConfig

VERSION = "1"
SUITE_STAGE = "eval.suite"
STAGE = "eval"
TIMING_KEYS = ("date", "start_time", "end_time", "total_evaluation_time_seconds")
DEFAULT_TASKS = ("glassworks_heldout",)


@dataclass(frozen=True)
class EvalConfig:
    """What to evaluate and how."""

    tasks: tuple[str, ...] = DEFAULT_TASKS
    """lm-eval task or group names: the shipped ``glassworks_heldout`` (and its
    ``heldout_*`` tasks), the ``local_*`` standard suites (with ``task_data``), or tasks
    of an ``include_path``."""
    limit: int | None = None
    """At most this many documents per task (lm-eval's --limit); None: all."""
    num_fewshot: int | None = None
    batch_size: int = 8
    seed: int = 0
    """lm-eval's random, numpy, torch and few-shot seeds."""
    suite: SuiteConfig = field(default_factory=SuiteConfig)
    ngram: int = 13
    """n of the contamination n-grams (tokens)."""
    threads: int | None = None
    """torch CPU threads while evaluating (None: torch's default). A model as small as the
    demo's runs faster on one thread than on two: its matrices are too small to split."""

    def __post_init__(self):
        if not self.tasks:
            raise ValueError("tasks: name at least one task")
        if self.limit is not None and self.limit <= 0:
            raise ValueError("limit must be positive")


@dataclass
class Prepared:
    """Rendered task configs and the data files behind them, ready for lm-eval."""

    tasks: object  # RenderedTasks
    files: dict[str, list[Path]]
    task_manager: object
    tmp: tempfile.TemporaryDirectory


def offline_env():
    """Environment of an offline evaluation (set for the duration of a call)."""
    return {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
            "HF_DATASETS_TRUST_REMOTE_CODE": "0", "TOKENIZERS_PARALLELISM": "false"}


@contextlib.contextmanager
def offline():
    saved = {k: os.environ.get(k) for k in offline_env()}
    os.environ.update(offline_env())
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def quiet_lm_eval():
    """lm-eval logs every task's defaults and draws a bar per request type: hold that chatter
    back so a summary stays readable (it is printed to stderr if evaluation fails)."""
    import io
    import logging
    import sys

    chatter = io.StringIO()
    logger = logging.getLogger("lm_eval")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stderr(chatter):
            yield
    except Exception:
        sys.stderr.write(chatter.getvalue()[-4000:])
        raise
    finally:
        logger.setLevel(level)


@contextlib.contextmanager
def threads(n: int | None):
    import torch

    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def uses_heldout(names) -> bool:
    return any(t == "glassworks_heldout" or t.startswith("heldout_") for t in names)


def prepare_suite(run_dir: Path, config: EvalConfig, data_dir: Path) -> Path:
    """Build the held-out suite into ``RUN/eval/suite`` as stage ``eval.suite`` (skipped when
    a manifest of the same config already vouches for the files there)."""
    from glassworks.evals.suite import build_suite, input_paths
    from glassworks.provenance.recorder import record_stage

    out = run_dir / "eval" / "suite"
    if _recorded(run_dir, SUITE_STAGE, config.suite, {"run": run_dir, "data": data_dir}):
        return out
    with record_stage(run_dir, SUITE_STAGE, VERSION, config.suite, roots={"data": data_dir}, unit="tasks") as rec:
        suite = build_suite(data_dir, out, config.suite)
        for path in input_paths(data_dir):
            rec.input(path)
        rec.output(out)
        rec.counts.add_in(len(suite.files))
        rec.counts.keep(len(suite.files))
    return out


def prepare(run_dir: Path, config: EvalConfig, data_dir: Path | None, task_data: Path | None,
            include_path: Path | None = None) -> Prepared:
    from lm_eval.tasks import TaskManager

    from glassworks.evals.tasks import render_tasks

    tmp = tempfile.TemporaryDirectory(prefix="glassworks-tasks-")
    heldout = None
    if uses_heldout(config.tasks):
        if data_dir is None or not Path(data_dir).is_dir():
            raise GlassworksError(f"{data_dir}: the held-out suite is built from the embedded corpus; "
                                  "give the repository's data/ folder with --data-dir")
        heldout = prepare_suite(run_dir, config, Path(data_dir))
    tasks = render_tasks(Path(tmp.name) / "tasks", heldout, task_data)
    files = tasks.check(list(config.tasks))
    include = [str(tasks.folder)] + ([str(include_path)] if include_path else [])
    manager = TaskManager(include_path=include, include_defaults=False)
    unknown = [t for t in config.tasks if t not in manager.all_tasks]
    if unknown:
        raise GlassworksError(f"unknown task {unknown[0]!r}; shipped: glassworks_heldout, heldout_*, local_suite, "
                              "local_* (or add --include-path with your own task YAMLs)")
    return Prepared(tasks, files, manager, tmp)


def evaluate_checkpoint(checkpoint: str | Path, run_dir: str | Path, config: EvalConfig = EvalConfig(),
                        data_dir: str | Path | None = None, task_data: str | Path | None = None,
                        train_data: list[Path] | None = None, include_path: str | Path | None = None,
                        name: str | None = None, prepared: Prepared | None = None, train_ngrams=None,
                        checkpoint_root: Path | None = None) -> dict:
    """Evaluate one checkpoint; write ``RUN/eval/<name>/results.json`` and its manifest.

    ``train_data``: packed phase directories to measure contamination against. Inputs
    outside the run directory are recorded under the roots ``checkpoints`` (the folder
    holding the checkpoint, or ``checkpoint_root``), ``task_data`` and ``train_data``.
    Returns the results dict as written.
    """
    import lm_eval

    import glassworks.evals  # noqa: F401 - registers the model
    from glassworks.provenance.atomic import atomic_write_bytes
    from glassworks.provenance.recorder import record_stage

    checkpoint, run_dir = Path(checkpoint), Path(run_dir)
    if not checkpoint.is_dir():
        raise GlassworksError(f"{checkpoint}: checkpoint directory not found")
    name = name or checkpoint.name
    if not re.fullmatch(r"[A-Za-z0-9._-]+", name):
        raise GlassworksError(f"{name!r}: a checkpoint name for eval/<name>/ needs letters, digits, '.', '_', '-'")
    with offline(), threads(config.threads):
        prepared = prepared or prepare(run_dir, config, Path(data_dir) if data_dir else None,
                                       Path(task_data) if task_data else None,
                                       Path(include_path) if include_path else None)
        results = lm_eval.simple_evaluate(
            model="glassworks", model_args={"checkpoint": str(checkpoint), "batch_size": config.batch_size},
            tasks=list(config.tasks), num_fewshot=config.num_fewshot, limit=config.limit,
            task_manager=prepared.task_manager, log_samples=True, random_seed=config.seed,
            numpy_random_seed=config.seed, torch_random_seed=config.seed, fewshot_random_seed=config.seed,
            bootstrap_iters=0)
    samples = results.pop("samples", {})
    for key in TIMING_KEYS:
        results.pop(key, None)
    results = prepared.tasks.portable(results)
    results["config"]["model_args"] = {"checkpoint": name, "batch_size": config.batch_size}
    results["glassworks"] = provenance_block(checkpoint, prepared.files, config)
    if train_data:
        from glassworks.evals.contamination import contamination
        from glassworks.pipeline.tokens.tokenizer import Tokenizer

        tok = Tokenizer.load(checkpoint / "tokenizer")
        results["glassworks"]["contamination"] = {
            "ngram": config.ngram, "training_phases": [Path(p).name for p in train_data],
            "tasks": contamination(samples, tok, list(train_data), n=config.ngram, train=train_ngrams)}

    out = run_dir / "eval" / name / "results.json"
    train_root = Path(os.path.commonpath([Path(p).resolve() for p in train_data])) if train_data else None
    roots = _roots(run_dir, checkpoints=checkpoint_root or checkpoint.parent, task_data=task_data,
                   train_data=train_root)
    recorded = {"eval": config, "checkpoint": name, "tasks": sorted(prepared.files)}
    with record_stage(run_dir, STAGE, VERSION, recorded, roots=roots, unit="tasks") as rec:
        atomic_write_bytes(out, (json.dumps(results, indent=2, sort_keys=True, default=_jsonable,
                                            ensure_ascii=False) + "\n").encode("utf-8"))
        rec.input(checkpoint)
        for files in prepared.files.values():
            for path in files:
                rec.input(path)
        for path in train_data or []:
            rec.input(Path(path) / "index.json")
        rec.output(out)
        for path in write_sample_scores(samples, out.parent):
            rec.output(path)
        rec.counts.add_in(len(prepared.files))
        rec.counts.keep(len(prepared.files))
    return results


SCORED = ("acc", "acc_norm", "bits_per_byte", "byte_perplexity", "word_perplexity")


def write_sample_scores(samples: dict, folder: Path) -> list[Path]:
    """``samples_<task>.jsonl``: each document's own scores (``doc_id`` and, for a perplexity
    metric, its ``[loglikelihood, bytes or words]`` pair), so a report can give a standard error
    over documents where lm-eval gives none. Nothing else of the sample log is kept: it holds
    the documents' text, which the suite already ships."""
    from glassworks.provenance.atomic import atomic_write_bytes

    written = []
    for task, rows in sorted(samples.items()):
        lines = []
        for row in sorted(rows, key=lambda r: r.get("doc_id", 0)):
            scores = {m: row[m] for m in SCORED if m in row}
            if scores:
                lines.append(json.dumps({"doc_id": row.get("doc_id"), **scores}, sort_keys=True, default=_jsonable))
        if lines:
            path = folder / f"samples_{task}.jsonl"
            atomic_write_bytes(path, ("\n".join(lines) + "\n").encode("utf-8"))
            written.append(path)
    return written


def provenance_block(checkpoint: Path, files: dict[str, list[Path]], config: EvalConfig) -> dict:
    from importlib.metadata import version

    from glassworks.model import read_state
    from glassworks.provenance.hashing import file_record, merkle_root, sha256_file

    records = [file_record(p, p.relative_to(checkpoint).as_posix(), "checkpoint")
               for p in sorted(checkpoint.rglob("*")) if p.is_file()]
    state = read_state(checkpoint)
    return {
        "checkpoint": {"name": checkpoint.name, "merkle_root": merkle_root(records),
                       "files": {r.path: r.sha256 for r in records},
                       "step": state.step, "tokens_seen": state.tokens_seen, "phase": state.phase},
        "task_data": {task: {p.name: sha256_file(p)[0] for p in paths} for task, paths in sorted(files.items())},
        "lm_eval_version": version("lm_eval"),
        "seed": config.seed,
    }


def _roots(run_dir: Path, **paths) -> dict:
    run = run_dir.resolve()
    return {k: Path(v).resolve() for k, v in paths.items() if v is not None and not Path(v).resolve().is_relative_to(run)}


def _recorded(run_dir: Path, stage: str, config, roots: dict[str, Path]) -> bool:
    """Whether a manifest of ``stage`` with this config vouches for the files as they are now:
    every input and output under ``roots`` still has its recorded hash."""
    from glassworks.config import config_hash
    from glassworks.provenance.hashing import sha256_file
    from glassworks.provenance.manifest import load_manifest

    digest = config_hash(config)
    for path in sorted((run_dir / "manifests").glob(f"{stage}-*.json")):
        try:
            manifest = load_manifest(path)
        except GlassworksError:
            continue
        if manifest.get("stage", {}).get("name") != stage or manifest.get("config_sha256") != digest:
            continue
        files = manifest["inputs"]["files"] + manifest["outputs"]["files"]
        if all(f.get("root", "run") in roots and (roots[f.get("root", "run")] / f["path"]).is_file()
               and sha256_file(roots[f.get("root", "run")] / f["path"])[0] == f["sha256"] for f in files):
            return True
    return False


def _jsonable(value):
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    return repr(value) if callable(value) else str(value)
