"""``train(config, run_dir)``: the three phases, checkpoints, resume, signals, provenance.

    RUN/
      data/<phase>/              packed shards (input, from `glassworks data build`)
      tokenizer/                 copied into every checkpoint (input)
      checkpoints/step0000000-tokens0000000000000/ ...   kept on the Pythia-like schedule
      checkpoints/final/         the end of the last phase
      train/resume/              the latest resumable state (removed once training is done)
      logs/train/metrics.jsonl   one line per step
      reports/train-loss.png     loss and learning rate per step, by phase
      manifests/train.<phase>-<id>.json

Each finished phase is one recorded stage ``train.<phase>``: inputs are its index.json
(linking the ``data.<phase>`` manifest, which hashes every shard), the tokenizer and the
sidecar of the checkpoint it starts from (linking the previous phase); outputs are the
checkpoints it wrote. Counts are sequences of the phase: ``in`` all of them, ``kept`` those
trained on, ``dropped.not_trained`` the rest. Phases are recorded when a run ends (or stops
at ``stop_at``), by rank 0 after the last collective: hashing a 7B run's checkpoints outlasts
any collective timeout the other ranks could wait in.

Running the same command again resumes from the most advanced resumable checkpoint
(``train/resume`` or a kept one) and continues with the same batches, so on the CPU the
losses after a resume are bit-identical to those of an uninterrupted run. With
``checkpoints.storage: dcp`` the trainer state is sharded (model/train/state.py) and a
run may resume on another number of ranks: batches, schedule and RNG follow the global
step, and each rank's slice of a step is a function of (step, rank, world size). SIGTERM or
SIGINT finish the current step, write ``train/resume`` and stop; a second signal kills.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path

from glassworks.config import config_hash
from glassworks.errors import GlassworksError
from glassworks.model.config import ModelConfig, parameter_count, preset
from glassworks.model.train.config import TrainConfig

STAGE_VERSION = "1"
RESUME_DIR = Path("train") / "resume"
METRICS_FILE = Path("logs") / "train" / "metrics.jsonl"
PLOT_FILE = Path("reports") / "train-loss.png"


@dataclass
class PhaseResult:
    name: str
    seq_len: int
    steps: tuple[int, int]  # global steps (first, last) of the phase
    first_loss: float | None
    last_loss: float | None
    checkpoints: list[str]  # directories under checkpoints/
    manifest_id: str | None


@dataclass
class TrainSummary:
    """What `train` did; ``complete`` is False when it stopped early (signal or ``stop_at``)."""

    run_dir: Path
    model: ModelConfig
    complete: bool
    step: int
    total_steps: int
    tokens_seen: int
    stopped_by: str | None = None
    final: Path | None = None
    metrics: Path | None = None
    plot: Path | None = None
    phases: list[PhaseResult] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"model: {self.model_name()} ({parameter_count(self.model):,} parameters)"]
        for p in self.phases:
            loss = f"loss {p.first_loss:.3f} -> {p.last_loss:.3f}" if p.first_loss is not None else "not trained yet"
            out.append(f"train.{p.name}: ctx {p.seq_len}, steps {p.steps[0]}-{p.steps[1]}, {loss}, "
                       f"{len(p.checkpoints)} checkpoint(s)")
        state = "complete" if self.complete else f"stopped ({self.stopped_by}); run again to resume"
        out.append(f"{state}: step {self.step}/{self.total_steps}, {self.tokens_seen:,} tokens"
                   + (f" -> {self.final}" if self.final else ""))
        return out

    def model_name(self) -> str:
        return f"{self.model.n_layers} layers x {self.model.dim}"


class _Stop(Exception):
    """Leaves a phase's recorder without writing its manifest (the phase is not finished)."""

    def __init__(self, reason: str, cursor):
        super().__init__(reason)
        self.cursor = cursor


def model_config_for(config: TrainConfig, vocab_size: int, max_seq_len: int) -> ModelConfig:
    return preset(config.model, vocab_size=vocab_size, max_seq_len=max_seq_len)


def train(config: TrainConfig, run_dir: str | Path, progress: bool = False, stop_at: int | None = None) -> TrainSummary:
    """Train (or resume) every phase of ``config`` in ``run_dir``; ``stop_at`` stops after
    that global step with a resumable checkpoint (a time-boxed job's way to end cleanly).
    Under torchrun every rank calls this."""
    from glassworks.model.train import parallel

    env, device = parallel.init(config.runtime.parallel, config.runtime.device)
    try:
        return _Run(config, Path(run_dir), env, device, progress).go(stop_at)
    finally:
        parallel.shutdown(env)


class _Run:
    def __init__(self, config: TrainConfig, run_dir: Path, env, device, progress: bool):
        import torch

        from glassworks.model.checkpoint import tokenizer_files
        from glassworks.model.train.data import PhaseData
        from glassworks.provenance.hashing import sha256_file

        self.config, self.run_dir, self.env, self.device, self.progress = config, run_dir, env, device, progress
        if config.runtime.threads:
            torch.set_num_threads(config.runtime.threads)
        self.tokenizer = config.resolve(run_dir, config.tokenizer)
        tokenizer_files(self.tokenizer)  # every checkpoint copies it: fail now, not at step 0
        data_root = config.resolve(run_dir, config.data)
        self.phase_dirs = [data_root / p.name for p in config.phases]
        self.data = [PhaseData.open(d, p.name, p.batch_size, config.seed) for d, p in zip(self.phase_dirs, config.phases)]
        vocab = {d.dataset.vocab_size for d in self.data}
        if len(vocab) != 1:
            raise GlassworksError(f"{data_root}: the phases were packed with different vocabularies {sorted(vocab)}")
        self.steps = [p.steps or d.steps_per_pass for p, d in zip(config.phases, self.data)]
        self.starts = [sum(self.steps[:i]) for i in range(len(self.steps))]
        self.total = sum(self.steps)
        self.model_config = model_config_for(config, vocab.pop(), max(d.seq_len for d in self.data))
        self.index_sha = {d.name: sha256_file(path / "index.json")[0] for d, path in zip(self.data, self.phase_dirs)}
        for p in config.phases:
            p.accumulation(env.world)  # refuse an indivisible batch before building anything

    # --- the loop -------------------------------------------------------------------------
    def go(self, stop_at: int | None) -> TrainSummary:
        from glassworks.model.train import parallel, state
        from glassworks.model.train.metrics import MetricsLog
        from glassworks.model.train.schedule import kept_steps
        from glassworks.model.train.trainer import Trainer

        self.trainer = Trainer(self.config, self.model_config, self.env, self.device, self.total)
        self.saver = state.Saver(self.env, self.config.checkpoints.storage)
        ends = [s + n for s, n in zip(self.starts, self.steps)]
        self.kept = set(kept_steps(self.total, self.config.checkpoints, ends))
        if self.env.is_main:
            for folder in (self.run_dir / "checkpoints", self.run_dir / "train"):
                state.remove_stale(folder)
        parallel.barrier(self.env)
        cursor = self._resume()
        self.log = MetricsLog(self.run_dir / METRICS_FILE, cursor.step) if self.env.is_main else None
        self.signalled: str | None = None
        stopped_by = None
        try:
            with self._signals():
                if cursor.step == 0 and 0 in self.kept and not self._exists(cursor):
                    self._save(cursor, self._kept_path(cursor))
                for i in range(len(self.data)):
                    if cursor.step < ends[i]:
                        cursor = self._phase(i, cursor, stop_at)
        except _Stop as stop:
            stopped_by, cursor = str(stop), stop.cursor
        finally:
            if self.log is not None:
                self.log.close()
        self.saver.wait()  # a write in flight lands before the run returns
        parallel.barrier(self.env)  # the last collective: rank 0 alone records and reports below
        if stopped_by is None or stopped_by.startswith("stop_at"):  # a signal wants a quick exit
            self._record_finished(cursor)
        return self._finish(cursor, stopped_by)

    def _phase(self, i: int, cursor, stop_at):
        from tqdm import tqdm

        from glassworks.model.train import parallel
        from glassworks.model.train.state import seed_step
        from glassworks.model.train.trainer import NonFiniteLoss

        data, end = self.data[i], self.starts[i] + self.steps[i]
        bar = tqdm(total=self.total, initial=cursor.step, unit="step", desc=f"train.{data.name}",
                   disable=None if self.progress and self.env.is_main else True, dynamic_ncols=True)
        with bar:
            while cursor.step < end:
                seed_step(self.config.seed, cursor.step)  # RNG by global step, not by history or rank
                try:
                    record = self.trainer.step(data, cursor.step - self.starts[i], cursor.step)
                except NonFiniteLoss as exc:  # every rank sees the same summed loss and norm
                    self.saver.wait()  # the last good checkpoint may still be in flight
                    raise NonFiniteLoss(f"{exc}: stopped before the update, nothing written; the last good "
                                        f"checkpoint is {self.last_good or 'none'} (resume from it, e.g. with a lower "
                                        "learning rate or optimizer.max_z_loss)") from None
                cursor = self._advance(cursor, i)
                self._log(record, cursor, data)
                bar.update(1)
                bar.set_postfix(loss=f"{record['loss']:.3f}", lr=f"{record['lr']:.2e}", refresh=False)
                if cursor.step in self.kept and cursor.step < self.total:
                    self._save(cursor, self._kept_path(cursor))
                elif cursor.step == self.total:
                    self._save(cursor, self.run_dir / "checkpoints" / "final")
                signalled = parallel.any_rank(self.signalled is not None, self.env, self.device)
                every = self.config.checkpoints.resume_every
                stop = signalled or (stop_at is not None and cursor.step >= stop_at and cursor.step < self.total)
                if stop or (every and cursor.step % every == 0 and cursor.step < self.total):
                    if not self._exists(cursor):
                        self._save(cursor, self.run_dir / RESUME_DIR)
                if stop:
                    raise _Stop(self.signalled or ("signal" if signalled else f"stop_at={stop_at}"), cursor)
        return cursor

    def _advance(self, cursor, i):
        data = self.data[i]
        step = cursor.step + 1
        return dataclasses.replace(cursor, step=step, tokens_seen=cursor.tokens_seen + data.batch_size * data.seq_len,
                                   phase=data.name, phase_index=i, phase_step=step - self.starts[i])

    def _log(self, record: dict, cursor, data) -> None:
        from glassworks.model.train.metrics import mfu, peak_flops

        if self.log is None:
            return
        tokens_per_s = record["processed_tokens"] / record["seconds"]
        self.log.write({"step": cursor.step, "phase": data.name, "phase_step": cursor.phase_step,
                        "context": data.seq_len - 1, "tokens": cursor.tokens_seen, **record,
                        "tokens_per_s": tokens_per_s,
                        "mfu": mfu(tokens_per_s, self.model_config, data.seq_len - 1, peak_flops(self.device),
                                   self.env.world)})

    # --- checkpoints ------------------------------------------------------------------------
    def _kept_path(self, cursor) -> Path:
        from glassworks.model.train.schedule import checkpoint_name

        return self.run_dir / "checkpoints" / checkpoint_name(cursor.step, cursor.tokens_seen)

    def _exists(self, cursor) -> bool:
        """A resumable checkpoint of exactly this step is already on disk."""
        from glassworks.model.train.state import cursor_of, read_trainer

        for path in (self._kept_path(cursor), self.run_dir / "checkpoints" / "final"):
            if self.saver.in_flight(path, cursor.step):
                return True
            if (path / "trainer" / "trainer.json").is_file() and cursor_of(read_trainer(path), path).step == cursor.step:
                return True
        return False

    def _save(self, cursor, path: Path) -> None:
        from glassworks.model.train import state
        from glassworks.model.train.data import data_manifest_id

        full = path.name in ("final", "resume") or self.config.checkpoints.trainer_state
        trainer = {"recipe_sha256": self.config.recipe_sha256(), "world_size": self.env.world,
                   "data_index_sha256": self.index_sha, "total_steps": self.total} if full else None
        manifest = data_manifest_id(self.run_dir, self.phase_dirs[cursor.phase_index])
        self.saver.save(path, self.trainer.model, self.trainer.optimizer, self.model_config, cursor, manifest,
                        self.tokenizer, trainer, consolidate=path != self.run_dir / RESUME_DIR)
        if full:
            self.last_good = path

    def _resume(self):
        from glassworks.model.train import state

        checkpoints = self.run_dir / "checkpoints"
        candidates = [self.run_dir / RESUME_DIR, *sorted(checkpoints.iterdir() if checkpoints.is_dir() else [])]
        found = state.latest(candidates)
        self.last_good = None
        if found is None:
            return state.Cursor(phase=self.data[0].name)
        path, info = found
        if info.get("recipe_sha256") != self.config.recipe_sha256():
            raise GlassworksError(f"{path}: this run was trained with another config (recipe sha256 "
                                  f"{str(info.get('recipe_sha256'))[:12]}...); resume it with its own config, or "
                                  "train in a new --workdir")
        if info.get("data_index_sha256") != self.index_sha:
            raise GlassworksError(f"{path}: the packed data changed since this checkpoint was written "
                                  f"(index.json hashes differ); resuming would not see the same batches")
        state.restore(path, self.trainer.model, self.trainer.optimizer, self.env)
        self.last_good = path
        return state.cursor_of(info, path)

    # --- signals -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _signals(self):
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}

        def handler(signum, frame):
            self.signalled = signal.Signals(signum).name
            for s, old in previous.items():  # a second signal is not caught: it kills
                signal.signal(s, old)

        for s in previous:
            signal.signal(s, handler)
        try:
            yield
        finally:
            for s, old in previous.items():
                signal.signal(s, old)

    # --- provenance and summary ---------------------------------------------------------------
    def _phase_config(self, i: int) -> dict:
        return {"recipe": self.config.recipe(), "phase": self.data[i].name, "model": self.model_config,
                "steps": [self.starts[i], self.starts[i] + self.steps[i]]}

    def _phase_manifest(self, i: int) -> str | None:
        digest = config_hash(self._phase_config(i))
        for path in sorted((self.run_dir / "manifests").glob(f"train.{self.data[i].name}-*.json")):
            try:
                if json.loads(path.read_text(encoding="utf-8")).get("config_sha256") == digest:
                    return path.stem
            except (OSError, ValueError):
                continue
        return None

    def _record_finished(self, cursor) -> None:
        """Record every finished phase that has no manifest yet (rank 0, after the last
        collective: hashing a large model's checkpoints takes longer than a collective's
        timeout, so no rank may be waiting on rank 0 meanwhile)."""
        if not self.env.is_main:
            return
        for i in range(len(self.data)):
            if cursor.step >= self.starts[i] + self.steps[i] and self._phase_manifest(i) is None:
                self._record(i)

    def _record(self, i: int) -> None:
        """Stage ``train.<phase>``. Inputs: the phase's index.json (it names every shard, and the
        data manifest it links to holds their hashes), the tokenizer, and the sidecar of the
        checkpoint the phase started from (it holds the weights' hash and links the previous
        phase); outputs: the phase's checkpoints."""
        from glassworks.provenance.recorder import record_stage

        data = self.data[i]
        run = self.run_dir.resolve()
        roots = {name: path for name, path in (("tokenizer", self.tokenizer), ("data", self.phase_dirs[i].parent))
                 if not path.resolve().is_relative_to(run)}
        with record_stage(self.run_dir, f"train.{data.name}", STAGE_VERSION, self._phase_config(i),
                          roots=roots, unit="sequences") as rec:
            rec.input(self.phase_dirs[i] / "index.json")
            rec.input(self.tokenizer)
            if i > 0:
                rec.input(self._phase_checkpoints(i - 1)[-1] / "state.json")
            for path in self._phase_checkpoints(i):
                rec.output(path)
            used = data.sequences_used(self.steps[i])
            rec.counts.add_in(len(data.dataset))
            rec.counts.keep(used)
            if len(data.dataset) > used:
                rec.counts.drop("not_trained", len(data.dataset) - used)

    def _phase_checkpoints(self, i: int) -> list[Path]:
        """Kept checkpoints (final included) whose sidecar names phase ``i``, by step."""
        from glassworks.model.checkpoint import read_state

        found = []
        folder = self.run_dir / "checkpoints"
        for path in sorted(folder.iterdir()) if folder.is_dir() else []:
            if path.is_dir() and not path.name.startswith(".") and (path / "state.json").is_file():
                sidecar = read_state(path)
                if sidecar.phase == self.data[i].name:
                    found.append((sidecar.step, path.name == "final", path))
        return [p for _, _, p in sorted(found)]

    def _finish(self, cursor, stopped_by: str | None) -> TrainSummary:
        from glassworks.model.train.metrics import plot_losses, read_metrics

        complete = cursor.step >= self.total and stopped_by is None
        records = read_metrics(self.run_dir / METRICS_FILE) if self.env.is_main else []
        summary = TrainSummary(self.run_dir, self.model_config, complete, cursor.step, self.total, cursor.tokens_seen,
                               stopped_by=stopped_by, metrics=self.run_dir / METRICS_FILE)
        if self.env.is_main:
            if complete:
                shutil.rmtree(self.run_dir / RESUME_DIR, ignore_errors=True)
                summary.final = self.run_dir / "checkpoints" / "final"
            summary.plot = plot_losses(records, self.run_dir / PLOT_FILE,
                                       f"{self.config.model} preset, {parameter_count(self.model_config):,} parameters")
            for i, data in enumerate(self.data):
                rows = [r for r in records if r["phase"] == data.name]
                summary.phases.append(PhaseResult(
                    data.name, data.seq_len, (self.starts[i] + 1, self.starts[i] + self.steps[i]),
                    rows[0]["loss"] if rows else None, rows[-1]["loss"] if rows else None,
                    [p.name for p in self._phase_checkpoints(i)], self._phase_manifest(i)))
        return summary
