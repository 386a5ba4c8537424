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

Nothing here is pickled, so loading a checkpoint from elsewhere runs no code. The whole
directory is staged next to its destination and renamed into place: a crash leaves the
previous checkpoint or none, never a mix. Under FSDP the full (unsharded) tensors are
gathered for writing, so a checkpoint does not depend on the number of ranks that wrote it.
"""

from __future__ import annotations

import json
import shutil
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
    load_tensors,
    staged_directory,
    tokenizer_files,
    write_checkpoint,
)
from glassworks.model.config import ModelConfig
from glassworks.model.train import parallel
from glassworks.provenance.atomic import atomic_write_json
from glassworks.provenance.hashing import sha256_file

TRAINER_DIR = "trainer"
TRAINER_FILE = "trainer.json"
OPTIMIZER_FILE = "optimizer.safetensors"
RNG_FILE = "rng.safetensors"
FORMAT = "glassworks-trainer"
FORMAT_VERSION = 1


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
        with staged_directory(path) as tmp:
            write_checkpoint(tmp, model_config, {k: v.contiguous() for k, v in tensors.items()}, state,
                             tokenizer_files(tokenizer_dir))
            if trainer is not None:
                _write_trainer(tmp / TRAINER_DIR, optim, rng, {**trainer, "cursor": asdict(cursor)})
    parallel.barrier(env)
    return path


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
