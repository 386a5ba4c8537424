"""Checkpoints as the bundle sees them: folders of safetensors weights with a JSON sidecar.

A glassworks checkpoint folder is self-contained (weights, model config, tokenizer, and a
sidecar with step, tokens seen, phase and data manifest id). The bundle only needs to find
them, name them, and read the sidecar's numbers for the cards, the report and the Hub
branch names; it never loads the weights.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Checkpoint:
    name: str  # its folder name under checkpoints/ in the bundle
    source: Path  # the folder it was read from
    step: int | None = None
    tokens: int | None = None
    phase: str | None = None
    config: dict | None = None  # the model config (architecture), when the folder has one

    @property
    def branch(self) -> str:
        """Hub branch name in the style of Pythia and OLMo: ``step1000-tokens4M``."""
        if self.step is None:
            return self.name
        return f"step{self.step}" + (f"-tokens{human_count(self.tokens)}" if self.tokens is not None else "")


def human_count(n: int) -> str:
    for factor, suffix in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if n >= factor:
            value = n / factor
            return f"{value:.0f}{suffix}" if value >= 10 or value == int(value) else f"{value:.1f}{suffix}"
    return str(n)


def _json(path: Path) -> dict | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None


def read_checkpoint(folder: Path, name: str | None = None) -> Checkpoint | None:
    """The checkpoint in ``folder``, or None when it holds no safetensors weights."""
    if not folder.is_dir() or not any(folder.rglob("*.safetensors")):
        return None
    sidecar: dict = {}
    config: dict | None = None
    for path in sorted(folder.glob("*.json")):
        value = _json(path)
        if value is None:
            continue
        if "step" in value and not sidecar:
            sidecar = value  # state.json: step, tokens_seen, phase, data_manifest
        elif config is None and isinstance(value.get("model"), dict):
            config = value["model"]  # config.json: {"format": "glassworks-checkpoint", "model": {...}}
    step = sidecar.get("step")
    tokens = sidecar.get("tokens_seen", sidecar.get("tokens"))
    phase = sidecar.get("phase")
    return Checkpoint(name or folder.name, folder, step if isinstance(step, int) else None,
                      tokens if isinstance(tokens, int) else None, None if phase is None else str(phase), config)


def find_checkpoints(run_dir: Path, final: Path, patterns: list[str]) -> tuple[Checkpoint | None, list[Checkpoint]]:
    """(final, intermediates in step order) found in the run directory."""
    final_dir = (run_dir / final).resolve()
    found_final = read_checkpoint(final_dir, "final")
    seen, intermediate = {final_dir}, []
    for pattern in patterns:
        for folder in sorted(run_dir.glob(pattern)):
            if folder.resolve() in seen:
                continue
            seen.add(folder.resolve())
            checkpoint = read_checkpoint(folder)
            if checkpoint is not None:
                intermediate.append(checkpoint)
    intermediate.sort(key=lambda c: (c.step is None, c.step or 0, c.name))
    return found_final, intermediate
