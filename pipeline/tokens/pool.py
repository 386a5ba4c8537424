"""Stage ``data.tokenize``: every usable document of every source, tokenized once.

The phases draw from these pools, so a document up-sampled three times or used by two
phases is tokenized once. Per source, ``<run>/data/tokenized/<source>/`` holds:

    shards/<file>-<part>.npy  1-D ids of the documents of one input file back to back (no BOS/EOS),
                              tokenizer dtype, at most SHARD_TOKENS ids a shard
    shards.json               the shards in order with their tokens and documents
    documents.npy             per document: offset (in the shards taken back to back) and length in
                              tokens (int64), weight (float64), id (uint64, xxh3-64 of the document's
                              id: what its draws are keyed by)
    documents.jsonl.gz        per document, same order: its id and key (folder/file:line), to trace back

and ``pool.json`` sums it up (documents, tokens, weights, texts repaired per source).

Tokenization runs as datatrove tasks (tokenize_step.py) on the corpus executors: local, Ray or
Slurm. Each input file is a unit of work whose shards and index do not depend on which task
ran it, and this module joins the units in reading order, so the pool is byte-identical for
any number of tasks or workers and on any executor; memory stays flat however large the corpus.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from glassworks.errors import GlassworksError
from glassworks.pipeline.executors import ExecutorConfig
from glassworks.pipeline.tokens.sources import Bad, CorpusConfig, list_files
from glassworks.pipeline.tokens.tokenize_step import DOC, SHARD_TOKENS, TokenizeStep, Unit, id_hash
from glassworks.pipeline.tokens.tokenizer import MODEL_FILE, Tokenizer, split_points
from glassworks.provenance.atomic import atomic_write_json

__all__ = ["DOC", "SHARD_TOKENS", "STAGE", "VERSION", "Encoder", "PoolResult", "SourcePool", "id_hash",
           "plan_tokenize", "render_slurm", "tokenize_sources"]

STAGE = "data.tokenize"
VERSION = "3"  # 3: token shards per input file, written by datatrove tasks
BATCH_CHARS = 1 << 20  # characters per unit of work sent to a worker


@dataclass
class SourcePool:
    """One source's tokenized documents, memory-mapped (the shards and the index alike: a pool
    of billions of documents opens in no memory at all; a shard is mapped when first read)."""

    name: str
    documents: np.ndarray  # DOC records
    shard_files: list[Path]
    starts: np.ndarray  # int64: where each shard starts in the shards taken back to back
    folder: Path | None = None  # where it lies (documents.jsonl.gz holds the ids in full)
    _mapped: dict = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, folder: Path) -> "SourcePool":
        try:
            listing = json.loads((folder / "shards.json").read_text(encoding="utf-8"))["shards"]
        except (OSError, ValueError, KeyError) as exc:
            raise GlassworksError(f"{folder / 'shards.json'}: cannot read the token pool's shard list ({exc})") from None
        tokens = np.array([s["tokens"] for s in listing], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(tokens)[:-1]]).astype(np.int64) if len(tokens) else tokens
        return cls(folder.name, np.load(folder / "documents.npy", mmap_mode="r"),
                   [folder / "shards" / s["file"] for s in listing], starts, folder)

    @property
    def shards(self) -> list[np.ndarray]:
        """Every shard, memory-mapped."""
        return [self.shard(k) for k in range(len(self.shard_files))]

    def shard(self, k: int) -> np.ndarray:
        if k not in self._mapped:
            self._mapped[k] = np.load(self.shard_files[k], mmap_mode="r")
        return self._mapped[k]

    def document(self, i: int) -> np.ndarray:
        d = self.documents[i]
        offset, length = int(d["offset"]), int(d["length"])
        k = int(np.searchsorted(self.starts, offset, side="right")) - 1
        start = offset - int(self.starts[k])
        return self.shard(k)[start:start + length]


@dataclass
class PoolResult:
    folder: Path
    inputs: list[Path] = field(default_factory=list)
    bad: list[Bad] = field(default_factory=list)
    summary: dict = field(default_factory=dict)


# --- workers -----------------------------------------------------------------------------

_WORKER: Tokenizer | None = None


def _init_worker(model_proto: bytes) -> None:
    global _WORKER
    _WORKER = Tokenizer(model_proto)


def _encode_batch(texts: list[str]) -> list[np.ndarray]:
    # texts are clean and chunked already; encode_chunks keeps a literal '▁' as its bytes, as the tokenizer does
    return _WORKER.encode_chunks(texts)


class Encoder:
    """Ordered encoding of (document, text) pairs into id arrays, long texts in chunks; the
    parallelism is the datatrove tasks of data.tokenize, each running one encoder."""

    def __init__(self, tokenizer_dir: Path):
        self.model = (tokenizer_dir / MODEL_FILE).read_bytes()
        self._parts: list[np.ndarray] = []  # chunks of a document whose last chunk is still to come

    def run(self, items: Iterator[tuple[object, str]]) -> Iterator[tuple[object, np.ndarray]]:
        _init_worker(self.model)
        for owners, texts in self._batches(items):
            yield from self._join(owners, _encode_batch(texts))

    @staticmethod
    def _batches(items) -> Iterator[tuple[list, list[str]]]:
        """Batches of text chunks; ``owners[i]`` is (document, is its last chunk)."""
        owners, texts, size = [], [], 0
        for owner, text in items:
            spans = list(split_points(text))
            for k, (a, b) in enumerate(spans):
                owners.append((owner, k == len(spans) - 1))
                texts.append(text[a:b])
                size += b - a
                if size >= BATCH_CHARS:
                    yield owners, texts
                    owners, texts, size = [], [], 0
        if texts:
            yield owners, texts

    def _join(self, owners, arrays) -> Iterator[tuple[object, np.ndarray]]:
        for (owner, last), ids in zip(owners, arrays):
            self._parts.append(ids)
            if last:
                parts, self._parts = self._parts, []
                yield owner, parts[0] if len(parts) == 1 else np.concatenate(parts)


# --- the stage ---------------------------------------------------------------------------


@dataclass
class TokenizePlan:
    """The stage ready to run: its units, where they write, and the key of its partial outputs."""

    units: list[Unit]
    inputs: list[Path]
    out: Path
    logs: Path
    key: str
    step: TokenizeStep

    def prepare(self) -> None:
        """Keep the shards and completion markers of an earlier run (tasks run on a cluster,
        a crash) only if they came from exactly these inputs and settings; else start afresh."""
        from glassworks.provenance.atomic import atomic_write_text

        marker = self.logs / "stage-config.sha256"
        if marker.is_file() and marker.read_text() == self.key and self.out.is_dir():
            return
        shutil.rmtree(self.out, ignore_errors=True)
        shutil.rmtree(self.logs, ignore_errors=True)
        self.out.mkdir(parents=True)
        atomic_write_text(marker, self.key)


def plan_tokenize(corpus: CorpusConfig, names: list[str], tokenizer_dir: Path, run_dir: Path, tasks: int,
                  shard_tokens: int = SHARD_TOKENS) -> TokenizePlan:
    """List every input file as a unit, without running anything."""
    from glassworks.canonical import canonical_sha256
    from glassworks.provenance.hashing import sha256_file

    units, inputs, seen = [], [], []
    for name in names:
        files = list_files(corpus, name, run_dir)
        inputs.extend(files.paths)
        units.extend(Unit(name, n, folder, path) for n, (folder, path) in enumerate(files.files))
        for path in files.paths:
            stat = path.stat()
            seen.append([name, str(path), stat.st_size, stat.st_mtime_ns])
    out = run_dir / "data" / "tokenized"
    logs = run_dir / "logs" / STAGE
    key = canonical_sha256({"version": VERSION, "corpus": corpus, "names": names, "tasks": tasks,
                            "shard_tokens": shard_tokens, "files": seen,
                            "tokenizer": sha256_file(tokenizer_dir / MODEL_FILE)[0]})
    step = TokenizeStep(units, corpus, run_dir, tokenizer_dir, out, logs / "units", shard_tokens)
    return TokenizePlan(units, inputs, out, logs, key, step)


def _executor_config(workers: int | ExecutorConfig) -> ExecutorConfig:
    if isinstance(workers, ExecutorConfig):
        return workers
    return ExecutorConfig(kind="local", tasks=workers, workers=workers)


def tokenize_sources(corpus: CorpusConfig, names: list[str], tokenizer_dir: Path, run_dir: Path,
                     counts, workers: int | ExecutorConfig = 1, progress=None,
                     shard_tokens: int = SHARD_TOKENS) -> PoolResult:
    """Tokenize the named sources into ``<run>/data/tokenized/``; every record is accounted
    for in ``counts`` (a recorder's Counts, unit documents).

    ``workers`` is a number of local tasks run at once, or the executor config to run the
    tasks on (Ray; Slurm tasks rendered by render_slurm are run on the cluster first and found
    complete here). The output depends on neither.
    """
    from glassworks.pipeline.executors import make_executor
    from glassworks.pipeline.ingest import run_quietly

    executor = _executor_config(workers)
    plan = plan_tokenize(corpus, names, tokenizer_dir, run_dir, executor.tasks, shard_tokens)
    plan.prepare()
    if executor.kind == "slurm":  # the cluster ran the tasks; here they are found complete (or run)
        executor = ExecutorConfig(kind="local", tasks=executor.tasks, workers=1)
    # spawn: the demo and the tests tokenize in a process that has run torch and SentencePiece
    # threads; a forked worker hung on a lock one of them held (the demo-determinism test in CI)
    run_quietly(make_executor(executor, [plan.step], plan.logs, job_name=STAGE, start_method="spawn"),
                plan.logs, STAGE)
    return _assemble(plan, names, Tokenizer.load(tokenizer_dir), counts, progress)


def render_slurm(corpus: CorpusConfig, names: list[str], tokenizer_dir: Path, run_dir: Path,
                 executor: ExecutorConfig, submit: bool = False, shard_tokens: int = SHARD_TOKENS) -> Path:
    """Write the sbatch array job of the tokenize tasks (``submit``: and launch it); once it has
    run, `data build` with the same task count records the stage from the finished tasks."""
    import copy

    import dill
    from datatrove.io import get_datafolder

    from glassworks.pipeline.executors import make_executor

    plan = plan_tokenize(corpus, names, tokenizer_dir, run_dir, executor.tasks, shard_tokens)
    plan.prepare()
    job = make_executor(ExecutorConfig(kind="slurm", tasks=executor.tasks, workers=executor.workers,
                                       slurm=executor.slurm), [plan.step], plan.logs, job_name=STAGE)
    if submit:
        job.run()  # datatrove pickles the executor, writes launch_script.slurm, calls sbatch
        return plan.logs / "launch_script.slurm"
    folder = get_datafolder(str(plan.logs))
    with folder.open("executor.pik", "wb") as handle:
        dill.dump(copy.copy(job), handle)
    with folder.open("ranks_to_run.json", "w") as handle:  # what each array task reads
        json.dump(job.get_incomplete_ranks(), handle)
    script = job.get_launch_file_contents(job.get_sbatch_args(max_array=executor.tasks),
                                          f"srun -l -n 1 launch_pickled_pipeline {folder.resolve_paths('executor.pik')}")
    path = run_dir / "slurm" / f"{STAGE}.slurm"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(script, encoding="utf-8")
    return path


def _assemble(plan: TokenizePlan, names: list[str], tokenizer: Tokenizer, counts, progress) -> PoolResult:
    """Join the units of each source, in reading order, into its pool (pool.py's docstring)."""
    from glassworks.provenance.atomic import atomic_open

    result = PoolResult(plan.out, list(plan.inputs))
    work = plan.logs / "units"
    sources = {}
    for name in names:
        units = [u for u in plan.units if u.source == name]
        summaries = []
        for unit in units:
            path = work / name / f"{unit.stem}.json"
            if not path.is_file():
                raise GlassworksError(f"{path}: missing: the task that tokenizes {unit.path} did not finish "
                                      f"(logs in {plan.logs / 'logs'})")
            summaries.append(json.loads(path.read_text(encoding="utf-8")))
        part = counts.part(name)  # the manifest's documents per source
        part.add_in(sum(s["in"] for s in summaries))
        part.keep(sum(s["kept"] for s in summaries))
        part.quarantine(sum(s["quarantined"] for s in summaries))
        for s in summaries:
            for reason, n in s["dropped"].items():
                part.drop(reason, n)
        folder = plan.out / name
        folder.mkdir(parents=True, exist_ok=True)
        total = sum(s["kept"] for s in summaries)
        scratch = folder / ".documents.npy.tmp"
        documents = np.lib.format.open_memmap(scratch, mode="w+", dtype=DOC, shape=(total,))
        at, base = 0, 0
        with atomic_open(folder / "documents.jsonl.gz", "wb") as ids:
            for unit, s in zip(units, summaries):
                local = np.load(work / name / f"{unit.stem}.documents.npy", mmap_mode="r")
                documents[at:at + len(local)] = local
                documents["offset"][at:at + len(local)] += base
                at, base = at + len(local), base + s["tokens"]
                with open(work / name / f"{unit.stem}.ids.jsonl.gz", "rb") as member:  # gzip members join
                    shutil.copyfileobj(member, ids, 16 << 20)
                with open(work / name / f"{unit.stem}.bad.jsonl", encoding="utf-8") as bad:
                    result.bad.extend(Bad(**json.loads(line)) for line in bad)
        documents.flush()
        weight_sum = float(documents["weight"].sum())  # as one array: the same float on any split
        del documents
        scratch.replace(folder / "documents.npy")
        shards = [shard for s in summaries for shard in s["shards"]]
        atomic_write_json(folder / "shards.json", {"shards": shards, "documents": total, "tokens": base})
        sources[name] = {"documents": total, "tokens": base, "weight_sum": weight_sum,
                         "texts_repaired": sum(s["texts_repaired"] for s in summaries)}
        if progress is not None:
            progress(base)
    result.summary = {"format": "glassworks.token-pool/v3", "dtype": tokenizer.dtype.name,
                      "vocab_size": tokenizer.vocab_size, "sources": sources}
    atomic_write_json(plan.out / "pool.json", result.summary)
    return result
