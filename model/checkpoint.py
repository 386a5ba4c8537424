"""Checkpoint directories: self-contained, safetensors only, refused loudly when they do not fit.

    CHECKPOINT/
      config.json          {"format": "glassworks-checkpoint", "format_version": 1, "model": {...}}
      model.safetensors    the weights under the module names of ``Transformer`` (never pickle)
      state.json           where training was: step, tokens seen, phase, data manifest id,
                           and the sha256 of model.safetensors (checked on load)
      tokenizer/           the tokenizer's files, copied (tokenizer.model, tokenizer.json, ...)

A checkpoint is written into a hidden sibling directory and renamed into place, so a crash
mid-write leaves the previous checkpoint (or none), never a half-written one. With a run
directory the write is recorded as a ``checkpoint`` stage (inputs: the tokenizer; output:
the directory), so a bundle can show where its weights came from.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from glassworks.config import from_dict
from glassworks.errors import GlassworksError
from glassworks.model.config import ModelConfig
from glassworks.provenance.atomic import atomic_write_json
from glassworks.provenance.hashing import sha256_file

FORMAT = "glassworks-checkpoint"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
STATE_FILE = "state.json"
TOKENIZER_DIR = "tokenizer"
TOKENIZER_FILES = ("tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
STAGE_VERSION = "1"


@dataclass(frozen=True)
class CheckpointState:
    """The sidecar: where in training this checkpoint was taken."""

    step: int = 0
    tokens_seen: int = 0
    phase: str | None = None
    """The training phase (context-length stage) that wrote it, e.g. ``phase1``."""
    data_manifest: str | None = None
    """Id of the provenance manifest of the token data it was trained on."""


# --- writing ----------------------------------------------------------------------------------


def save_checkpoint(model, out_dir: str | Path, state: CheckpointState = CheckpointState(),
                    tokenizer_dir: str | Path | None = None, run_dir: str | Path | None = None) -> Path:
    """Write ``model`` (a ``Transformer``) as a checkpoint directory; return its path."""
    tensors = {name: t.detach().contiguous() for name, t in model.state_dict().items()}
    files = tokenizer_files(tokenizer_dir) if tokenizer_dir is not None else []
    return write_checkpoint(out_dir, model.config, tensors, state, files, run_dir=run_dir,
                            inputs={"tokenizer": Path(tokenizer_dir)} if tokenizer_dir is not None else {})


def tokenizer_files(tokenizer_dir: str | Path) -> list[Path]:
    """The regular files of a tokenizer directory; it must hold a SentencePiece model or a tokenizer.json."""
    tokenizer_dir = Path(tokenizer_dir)
    if not tokenizer_dir.is_dir():
        raise GlassworksError(f"{tokenizer_dir}: tokenizer directory not found")
    files = sorted(p for p in tokenizer_dir.iterdir() if p.is_file() and not p.name.startswith("."))
    if not {"tokenizer.model", "tokenizer.json"} & {p.name for p in files}:
        raise GlassworksError(f"{tokenizer_dir}: no tokenizer.model or tokenizer.json in the tokenizer directory")
    return files


def write_checkpoint(out_dir: str | Path, config: ModelConfig, tensors: dict, state: CheckpointState,
                     tokenizer: list[Path], run_dir: str | Path | None = None,
                     inputs: dict[str, Path] | None = None) -> Path:
    """Write weights, config, sidecar and tokenizer files; record a stage when ``run_dir`` is
    given, with ``inputs`` (root name -> path) as what it was made from."""
    out_dir = Path(out_dir)
    recorded = {"model": config, "state": state}
    with maybe_record(run_dir, "checkpoint", recorded, inputs or {}, ("checkpoint", out_dir)) as rec:
        with staged_directory(out_dir) as tmp:
            write_files(tmp, config, tensors, state, tokenizer)
        if rec is not None and state.data_manifest and (Path(run_dir) / "manifests" / f"{state.data_manifest}.json").is_file():
            rec.upstream(state.data_manifest)
    return out_dir


def write_files(folder: Path, config: ModelConfig, tensors: dict, state: CheckpointState,
                tokenizer: list[Path]) -> None:
    """The files of a checkpoint into an existing (staging) folder, each fsynced."""
    from safetensors.torch import save_file

    save_file(tensors, str(folder / WEIGHTS_FILE), metadata={"format": "pt"})
    _fsync(folder / WEIGHTS_FILE)
    atomic_write_json(folder / CONFIG_FILE, {"format": FORMAT, "format_version": FORMAT_VERSION,
                                             "model": dataclasses.asdict(config)})
    atomic_write_json(folder / STATE_FILE, {**dataclasses.asdict(state),
                                            "files": {WEIGHTS_FILE: sha256_file(folder / WEIGHTS_FILE)[0]}})
    if tokenizer:
        (folder / TOKENIZER_DIR).mkdir()
        for source in tokenizer:
            shutil.copyfile(source, folder / TOKENIZER_DIR / source.name)
            _fsync(folder / TOKENIZER_DIR / source.name)


@contextlib.contextmanager
def staged_directory(out_dir: Path, kind: str = "glassworks checkpoint",
                     marker: Callable[[Path], bool] | None = None) -> Iterator[Path]:
    """Yield a hidden sibling directory to fill; on success it replaces ``out_dir``.

    An existing ``out_dir`` is replaced only when it is empty or ``marker(out_dir)`` says it
    is an earlier output of the same kind: a mistyped path must not wipe a user's folder.
    """
    tmp = begin_staging(out_dir, f".{out_dir.name}.tmp-{os.getpid()}", kind, marker)
    try:
        yield tmp
        commit_staging(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def begin_staging(out_dir: Path, name: str, kind: str = "glassworks checkpoint",
                  marker: Callable[[Path], bool] | None = None) -> Path:
    """A fresh hidden sibling ``name`` of ``out_dir`` to fill, after checking that ``out_dir``
    may be replaced (see ``staged_directory``); ``commit_staging`` puts it in place."""
    marker = marker or is_checkpoint
    if out_dir.exists() and not (out_dir.is_dir() and (not any(out_dir.iterdir()) or marker(out_dir))):
        raise GlassworksError(f"{out_dir}: exists and is not a {kind}; refusing to replace it "
                              "(choose a new directory or remove it)")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / name
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    return tmp


def commit_staging(tmp: Path, out_dir: Path) -> None:
    """Rename a filled staging directory onto ``out_dir`` (the old one moved aside first)."""
    old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
    if out_dir.exists():
        os.replace(out_dir, old)
    os.replace(tmp, out_dir)
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def maybe_record(run_dir, stage: str, config, inputs: dict[str, Path], output: tuple[str, Path]):
    """``record_stage`` around the write when there is a run directory. Inputs and output
    outside it are recorded under the given root names (``--root NAME=DIR`` for verify)."""
    if run_dir is None:
        yield None
        return
    from glassworks.provenance.recorder import record_stage

    run = Path(run_dir).resolve()
    roots = {name: path for name, path in [*inputs.items(), output] if not Path(path).resolve().is_relative_to(run)}
    with record_stage(run, stage, STAGE_VERSION, config, roots=roots, unit="checkpoints") as rec:
        for path in inputs.values():
            rec.input(path)
        yield rec
        rec.output(output[1])
        rec.counts.add_in(1)
        rec.counts.keep(1)


def is_checkpoint(path: Path) -> bool:
    """Whether ``path`` holds a glassworks checkpoint config (so rewriting it is expected)."""
    try:
        return json.loads((path / CONFIG_FILE).read_text(encoding="utf-8")).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- reading ----------------------------------------------------------------------------------


def read_config(checkpoint_dir: str | Path) -> ModelConfig:
    """The model config of a checkpoint; errors name the file and the key."""
    path = Path(checkpoint_dir) / CONFIG_FILE
    data = read_json(path, what="config")
    if data.get("format") != FORMAT or data.get("format_version") != FORMAT_VERSION:
        raise GlassworksError(f"{path}: not a glassworks checkpoint config (format {data.get('format')!r} "
                              f"version {data.get('format_version')!r}; expected {FORMAT!r} {FORMAT_VERSION})")
    if not isinstance(data.get("model"), dict):
        raise GlassworksError(f"{path}: key 'model' is missing or not a mapping")
    return from_dict(ModelConfig, data["model"], origin=f"{path}: model")


def read_state(checkpoint_dir: str | Path) -> CheckpointState:
    path = Path(checkpoint_dir) / STATE_FILE
    data = read_json(path, what="state sidecar")
    data.pop("files", None)
    return from_dict(CheckpointState, data, origin=str(path))


def load(checkpoint_dir: str | Path, device=None, dtype=None, backend: str = "auto", verify: bool = True):
    """The model of a checkpoint directory, in eval mode.

    ``device`` defaults to CUDA when there is one, else CPU; ``dtype`` to bfloat16 on a GPU
    that supports it and to the stored dtype otherwise. ``verify`` re-hashes the weights
    against the sidecar, so a corrupted file is refused rather than silently loaded.
    """
    import torch

    from glassworks.model.transformer import build

    checkpoint_dir = Path(checkpoint_dir)
    if not checkpoint_dir.is_dir():
        raise GlassworksError(f"{checkpoint_dir}: checkpoint directory not found")
    config = read_config(checkpoint_dir)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if dtype is None and torch.device(device).type == "cuda" and torch.cuda.is_bf16_supported():
        dtype = torch.bfloat16
    weights = checkpoint_dir / WEIGHTS_FILE
    if verify:
        _check_hash(checkpoint_dir, weights)
    model = build(config, device="meta", backend=backend)
    tensors = load_tensors(weights, _expected_shapes(model), device=device, dtype=dtype)
    model.load_state_dict(tensors, assign=True)
    return model.eval()


def load_tensors(path: Path, expected: dict[str, tuple[int, ...]], device="cpu", dtype=None) -> dict:
    """Read a safetensors file whose names and shapes must be exactly ``expected``; each tensor
    is cast to ``dtype`` as it is read, so a bf16 load never holds the whole model in fp32."""
    from safetensors import safe_open

    if not path.is_file():
        raise GlassworksError(f"{path}: weights file not found")
    try:
        with safe_open(str(path), framework="pt", device=str(device)) as handle:
            found = {name: tuple(handle.get_slice(name).get_shape()) for name in handle.keys()}
            check_shapes(path, found, expected)
            return {name: handle.get_tensor(name).to(dtype) if dtype is not None else handle.get_tensor(name)
                    for name in expected}
    except GlassworksError:
        raise
    except Exception as exc:  # noqa: BLE001 - safetensors raises several types for a damaged file
        raise GlassworksError(f"{path}: unreadable safetensors file ({type(exc).__name__}: {exc})") from None


def check_shapes(path: Path, found: dict[str, tuple[int, ...]], expected: dict[str, tuple[int, ...]]) -> None:
    """Refuse missing, unexpected and mis-shaped tensors, naming the first of each."""
    missing = sorted(set(expected) - set(found))
    if missing:
        raise GlassworksError(f"{path}: tensor '{missing[0]}' is missing ({len(missing)} missing in all); "
                              "is this checkpoint from another architecture?")
    unexpected = sorted(set(found) - set(expected))
    if unexpected:
        raise GlassworksError(f"{path}: unexpected tensor '{unexpected[0]}' ({len(unexpected)} in all) "
                              "that the model config does not describe")
    for name in expected:
        if tuple(found[name]) != tuple(expected[name]):
            raise GlassworksError(f"{path}: tensor '{name}' has shape {list(found[name])} but the model config "
                                  f"expects {list(expected[name])}")


def _expected_shapes(model) -> dict[str, tuple[int, ...]]:
    return {name: tuple(t.shape) for name, t in model.state_dict().items()}


def _check_hash(checkpoint_dir: Path, weights: Path) -> None:
    recorded = read_json(checkpoint_dir / STATE_FILE, what="state sidecar").get("files", {}).get(WEIGHTS_FILE)
    if recorded is None or not weights.is_file():
        return  # a hand-made checkpoint without a recorded hash; the shape checks still apply
    actual = sha256_file(weights)[0]
    if actual != recorded:
        raise GlassworksError(f"{weights}: sha256 {actual[:12]}... differs from {recorded[:12]}... recorded in "
                              f"{checkpoint_dir / STATE_FILE}: the weights are corrupt or were replaced")


def read_json(path: Path, what: str) -> dict:
    if not path.is_file():
        raise GlassworksError(f"{path}: {what} not found; is {path.parent} a glassworks checkpoint?")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GlassworksError(f"{path}: invalid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise GlassworksError(f"{path}: expected a JSON object")
    return data
