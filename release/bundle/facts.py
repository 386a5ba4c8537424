"""What the run measured, read from its records: the numbers every generated document uses.

Cards, the technical report and the paper are all written from one ``RunFacts``, so they
cannot disagree with each other or with the manifests. Every number here comes from a
file of the run (a manifest's counts, a checkpoint sidecar, a metrics log, an eval result);
nothing is estimated.
"""

from __future__ import annotations

import gzip
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from glassworks.provenance.hashing import sha256_file
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
    n: int | None = None  # items scored (lm-eval's n-samples, after --limit)
    stderr_basis: str = ""  # how ``stderr`` was obtained: "lm-eval", "binomial", "bootstrap", or "" (none)
    chance: float | None = None  # what a guesser scores: uniform over choices, or over the 256 byte values
    chance_basis: str = ""
    higher_is_better: bool | None = None

    @property
    def ci95(self) -> tuple[float, float] | None:
        """95 % interval: Wilson's for a binomial accuracy (it stays inside [0, 1] for small n),
        value +- 1.96 stderr otherwise."""
        if self.stderr is None:
            return None
        if self.stderr_basis == "binomial" and self.n:
            z, n, p = 1.96, self.n, self.value
            centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
            return (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)
        return self.value - 1.96 * self.stderr, self.value + 1.96 * self.stderr


@dataclass(frozen=True)
class LanguageMix:
    """Languages of the documents training read, from the labels the corpus stages wrote:
    fastText's ISO code (``metadata.language`` with a ``language_score``) for text, the
    detected programming language for code read from repositories."""

    natural: dict[str, tuple[int, int]]  # ISO 639 code -> (documents, characters)
    code: dict[str, tuple[int, int]]  # programming language -> (documents, characters)
    unlabelled: tuple[int, int]
    files: list[str]  # run-relative document files that were read
    stage: str  # the manifest whose documents these are

    @property
    def characters(self) -> int:
        return sum(c for _, c in [*self.natural.values(), *self.code.values(), self.unlabelled])

    def hub_languages(self, min_share: float = 0.01) -> list[str]:
        """Card ``language`` metadata: natural languages holding at least ``min_share`` of the
        characters, most first, then ``code`` when code documents were trained on."""
        total = self.characters or 1
        out = [k for k, (_, c) in sorted(self.natural.items(), key=lambda kv: (-kv[1][1], kv[0])) if c / total >= min_share]
        return out + (["code"] if self.code else [])


@dataclass(frozen=True)
class PhaseFacts:
    """One training phase: its token mixture (``data.<phase>``) and its steps (``train.<phase>``)."""

    name: str
    seq_len: int | None
    tokens: int  # tokens packed into the phase's shards
    by_source: dict[str, int]  # recipe -> tokens packed
    weights: dict[str, float]  # recipe -> mixture weight asked for
    about: str
    steps: int | None = None
    batch_size: int | None = None  # sequences per optimizer step
    loss: tuple[tuple[int, float], tuple[int, float]] | None = None  # (step, loss) first and last logged


@dataclass(frozen=True)
class RecipeFacts:
    """A corpus recipe as its stage manifests recorded it."""

    name: str
    stages: list[str]  # stage names without the recipe prefix, upstream first
    sources: list[str]  # raw source kinds it reads (web, text, code)
    seen: int  # documents that entered it (kept + dropped + quarantined over its stages)
    kept: int  # documents its last stage kept
    dropped: dict[str, int]  # reason -> documents, over all its stages


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
    recipes: list[RecipeFacts] = field(default_factory=list)
    languages: LanguageMix | None = None
    phases: list[PhaseFacts] = field(default_factory=list)
    parameters: int | None = None  # weights in the final checkpoint
    optimizer: dict = field(default_factory=dict)  # the training recipe's optimizer and schedule settings
    data_release: str | None = None  # the "Releasing the compiled data" section of the sources listing
    data_release_note: str = ""  # where it was read from, or why it is missing

    @property
    def final_evals(self) -> list[EvalRow]:
        """The results of the final checkpoint (all results when the run evaluated only one)."""
        if len({r.checkpoint for r in self.evals}) <= 1:
            return self.evals
        return [r for r in self.evals if r.checkpoint == "final"]

    @property
    def corpus_stages(self) -> list[StageStat]:
        """Stages of the corpus recipes (their manifests name the recipe in their config)."""
        names = {f"{r.name}.{s}" for r in self.recipes for s in r.stages}
        return [s for s in self.stages if s.name in names]

    def manifest(self, stage: str) -> dict | None:
        """The (last recorded) manifest of a stage, by name."""
        found = [m for m in self.record.stage_order() if m["stage"]["name"] == stage]
        return found[-1] if found else None


def gather(run_dir: Path, record: RunRecord, config: BundleConfig, repo: Path) -> RunFacts:
    art = config.artifacts
    final, intermediate = find_checkpoints(run_dir, art.final_checkpoint, art.intermediate_checkpoints)
    stages = [StageStat(m["stage"]["name"], m["id"], m["counts"]["unit"], m["counts"]["in"], m["counts"]["kept"],
                        dict(m["counts"]["dropped"]), m["counts"]["quarantined"]) for m in record.stage_order()]
    vocab = (final.config or {}).get("vocab_size") if final else None
    evals = read_evals(run_dir, art.eval_results, run_dir / art.eval_data, vocab)
    curves = read_curves(run_dir, art.training_metrics)
    recipes = read_recipes(record)
    release, note = read_release_section(record, repo / config.corpus.data_dir)
    return RunFacts(record, stages, final, intermediate, evals, curves, read_weights(run_dir, record),
                    corpus_licences(repo / config.corpus.data_dir), recipes, read_languages(run_dir, record, recipes),
                    read_phases(record, curves), parameter_count(final), read_optimizer(record), release, note)


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
    from glassworks.release.bundle.notices import corpus_annotations

    return sorted({licence for licence, _ in corpus_annotations(data_dir).values() if licence})


# --- corpus, languages, phases: read from the stage manifests and the files they record --------

RELEASE_SECTION = "## Releasing the compiled data"
LANGUAGE_READ_LIMIT = 1 << 30  # compressed bytes of documents read to count languages; beyond, a prefix


def read_recipes(record: RunRecord) -> list[RecipeFacts]:
    """Corpus recipes in run order; a recipe stage's manifest names its recipe in its config."""
    by_recipe: dict[str, list[dict]] = {}
    for m in record.stage_order():
        recipe = m["config"].get("recipe") if isinstance(m.get("config"), dict) else None
        if isinstance(recipe, str) and m["counts"]["unit"] == "documents":
            by_recipe.setdefault(recipe, []).append(m)
    out = []
    for recipe, ms in by_recipe.items():
        dropped: dict[str, int] = {}
        sources: set[str] = set()
        for m in ms:
            if isinstance(m["config"].get("sources"), dict):
                sources |= set(m["config"]["sources"])
            for reason, count in m["counts"]["dropped"].items():
                dropped[reason] = dropped.get(reason, 0) + count
        entered = ms[-1]["counts"]["kept"] + sum(dropped.values()) + sum(m["counts"]["quarantined"] for m in ms)
        out.append(RecipeFacts(recipe, [m["stage"]["name"].split(".", 1)[-1] for m in ms], sorted(sources),
                               entered, ms[-1]["counts"]["kept"], dropped))
    return out


def _document_files(record: RunRecord, recipes: list[RecipeFacts]) -> tuple[str, list[str]]:
    """(stage, files) of the documents training read: the token stage's document inputs, else
    what global dedup kept, else the kept outputs of each recipe's last stage."""
    def docs(files):
        return sorted(r["path"] for r in files if r.get("root", "run") == "run" and "/dropped/" not in r["path"]
                      and "/removed/" not in r["path"] and r["path"].endswith((".jsonl.gz", ".jsonl")))

    for m in reversed(record.stage_order()):
        if m["stage"]["name"] == "data.tokenize" and docs(m["inputs"]["files"]):
            return m["id"], docs(m["inputs"]["files"])
    for m in reversed(record.stage_order()):
        if m["stage"]["name"] == "dedup":
            kept = [f for f in docs(m["outputs"]["files"]) if "/kept/" in f]
            if kept:
                return m["id"], kept
    last = {}
    for m in record.stage_order():
        if m["stage"]["name"].split(".", 1)[0] in {r.name for r in recipes}:
            last[m["stage"]["name"].split(".", 1)[0]] = m
    files = [f for m in last.values() for f in docs(m["outputs"]["files"])]
    return ", ".join(m["id"] for m in last.values()), sorted(files)


def read_languages(run_dir: Path, record: RunRecord, recipes: list[RecipeFacts]) -> LanguageMix | None:
    stage, files = _document_files(record, recipes)
    natural: dict[str, list[int]] = {}
    code: dict[str, list[int]] = {}
    unlabelled = [0, 0]
    read, budget = [], LANGUAGE_READ_LIMIT
    for rel in files:
        path = run_dir / rel
        if not path.is_file() or budget <= 0:
            continue
        budget -= path.stat().st_size
        read.append(rel)
        opener = gzip.open if rel.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                try:
                    doc = json.loads(line)
                except json.JSONDecodeError:
                    continue
                meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
                label, chars = meta.get("language"), len(doc.get("text") or "")
                if isinstance(label, str) and "language_score" in meta:
                    slot = natural.setdefault(label, [0, 0])
                elif isinstance(label, str) and ("repo" in meta or meta.get("source") == "code"):
                    slot = code.setdefault(label, [0, 0])
                else:
                    slot = unlabelled
                slot[0] += 1
                slot[1] += chars
    if not read:
        return None
    return LanguageMix({k: tuple(v) for k, v in natural.items()}, {k: tuple(v) for k, v in code.items()},
                       tuple(unlabelled), read, stage)


def read_phases(record: RunRecord, curves: dict[str, list[tuple[int, float]]]) -> list[PhaseFacts]:
    """Phases from the mixture manifests (``config.phase``) joined with the training recipe's
    per-phase steps and batch size, and the first and last logged loss of each phase."""
    steps: dict[str, dict] = {}
    for m in record.stage_order():
        recipe = m["config"].get("recipe") if isinstance(m.get("config"), dict) else None
        for phase in recipe.get("phases", []) if isinstance(recipe, dict) else []:
            if isinstance(phase, dict) and isinstance(phase.get("name"), str):
                steps[phase["name"]] = phase
    out = []
    for m in record.stage_order():
        phase = m["config"].get("phase") if isinstance(m.get("config"), dict) else None
        if not (isinstance(phase, dict) and m["counts"]["unit"] == "tokens" and isinstance(phase.get("name"), str)):
            continue
        name = phase["name"]
        parts = m["counts"].get("parts", {})
        series = [p for key, points in sorted(curves.items()) if key.endswith(f"({name})") for p in points]
        train = steps.get(name, {})
        out.append(PhaseFacts(
            name, phase.get("seq_len"), m["counts"]["kept"],
            {src: c["kept"] for src, c in sorted(parts.items()) if isinstance(c, dict)},
            {k: float(v) for k, v in sorted((phase.get("weights") or {}).items())}, str(phase.get("about") or ""),
            train.get("steps"), train.get("batch_size"), (series[0], series[-1]) if series else None))
    return out


def read_optimizer(record: RunRecord) -> dict:
    for m in record.stage_order():
        recipe = m["config"].get("recipe") if isinstance(m.get("config"), dict) else None
        if isinstance(recipe, dict) and isinstance(recipe.get("optimizer"), dict):
            return {**recipe["optimizer"], **(recipe.get("schedule") or {}), "seed": recipe.get("seed")}
    return {}


def parameter_count(final: Checkpoint | None) -> int | None:
    """Weights in the final checkpoint, from its safetensors header (no tensor is loaded)."""
    if final is None:
        return None
    total = 0
    for path in sorted(final.source.glob("*.safetensors")):
        with open(path, "rb") as handle:
            size = int.from_bytes(handle.read(8), "little")
            header = json.loads(handle.read(size))
        total += sum(math.prod(t["shape"]) for k, t in header.items() if k != "__metadata__")
    return total or None


def read_release_section(record: RunRecord, data_dir: Path) -> tuple[str | None, str]:
    """The sources listing's section on releasing the compiled data, when the listing the
    run's ``sources`` stage recorded is still the one in ``data_dir`` (same sha256)."""
    manifest = next((m for m in reversed(record.stage_order()) if m["stage"]["name"] == "sources"), None)
    listing = manifest["config"].get("listing") if manifest else None
    if not isinstance(listing, str):
        return None, "the run recorded no sources listing"
    recorded = next((r["sha256"] for r in manifest["inputs"]["files"] if r["path"] == listing), None)
    path = data_dir / listing
    if not path.is_file():
        return None, f"the sources listing {listing} that the run recorded is not in {data_dir}"
    if recorded and sha256_file(path)[0] != recorded:
        return None, (f"{listing} has changed since the run recorded it (manifest {manifest['id']}); "
                      "its licence reasoning is not quoted for a corpus it may no longer describe")
    text = path.read_text(encoding="utf-8")
    start = text.find("\n" + RELEASE_SECTION)
    if start < 0:
        return None, f"{listing} (recorded by manifest {manifest['id']}) has no section \"{RELEASE_SECTION[3:]}\""
    body = text[start + len(RELEASE_SECTION) + 1:]
    end = body.find("\n## ")
    section = (body if end < 0 else body[:end]).strip()
    return (section or None), f"{listing}, as recorded by manifest {manifest['id']}"

# --- evaluation results, with the uncertainty and the baseline each number needs -------------

ACCURACY = ("acc", "acc_norm", "exact_match")  # means of 0/1 item scores: binomial stderr applies
UNIFORM_BYTE = "a uniform guess over the 256 byte values"


def read_evals(run_dir: Path, where: Path, suite: Path | None = None, vocab: int | None = None) -> list[EvalRow]:
    """Rows of lm-eval style results (``{"results": {task: {"acc,none": 0.5, ...}}}``), each
    with its item count, a standard error and a chance baseline where the records allow one.

    The standard error is lm-eval's when it computed one; for an accuracy it is otherwise the
    binomial one, sqrt(p(1-p)/(n-1)) (lm-eval's own formula for a mean of 0/1 scores); for a
    perplexity metric it is a bootstrap over documents when per-document scores were kept
    (lm-eval's ``samples_<task>*.jsonl``), else none. Chance: uniform over each item's choices
    (read from the task data ``suite``), or over the 256 byte values for byte-level metrics.
    """
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
        configs = value.get("configs") if isinstance(value.get("configs"), dict) else {}
        better = value.get("higher_is_better") if isinstance(value.get("higher_is_better"), dict) else {}
        for task, metrics in sorted(results.items()):
            if not isinstance(metrics, dict):
                continue
            n = _n_items(value, task, metrics)
            task_config = configs.get(task) if isinstance(configs.get(task), dict) else {}
            docs = _task_docs(suite, task, task_config, n)
            per_doc = _per_document(path.parent, task)
            for key, number in sorted(metrics.items()):
                metric = key.split(",")[0]
                if metric.endswith("_stderr") or metric in ("alias", "sample_len") or not isinstance(number, (int, float)):
                    continue
                if isinstance(number, bool):
                    continue
                stderr = metrics.get(key.replace(metric, f"{metric}_stderr", 1))
                stderr, basis = _stderr(metric, float(number), stderr, n, per_doc.get(metric))
                chance, chance_basis = _chance(metric, task_config, docs, vocab)
                hib = better.get(task, {}).get(metric) if isinstance(better.get(task), dict) else None
                rows.append(EvalRow(task, metric, float(number), stderr, path.relative_to(run_dir).as_posix(),
                                    checkpoint, n, basis, chance, chance_basis,
                                    hib if isinstance(hib, bool) else _higher_is_better(metric)))
    return rows


def _higher_is_better(metric: str) -> bool | None:
    if metric in ACCURACY:
        return True
    if metric in ("loss", "bits_per_byte", "byte_perplexity", "word_perplexity", "perplexity"):
        return False
    return None


def _n_items(value: dict, task: str, metrics: dict) -> int | None:
    counts = value.get("n-samples", {}).get(task) if isinstance(value.get("n-samples"), dict) else None
    if isinstance(counts, dict) and isinstance(counts.get("effective"), int):
        return counts["effective"]
    return metrics.get("sample_len") if isinstance(metrics.get("sample_len"), int) else None


def _stderr(metric: str, value: float, recorded, n: int | None, per_doc: list | None) -> tuple[float | None, str]:
    if isinstance(recorded, (int, float)) and not isinstance(recorded, bool) and math.isfinite(recorded):
        return float(recorded), "lm-eval"
    if metric in ACCURACY and n and n > 1 and 0.0 <= value <= 1.0:
        return math.sqrt(value * (1.0 - value) / (n - 1)), "binomial"
    if per_doc and len(per_doc) > 1:
        return _bootstrap(metric, per_doc), "bootstrap"
    return None, ""


def _aggregate(metric: str, pairs) -> float:
    """lm-eval's corpus-level aggregate of per-document (log-likelihood, units) pairs."""
    ll, units = sum(p[0] for p in pairs), sum(p[1] for p in pairs)
    if metric == "bits_per_byte":
        return -ll / units / math.log(2)
    return math.exp(-ll / units)  # byte_perplexity, word_perplexity


def _bootstrap(metric: str, per_doc: list, draws: int = 1000) -> float | None:
    """Standard deviation of the metric over documents resampled with replacement (seed 0)."""
    import numpy as np

    rng = np.random.default_rng(0)
    if all(isinstance(p, (list, tuple)) and len(p) == 2 for p in per_doc):
        pairs = np.asarray(per_doc, dtype=float)
        stats = [_aggregate(metric, pairs[rng.integers(0, len(pairs), len(pairs))]) for _ in range(draws)]
    elif all(isinstance(p, (int, float)) for p in per_doc):
        values = np.asarray(per_doc, dtype=float)
        stats = [values[rng.integers(0, len(values), len(values))].mean() for _ in range(draws)]
    else:
        return None
    return float(np.std(stats, ddof=1))


def _per_document(folder: Path, task: str) -> dict[str, list]:
    """metric -> per-document scores, from lm-eval's sample logs next to the results, if kept."""
    out: dict[str, list] = {}
    for path in sorted(folder.glob(f"samples_{task}*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                sample = json.loads(line)
            except json.JSONDecodeError:
                continue
            for metric, score in sample.items() if isinstance(sample, dict) else ():
                if metric in ACCURACY or metric in ("bits_per_byte", "byte_perplexity", "word_perplexity"):
                    out.setdefault(metric, []).append(score)
    return out


def _task_docs(suite: Path | None, task: str, config: dict, n: int | None) -> list[dict]:
    """The first ``n`` items of the task's data file (lm-eval's --limit takes the first ones)."""
    data = config.get("dataset_kwargs", {}).get("data_files", {}) if isinstance(config.get("dataset_kwargs"), dict) else {}
    test = data.get("test") if isinstance(data, dict) else None
    name = Path(str(test)).name if test else f"{task}.jsonl"
    path = suite / name if suite is not None else None
    if path is None or not path.is_file():
        return []
    docs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if n is not None and len(docs) >= n:
            break
        try:
            doc = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(doc, dict):
            docs.append(doc)
    return docs


def _chance(metric: str, config: dict, docs: list[dict], vocab: int | None) -> tuple[float | None, str]:
    if metric in ("acc", "acc_norm") and config.get("output_type") == "multiple_choice":
        field_name = config.get("doc_to_choice")
        sizes = [len(d[field_name]) for d in docs if isinstance(field_name, str) and isinstance(d.get(field_name), list)]
        if sizes and len(sizes) == len(docs) and all(sizes):
            mean = sum(1 / k for k in sizes) / len(sizes)
            ks = sorted(set(sizes))
            return mean, f"a uniform guess among the {ks[0]} choices" if len(ks) == 1 else \
                f"a uniform guess among each item's {ks[0]} to {ks[-1]} choices"
    if metric == "bits_per_byte":
        return 8.0, UNIFORM_BYTE
    if metric == "byte_perplexity":
        return 256.0, UNIFORM_BYTE
    if metric == "word_perplexity" and docs:
        target = config.get("doc_to_target")
        texts = [d[target] for d in docs if isinstance(target, str) and isinstance(d.get(target), str)]
        words = sum(len(re.split(r"\s+", t)) for t in texts)
        if texts and words:
            return 256.0 ** (sum(len(t.encode("utf-8")) for t in texts) / words), UNIFORM_BYTE
    if metric == "loss" and vocab:
        return math.log(vocab), f"a uniform guess over the {vocab}-token vocabulary"
    return None, ""
