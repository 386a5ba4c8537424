"""`audit regenerate --train-steps N`: re-train on the CPU up to the first released checkpoint at
or past step N, and compare its weights (and every earlier released checkpoint) bit for bit.

The ``train.<phase>`` manifests hold the training *recipe* (model preset, phases, optimizer,
schedule, seed: everything that decides the numbers) and the checkpoints each phase wrote.
What they leave out is the runtime (device, threads) and the checkpoint schedule, which do
not change the numbers on one device: training runs on the CPU with ``threads`` torch threads,
and the schedule is chosen so that it keeps every released step (``schedule_for``).

A checkpoint's files are compared by sha256. Two differences are told apart from a changed
model because they are not one:

- ``model.safetensors`` (or any ``*.safetensors``) whose bytes differ but whose tensors are
  bit-identical, name for name, dtype and shape: the safetensors header (a JSON map of
  names to dtype, shape and offsets, plus free-form ``__metadata__``) may be written in
  another order or with other metadata by another safetensors version; the weights are the
  same. This is only decidable when the recorded file is shipped (its tensors are read).
- ``state.json`` that differs only in ``data_manifest``, when that names the regenerated
  ``data.<phase>`` manifest: manifest ids hash the code identity (git commit, versions), so
  a re-run from another commit names its own manifest for the same bytes.
"""

from __future__ import annotations

import json
import math
import re
import struct
from dataclasses import dataclass, field
from functools import reduce
from pathlib import Path, PurePosixPath

from glassworks.config import from_dict
from glassworks.provenance.hashing import sha256_file

CHECKPOINT_FILE = re.compile(r"^checkpoints/([^/]+)/(.+)$")
STEP_NAME = re.compile(r"^step(\d+)-tokens(\d+)$")


@dataclass
class Released:
    """A checkpoint the record names: its folder, step, phase stage and recorded files."""

    name: str
    step: int
    stage: str  # train.<phase>
    files: dict[str, tuple[str, int]] = field(default_factory=dict)  # rel path -> (sha256, bytes)


def train_stages(manifests: list[dict]) -> list[dict]:
    found = [m for m in manifests if m["stage"]["name"].startswith("train.") and isinstance(m["config"], dict)
             and {"recipe", "phase", "steps"} <= set(m["config"])]
    return sorted(found, key=lambda m: m["config"]["steps"][0])


def released_checkpoints(stages: list[dict]) -> list[Released]:
    """Every checkpoint the train stages recorded as an output, by step (``final`` is the last
    phase's end)."""
    total = max((m["config"]["steps"][1] for m in stages), default=0)
    found: dict[str, Released] = {}
    for m in stages:
        for rec in m["outputs"]["files"]:
            match = CHECKPOINT_FILE.match(rec["path"]) if rec.get("root", "run") == "run" else None
            if not match:
                continue
            name = match.group(1)
            step = STEP_NAME.match(name)
            if name != "final" and not step:
                continue
            entry = found.setdefault(name, Released(name, total if name == "final" else int(step.group(1)),
                                                    m["stage"]["name"]))
            entry.files[rec["path"]] = (rec["sha256"], rec["bytes"])
    return sorted(found.values(), key=lambda r: (r.step, r.name == "final"))


def schedule_for(released: list[Released], ends: list[int], trainer_state: bool) -> dict:
    """A checkpoint schedule (CheckpointConfig fields) whose kept steps include every released
    step: powers of two as far as they were all kept, then the gcd of the others."""
    steps = {r.step for r in released if r.name != "final"}
    power, until = 1, 0
    while power in steps:
        until, power = power, power * 2
    rest = [s for s in steps - {0, *ends} if not (s & (s - 1) == 0 and s <= until)]
    total = max(ends, default=0)
    every = reduce(math.gcd, rest) if rest else total + 1
    return {"log_spaced_until": until, "every": every, "resume_every": 0, "trainer_state": trainer_state}


class TrainPlanError(Exception):
    """The record does not let training be re-run; the message says why."""


def plan_training(stages: list[dict], steps: int, threads: int):
    """(TrainConfig, target checkpoint, checkpoints to compare, checkpoints left past the target)."""
    from glassworks.model.train.config import TrainConfig
    from glassworks.model.train.schedule import kept_steps

    if not stages:
        raise TrainPlanError("no train.<phase> manifest: nothing was trained in this record")
    recipes = {json.dumps(m["config"]["recipe"], sort_keys=True) for m in stages}
    if len(recipes) != 1:
        raise TrainPlanError("the train stages hold different recipes (several training runs)")
    recipe = stages[0]["config"]["recipe"]
    for key in ("data", "tokenizer"):
        if PurePosixPath(str(recipe.get(key, ""))).is_absolute():
            raise TrainPlanError(f"the recipe's {key} folder {recipe[key]} lies outside the run")
    released = released_checkpoints(stages)
    target = next((r for r in released if r.step >= steps), None)
    if target is None:
        last = released[-1].step if released else 0
        raise TrainPlanError(f"no released checkpoint at or past step {steps} (the last is at step {last})")
    covered = [r for r in released if r.step <= target.step]
    trainer_state = any(PurePosixPath(p).parts[2] == "trainer" for r in released if r.name != "final" for p in r.files)
    ends = [m["config"]["steps"][1] for m in stages]
    schedule = schedule_for(released, ends, trainer_state)
    config = from_dict(TrainConfig, {**recipe, "checkpoints": schedule, "runtime": {"device": "cpu", "threads": threads}},
                       origin=f"manifests/{stages[0]['id']}.json")
    kept = set(kept_steps(max(ends), config.checkpoints, ends)) | {max(ends)}
    missing = sorted({r.step for r in covered} - kept)
    if missing:  # schedule_for is wrong, not the record: say so rather than compare nothing
        raise TrainPlanError(f"no checkpoint schedule keeps the released steps {missing}")
    return config, target, covered, [r for r in released if r.step > target.step]


def retrain(config, run: Path, target: Released, total: int) -> None:
    """Train from scratch into ``run``, stopping after the target's step (the end: no stop)."""
    from glassworks.model.train.run import train

    summary = train(config, run, stop_at=None if target.step >= total else target.step)
    if summary.step < target.step:
        raise TrainPlanError(f"training stopped at step {summary.step} ({summary.stopped_by}), before {target.step}")


def compare_checkpoint(released: Released, run: Path, source: Path, ids: dict[str, str]) -> tuple[list, list, int]:
    """(problems, notes, matched files) of one released checkpoint against its re-trained twin.
    ``source`` is the bundle or run holding what was shipped; ``ids`` maps a recorded manifest
    id to the regenerated one of the same stage."""
    problems, notes, matched = [], [], 0
    folder = f"checkpoints/{released.name}"
    again = run / folder
    got = {p.relative_to(run).as_posix() for p in again.rglob("*") if p.is_file()} if again.is_dir() else set()
    for rel in sorted(set(released.files) | got):
        if rel not in got:
            problems.append((rel, "recorded file was not regenerated"))
            continue
        if rel not in released.files:
            problems.append((rel, "regenerated a file the record does not have"))
            continue
        want = released.files[rel]
        have = sha256_file(run / rel)
        if have == want:
            matched += 1
            continue
        benign = _explain(rel, run / rel, source / rel, want, ids)
        if benign is None:
            problems.append((rel, _difference(rel, run / rel, source / rel, want, have)))
        else:
            matched += 1
            notes.append((rel, benign))
    return problems, notes, matched


def _shipped(path: Path, want: tuple[str, int]) -> bool:
    return path.is_file() and sha256_file(path) == want


def _explain(rel: str, mine: Path, shipped: Path, want: tuple[str, int], ids: dict[str, str]) -> str | None:
    """Why bytes that differ still hold the same thing, or None."""
    name = PurePosixPath(rel).name
    if name.endswith(".safetensors") and _shipped(shipped, want):
        diff = tensor_difference(shipped, mine)
        if diff is None:
            return f"same tensors bit for bit; the file bytes differ in the header ({header_difference(shipped, mine)})"
    if name == "state.json" and _shipped(shipped, want):
        old, new = json.loads(shipped.read_text(encoding="utf-8")), json.loads(mine.read_text(encoding="utf-8"))
        recorded_id = old.get("data_manifest")
        if ({**old, "data_manifest": None} == {**new, "data_manifest": None}
                and ids.get(recorded_id) == new.get("data_manifest")):
            return (f"same sidecar but for data_manifest, which names the regenerated {new.get('data_manifest')} "
                    f"for the recorded {recorded_id} (manifest ids hash the code identity)")
    return None


def _difference(rel: str, mine: Path, shipped: Path, want: tuple[str, int], have: tuple[str, int]) -> str:
    what = "sha256 differs from the record" if have[1] == want[1] else f"size {have[1]} != recorded {want[1]}"
    if rel.endswith(".safetensors"):
        if _shipped(shipped, want):
            return f"{what}: {tensor_difference(shipped, mine)}"
        return f"{what} (not shipped, so its tensors cannot be compared)"
    return what


def _header(path: Path) -> dict:
    with open(path, "rb") as handle:
        (size,) = struct.unpack("<Q", handle.read(8))
        return json.loads(handle.read(size))


def header_difference(a: Path, b: Path) -> str:
    ha, hb = _header(a), _header(b)
    if ha.get("__metadata__") != hb.get("__metadata__"):
        return f"metadata {ha.get('__metadata__')} vs {hb.get('__metadata__')}"
    if list(ha) != list(hb):
        return "tensors listed in another order"
    return "tensor offsets or header padding"


def tensor_difference(a: Path, b: Path) -> str | None:
    """None when both files hold the same tensors bit for bit; else the first that differs."""
    import torch
    from safetensors import safe_open

    with safe_open(str(a), framework="pt") as fa, safe_open(str(b), framework="pt") as fb:
        ka, kb = sorted(fa.keys()), sorted(fb.keys())
        if ka != kb:
            return f"tensor names differ: {sorted(set(ka) ^ set(kb))[:3]}"
        for key in ka:
            ta, tb = fa.get_tensor(key), fb.get_tensor(key)
            if ta.dtype != tb.dtype or ta.shape != tb.shape:
                return f"tensor {key}: {ta.dtype}{list(ta.shape)} vs {tb.dtype}{list(tb.shape)}"
            if not torch.equal(ta.reshape(-1).view(torch.uint8), tb.reshape(-1).view(torch.uint8)):
                diff = (ta.double() - tb.double()).abs().max().item() if ta.is_floating_point() else float("nan")
                return f"tensor {key} differs (largest difference {diff:.3g})"
    return None
