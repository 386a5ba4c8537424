"""The release bundle's config: what to ship from a run directory, under which licences.

Paths under ``artifacts`` are relative to the run directory; a path that does not exist
there is not an error: the bundle ships what the run has, and the MOF class says what that
is worth. Paths under ``corpus.recipes`` and ``licence_texts`` are relative to the
repository root.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class CorpusConfig:
    ship: Literal["shards", "manifests"] = "manifests"
    """``shards``: every file the run's manifests record (raw snapshot, documents, corpus
    stages, token shards) goes into the bundle, so the whole record verifies byte for byte.
    ``manifests``: only the stage manifests and the recipes that regenerate the corpus from
    the raw sources (which travel in the code archive when they are embedded in the repo)."""
    recipes: list[Path] = field(default_factory=lambda: [Path(f"configs/{n}.yaml") for n in ("slimpajama", "dclm", "stack")])
    """Recipe files the corpus was made with; shipped under corpus/recipes/."""
    data_dir: Path = Path("data")
    """Root of the raw sources (the ``data`` root of the sources stage); its REUSE.toml gives
    the corpus licences when ``licences.datasets`` is not set."""


@dataclass(frozen=True)
class ArtifactsConfig:
    """Where the run keeps what the bundle ships (relative to the run directory)."""

    final_checkpoint: Path = Path("checkpoints/final")
    intermediate_checkpoints: list[str] = field(default_factory=lambda: ["checkpoints/*"])
    """Glob patterns of intermediate checkpoint folders (the final one is skipped)."""
    tokenizer: Path = Path("tokenizer")
    hf_export: Path = Path("hf")
    eval_results: Path = Path("eval")
    """Evaluation results: lm-eval results JSON, one folder per checkpoint (``eval/<ckpt>/results.json``,
    as ``glassworks eval`` writes them), or one JSON file. Shipped under ``eval/``."""
    eval_data: Path = Path("eval/suite")
    """The evaluation task data the run evaluated on (JSON lines); shipped under ``eval/``."""
    training_metrics: list[str] = field(default_factory=lambda: ["logs/train/metrics.jsonl", "train/**/metrics*.jsonl"])
    """Glob patterns of training metric logs (JSON lines with step, loss and phase) for the curves;
    shipped at their run paths."""
    samples: Path = Path("samples")
    """Sample generations of the model, when the run saved some."""


@dataclass(frozen=True)
class LicenceConfig:
    """SPDX licences of each kind of artifact; texts come from ``licence_texts``."""

    code: str = "Apache-2.0"
    document: str = "CC-BY-4.0"
    parameters: str = "CC-BY-4.0"  # weights are data in MOF's sense: an open-data licence
    datasets: str | None = None  # None: the licences of the raw sources (data_dir/REUSE.toml), joined by AND
    evaluation_data: str | None = None  # None: as datasets (the demo's tasks are drawn from the same sources)


@dataclass(frozen=True)
class BundleConfig:
    run_dir: Path = Path("glassworks-demo")  # the run to release (relative to the current directory)
    out_dir: Path = Path("glassworks-demo/bundle")  # where the bundle is written; must be new or empty
    name: str = "glassworks-tiny"
    version: str = "0.1.0"
    producer: str = "The glassworks authors"
    contact: str = ""
    repository: str = ""  # public URL of the code repository, when there is one
    hub_repo: str = ""  # Hugging Face repo id (org/name) the cards link to, when published there
    language: list[str] = field(default_factory=lambda: ["en"])
    licences: LicenceConfig = field(default_factory=LicenceConfig)
    licence_texts: Path = Path("LICENSES")
    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    artifacts: ArtifactsConfig = field(default_factory=ArtifactsConfig)
