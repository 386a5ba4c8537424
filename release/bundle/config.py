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
    ship: Literal["documents", "shards", "manifests"] = "documents"
    """``documents``: the data the model was made from ships under corpus/: the documents the
    global dedup kept (with their dedup weights) in corpus/documents/<source>/, the token
    shards of every phase in corpus/tokens/<phase>/; ``audit verify`` matches each against
    the manifest that recorded it. ``shards``: that, and every other file the run's manifests
    record (raw snapshot, every corpus stage) at its run path, so the whole record verifies
    byte for byte. ``manifests``: no data, only the stage manifests and the recipes that
    regenerate it; the bundle then does not claim the Datasets component."""
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
    """One SPDX licence id per kind of artifact (the Model Openness Tool looks each up as one
    id: an expression such as ``MIT AND BSD-2-Clause`` is no licence to it); texts come from
    ``licence_texts``. The defaults are licences the MOT lists as fit for each kind."""

    code: str = "Apache-2.0"
    document: str = "CC-BY-4.0"
    parameters: str = "CDLA-Permissive-2.0"  # weights and model metadata are data to the MOT: an open-data licence
    datasets: str | None = "CDLA-Permissive-2.0"  # None: the licences of the raw sources (data_dir/REUSE.toml)
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
