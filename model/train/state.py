"""Trainer checkpoints: a glassworks checkpoint plus everything needed to continue exactly.

    CHECKPOINT/                   a glassworks checkpoint (model/checkpoint.py): config.json,
                                  model.safetensors, state.json, tokenizer/
      trainer/
        trainer.json              cursor (step, tokens seen, phase, step in phase), the
                                  recipe's sha256, the schedule, AdamW's param groups, and the
                                  sha256 of the two files below (checked on load)
        optimizer.safetensors     AdamW state per parameter: "<name>/exp_avg", ".../exp_avg_sq",
                                  ".../step" (no tensors before the first update: AdamW has
                                  none yet, and none is made up for the checkpoint)
        rng.safetensors           torch's CPU (and CUDA) generator state of every rank

With ``checkpoints.storage: dcp`` (for models too large to gather at every save) the
trainer state is written by ``torch.distributed.checkpoint`` instead, each rank its own
shards, asynchronously, and read back on any number of ranks (DCP reshards):

    CHECKPOINT/
      config.json, model.safetensors, state.json, tokenizer/    kept and final checkpoints
                                  only: consolidated when written, so everything downstream
                                  (export, eval, bundle) reads them as before
      trainer/
        trainer.json              as above, with "storage": "dcp"; written last
        dcp/                      .metadata and __<rank>_<n>.distcp: "model" and "optim"
                                  (AdamW) state under the model's parameter names

No RNG state is kept there: the generators are reseeded from the global step before every
step (``seed_step``), so they depend neither on history nor on the rank count. An
asynchronous write goes into ``.NAME.tmp-stepN`` and is renamed into place, after every
rank's shards and trainer.json are on disk, before the next write starts and before the
run returns: a run never resumes from, and never ends with, a half-written checkpoint.

Nothing here is pickled, so loading a checkpoint from elsewhere runs no code. The whole
directory is staged next to its destination and renamed into place: a crash leaves the
previous checkpoint or none, never a mix. Under FSDP the full (unsharded) tensors are
gathered for writing, so a checkpoint does not depend on the number of ranks that wrote it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_optimizer_state_dict,
    set_model_state_dict,
    set_optimizer_state_dict,
)

from glassworks.errors import GlassworksError
from glassworks.model.checkpoint import (
    STATE_FILE,
    WEIGHTS_FILE,
    CheckpointState,
    begin_staging,
    commit_staging,
    is_checkpoint,
    load_tensors,
    staged_directory,
    tokenizer_files,
    write_checkpoint,
    write_files,
)
from glassworks.model.config import ModelConfig
from glassworks.model.train import parallel
from glassworks.provenance.atomic import atomic_write_json
from glassworks.provenance.hashing import sha256_file

TRAINER_DIR = "trainer"
TRAINER_FILE = "trainer.json"
OPTIMIZER_FILE = "optimizer.safetensors"
RNG_FILE = "rng.safetensors"
DCP_DIR = "dcp"
FORMAT = "glassworks-trainer"
FORMAT_VERSION = 1
STORAGES = ("safetensors", "dcp")


@dataclass(frozen=True)
class Cursor:
    """Where training is: after ``step`` optimizer updates, ``phase_step`` of them in ``phase``."""

    step: int = 0
    tokens_seen: int = 0
    phase: str = ""
    phase_index: int = 0
    phase_step: int = 0


def save(path: Path, model, optimizer, model_config: ModelConfig, cursor: Cursor, data_manifest: str | None,
         tokenizer_dir: Path, env: parallel.Dist, trainer: dict | None) -> Path:
    """Write a checkpoint (collective: every rank calls it, rank 0 writes). ``trainer`` is the
    JSON part of the trainer state; None writes the weights only."""
    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    tensors = get_model_state_dict(model, options=options)
    optim = optimizer_state(model, optimizer, options) if trainer is not None else None
    rng = _rng_states(env) if trainer is not None else None
    if env.is_main:
        state = CheckpointState(step=cursor.step, tokens_seen=cursor.tokens_seen, phase=cursor.phase,
                                data_manifest=data_manifest)
        with staged_directory(path, marker=_is_trainer_dir) as tmp:
            write_checkpoint(tmp, model_config, {k: v.contiguous() for k, v in tensors.items()}, state,
                             tokenizer_files(tokenizer_dir))
            if trainer is not None:
                _write_trainer(tmp / TRAINER_DIR, optim, rng, {**trainer, "cursor": asdict(cursor)})
    parallel.barrier(env)
    return path


def seed_step(seed: int, step: int) -> None:
    """Seed torch's generators (CPU and every CUDA device) for global step ``step``: the same
    on every rank and for every rank count, so no generator state needs saving or resharding."""
    key = hashlib.sha256(f"glassworks.train/rng/{seed}/{step}".encode()).digest()
    torch.manual_seed(int.from_bytes(key[:8], "little") & (2**63 - 1))


def _single_process_quietly() -> None:
    """DCP warns on every one-process save and load that it assumes one process; it is asked to."""
    warnings.filterwarnings("ignore", message="torch.distributed is disabled, unavailable or uninitialized, "
                            "assuming the intent", category=UserWarning)


def _is_trainer_dir(path: Path) -> bool:
    """A checkpoint, or a DCP resume directory (trainer state only), may be replaced."""
    return is_checkpoint(path) or (path / TRAINER_DIR / TRAINER_FILE).is_file()


class Saver:
    """Writes a run's checkpoints in ``storage`` ("safetensors": ``save``; "dcp": sharded,
    asynchronous). At most one write is in flight; ``wait`` finishes it (collective)."""

    def __init__(self, env: parallel.Dist, storage: str):
        if storage not in STORAGES:
            raise GlassworksError(f"checkpoints.storage is {storage!r}; expected one of {', '.join(STORAGES)}")
        self.env, self.storage = env, storage
        if storage == "dcp" and not env.active:
            _single_process_quietly()
        self.pending: tuple | None = None  # (future, staging dir, destination, trainer.json, step)
        self._group = None

    def in_flight(self, path: Path, step: int) -> bool:
        return self.pending is not None and self.pending[2] == path and self.pending[4] == step

    def save(self, path: Path, model, optimizer, model_config: ModelConfig, cursor: Cursor,
             data_manifest: str | None, tokenizer_dir: Path, trainer: dict | None, consolidate: bool = True) -> Path:
        """Write a checkpoint (collective). ``trainer`` None writes the weights only; in "dcp"
        storage ``consolidate`` False leaves out the gathered weights (train/resume)."""
        self.wait()
        if self.storage == "safetensors" or trainer is None:
            return save(path, model, optimizer, model_config, cursor, data_manifest, tokenizer_dir, self.env, trainer)
        import torch.distributed.checkpoint as dcp

        env = self.env
        tmp = path.parent / f".{path.name}.tmp-step{cursor.step}"
        if env.is_main:
            begin_staging(path, tmp.name, kind="glassworks trainer checkpoint", marker=_is_trainer_dir)
            (tmp / TRAINER_DIR).mkdir()
        parallel.barrier(env)
        if consolidate:  # the old path's gather: the same bytes as a "safetensors" run's
            tensors = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
            if env.is_main:
                state = CheckpointState(step=cursor.step, tokens_seen=cursor.tokens_seen, phase=cursor.phase,
                                        data_manifest=data_manifest)
                write_files(tmp, model_config, {k: v.contiguous() for k, v in tensors.items()}, state,
                            tokenizer_files(tokenizer_dir))
            del tensors
        shards = {"model": get_model_state_dict(model)}
        info = {**trainer, "cursor": asdict(cursor), "storage": "dcp"}
        if optimizer.state:
            shards["optim"] = get_optimizer_state_dict(model, optimizer)
        else:  # before the first update: no AdamW state to write (see optimizer_state)
            info["param_groups"] = optimizer_state(model, optimizer, StateDictOptions())["param_groups"]
        future = dcp.async_save(shards, checkpoint_id=str(tmp / TRAINER_DIR / DCP_DIR),
                                process_group=self._cpu_group(), no_dist=not env.active)
        self.pending = (future, tmp, path, info, cursor.step)
        return path

    def wait(self) -> None:
        """Finish the write in flight: every rank's shards on disk, then trainer.json, then the
        rename into place. Every rank calls it at the same point."""
        if self.pending is None:
            return
        future, tmp, path, info, _ = self.pending
        self.pending = None
        future.result()
        parallel.barrier(self.env)
        if self.env.is_main:
            folder = tmp / TRAINER_DIR
            metadata = folder / DCP_DIR / ".metadata"
            files = {p.relative_to(folder).as_posix(): p.stat().st_size for p in sorted((folder / DCP_DIR).iterdir())}
            atomic_write_json(folder / TRAINER_FILE, {"format": FORMAT, "format_version": FORMAT_VERSION, **info,
                                                      "files": {f"{DCP_DIR}/.metadata": sha256_file(metadata)[0]},
                                                      "sizes": files})
            commit_staging(tmp, path)
        parallel.barrier(self.env)

    def _cpu_group(self):
        """A gloo group of all ranks for the background write: its collectives must not
        interleave with the training ones on the default group (and NCCL has no CPU tensors)."""
        if self.env.active and self._group is None:
            import torch.distributed as dist

            self._group = dist.new_group(backend="gloo")
        return self._group


def optimizer_state(model, optimizer, options: StateDictOptions) -> dict:
    """The optimizer's state dict keyed by parameter name, read without changing the optimizer.

    Before the first update AdamW holds no state, and torch's ``get_optimizer_state_dict``
    would create it by running a zero-gradient step: Adam's step counter would read 1 at step
    0, the first real update would use the bias correction of step 2 (about 26 % smaller),
    and saving a step-0 checkpoint would change the run. An empty state is saved as empty
    (and ``restore`` leaves it empty)."""
    if optimizer.state:
        return get_optimizer_state_dict(model, optimizer, options=options)
    names = {id(p): name for name, p in parallel.inner(model).named_parameters()}
    groups = [{**{k: v for k, v in g.items() if k != "params"}, "params": [names[id(p)] for p in g["params"]]}
              for g in optimizer.param_groups]
    return {"state": {}, "param_groups": groups}


def _write_trainer(folder: Path, optim: dict, rng: dict, info: dict) -> None:
    from safetensors.torch import save_file

    folder.mkdir()
    flat = {f"{name}/{key}": value.detach().contiguous()
            for name, state in optim["state"].items() for key, value in state.items()}
    save_file(flat, str(folder / OPTIMIZER_FILE), metadata={"format": "pt"})
    save_file(rng, str(folder / RNG_FILE), metadata={"format": "pt"})
    groups = [{k: list(v) if isinstance(v, tuple) else v for k, v in g.items()} for g in optim["param_groups"]]
    files = {name: sha256_file(folder / name)[0] for name in (OPTIMIZER_FILE, RNG_FILE)}
    atomic_write_json(folder / TRAINER_FILE, {"format": FORMAT, "format_version": FORMAT_VERSION, **info,
                                              "param_groups": groups, "files": files})


def _rng_states(env: parallel.Dist) -> dict[str, torch.Tensor]:
    states = {f"cpu.rank{r}": t for r, t in enumerate(parallel.gather_rows(torch.get_rng_state(), env))}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        rows = parallel.gather_rows(torch.cuda.get_rng_state(), env)
        states.update({f"cuda.rank{r}": t for r, t in enumerate(rows)})
    return states


# --- reading --------------------------------------------------------------------------------


def read_trainer(checkpoint: Path) -> dict:
    """trainer.json of a checkpoint, checked for format."""
    path = checkpoint / TRAINER_DIR / TRAINER_FILE
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GlassworksError(f"{path}: not found; {checkpoint} holds weights only and cannot be resumed") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GlassworksError(f"{path}: invalid JSON ({exc})") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT or info.get("format_version") != FORMAT_VERSION:
        raise GlassworksError(f"{path}: not a {FORMAT} v{FORMAT_VERSION} file")
    return info


def cursor_of(info: dict, origin: Path) -> Cursor:
    try:
        return Cursor(**info["cursor"])
    except (KeyError, TypeError) as exc:
        raise GlassworksError(f"{origin}: key 'cursor' is missing or malformed ({exc})") from None


def restore(checkpoint: Path, model, optimizer, env: parallel.Dist) -> dict:
    """Load weights, optimizer and this rank's RNG state into a model already wrapped for
    ``env``; return trainer.json. Every file is re-hashed against its recorded sha256 first."""
    info = read_trainer(checkpoint)
    if info.get("storage", "safetensors") == "dcp":
        _restore_dcp(checkpoint, info, model, optimizer, env)
        return info
    trainer = checkpoint / TRAINER_DIR
    _check(checkpoint / WEIGHTS_FILE, _recorded(checkpoint / STATE_FILE).get(WEIGHTS_FILE))
    for name in (OPTIMIZER_FILE, RNG_FILE):
        _check(trainer / name, info.get("files", {}).get(name))

    options = StateDictOptions(full_state_dict=True)
    expected = {k: tuple(v.shape) for k, v in get_model_state_dict(model).items()}
    set_model_state_dict(model, load_tensors(checkpoint / WEIGHTS_FILE, expected), options=options)

    from safetensors.torch import load_file

    flat = load_file(str(trainer / OPTIMIZER_FILE))
    state: dict[str, dict] = {}
    for key, value in flat.items():
        name, _, field = key.rpartition("/")
        state.setdefault(name, {})[field] = value
    groups = [{k: tuple(v) if k == "betas" else v for k, v in g.items()} for g in info["param_groups"]]
    if state:
        set_optimizer_state_dict(model, optimizer, {"state": state, "param_groups": groups}, options=options)
    else:  # saved before the first update: torch's setter would first run a zero-gradient step
        _set_param_groups(optimizer, groups, trainer / OPTIMIZER_FILE)

    rng = load_file(str(trainer / RNG_FILE))
    if f"cpu.rank{env.world - 1}" in rng and f"cpu.rank{env.world}" not in rng:  # same rank count
        torch.set_rng_state(rng[f"cpu.rank{env.rank}"])
        if f"cuda.rank{env.rank}" in rng and torch.cuda.is_available():
            torch.cuda.set_rng_state(rng[f"cuda.rank{env.rank}"])
    return info


def _restore_dcp(checkpoint: Path, info: dict, model, optimizer, env: parallel.Dist) -> None:
    """Weights and AdamW state from DCP shards written on any number of ranks."""
    import torch.distributed.checkpoint as dcp

    if not env.active:
        _single_process_quietly()
    folder = checkpoint / TRAINER_DIR
    _check(folder / DCP_DIR / ".metadata", info.get("files", {}).get(f"{DCP_DIR}/.metadata"))
    for name, size in info.get("sizes", {}).items():
        if not (folder / name).is_file() or (folder / name).stat().st_size != size:
            raise GlassworksError(f"{folder / name}: missing or not the {size} bytes recorded in {TRAINER_FILE}; "
                                  "the checkpoint is incomplete or was changed")
    shards = {"model": get_model_state_dict(model)}
    if "param_groups" not in info:  # torch's getter makes the template (a no-op lr-0 step, then overwritten)
        shards["optim"] = get_optimizer_state_dict(model, optimizer)
    try:
        dcp.load(shards, checkpoint_id=str(folder / DCP_DIR), no_dist=not env.active)
    except Exception as exc:  # noqa: BLE001 - DCP wraps the rank's error in several types
        raise GlassworksError(f"{folder / DCP_DIR}: cannot be loaded into this model ({type(exc).__name__}: "
                              f"{str(exc)[:300]})") from None
    set_model_state_dict(model, shards["model"])
    if "optim" in shards:
        set_optimizer_state_dict(model, optimizer, shards["optim"])
    else:
        groups = [{k: tuple(v) if k == "betas" else v for k, v in g.items()} for g in info["param_groups"]]
        _set_param_groups(optimizer, groups, folder / TRAINER_FILE)


def _set_param_groups(optimizer, groups: list[dict], origin: Path) -> None:
    """The hyperparameters of saved param groups onto a fresh optimizer's, group by group."""
    if optimizer.state or len(groups) != len(optimizer.param_groups) or any(
            len(g["params"]) != len(live["params"]) for g, live in zip(groups, optimizer.param_groups)):
        raise GlassworksError(f"{origin}: holds no optimizer state, and its {len(groups)} param group(s) do not "
                              "match this fresh optimizer's")
    for saved, live in zip(groups, optimizer.param_groups):
        live.update({k: v for k, v in saved.items() if k != "params"})


def _recorded(state_file: Path) -> dict:
    try:
        return json.loads(state_file.read_text(encoding="utf-8")).get("files", {})
    except (OSError, ValueError):
        raise GlassworksError(f"{state_file}: missing or invalid checkpoint sidecar") from None


def _check(path: Path, recorded: str | None) -> None:
    if not path.is_file():
        raise GlassworksError(f"{path}: missing from the checkpoint")
    if recorded is None:
        raise GlassworksError(f"{path}: no sha256 recorded for it; refusing to resume from an unverifiable file")
    actual = sha256_file(path)[0]
    if actual != recorded:
        raise GlassworksError(f"{path}: sha256 {actual[:12]}... differs from the recorded {recorded[:12]}...: "
                              "the file is corrupt or was replaced")


# --- finding where to resume ----------------------------------------------------------------


def remove_stale(folder: Path) -> None:
    """Remove staging directories a killed write left behind (``.NAME.tmp-PID``, ``.NAME.old-PID``)."""
    if folder.is_dir():
        for child in folder.iterdir():
            if child.is_dir() and child.name.startswith(".") and (".tmp-" in child.name or ".old-" in child.name):
                shutil.rmtree(child, ignore_errors=True)


def latest(candidates: list[Path]) -> tuple[Path, dict] | None:
    """The resumable checkpoint furthest into training among ``candidates`` (ties: the first)."""
    best = None
    for path in candidates:
        if not (path / TRAINER_DIR / TRAINER_FILE).is_file():
            continue
        info = read_trainer(path)
        step = cursor_of(info, path).step
        if best is None or step > best[0]:
            best = (step, path, info)
    return None if best is None else (best[1], best[2])
