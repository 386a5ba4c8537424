"""Which MOF components a bundle holds, judged from its files.

The same detectors write ``model.yml`` at build time and re-check it in ``release check``:
a component is listed only when its files are in the bundle and are the real thing (code
components by the modules inside the code archive, checkpoints by their safetensors
weights, datasets by the documents trained on, documents by the generated files).
Removing a component's files from a built bundle makes ``release check`` name exactly that
component.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from glassworks.release.bundle.code import archive_members
from glassworks.release.bundle.records import DOCUMENT_SUFFIXES, DOCUMENTS_DIR

CODE_DIR = "code"
IGNORED_MODULES = ("__init__.py", "cli.py")


@dataclass(frozen=True)
class Found:
    name: str  # the MOF component
    path: str  # bundle-relative path of its files (a folder ends with /)
    kind: str  # code | parameters | datasets | evaluation_data | document: which licence applies


def _modules(members: list[str], folder: str, needle: str = "") -> list[str]:
    """Python modules under ``folder/`` whose path contains ``needle``, CLI glue excepted."""
    return [m for m in members if m.startswith(folder + "/") and m.endswith(".py")
            and Path(m).name not in IGNORED_MODULES and needle in m[len(folder) + 1:]]


# (component, package folder, path fragment): a code component is in the archive when a
# module of that package whose path holds the fragment is.
CODE_COMPONENTS = (
    ("Model architecture", "model", "transformer"),
    ("Training code", "model", "train"),
    ("Inference code", "model", "generat"),
    ("Evaluation code", "evals", ""),
    ("Data preprocessing code", "pipeline", ""),
    ("Supporting libraries and tools", "provenance", ""),
)


def _has_weights(folder: Path) -> bool:
    return folder.is_dir() and any(folder.rglob("*.safetensors"))


def _has_eval_results(folder: Path) -> bool:
    for path in sorted(folder.rglob("*.json")) if folder.is_dir() else []:
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(value, dict) and isinstance(value.get("results"), dict) and value["results"]:
            return True
    return False


EVAL_DATA_SUFFIXES = (".jsonl", ".jsonl.gz", ".parquet", ".csv", ".tsv")


def _eval_data_folder(folder: Path) -> Path | None:
    """The folder that holds the evaluation task data (the deepest common one), if any."""
    files = [p for p in sorted(folder.rglob("*")) if p.is_file() and p.name.endswith(EVAL_DATA_SUFFIXES)]
    if not files:
        return None
    common = files[0].parent
    while not all(f.is_relative_to(common) for f in files):
        common = common.parent
    return common


def _is_model_config(path: Path) -> bool:
    """A checkpoint's config.json: the model's training configuration (``{"model": {...}}``)."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(value, dict) and isinstance(value.get("model"), dict)


def _nonempty(folder: Path) -> bool:
    return folder.is_dir() and any(p.is_file() for p in folder.rglob("*"))


def detect(bundle: Path) -> list[Found]:
    """The components present in ``bundle``, in the framework's order."""
    found: list[Found] = []
    archives = sorted((bundle / CODE_DIR).glob("*.tar.gz"))
    members = sorted({m for a in archives for m in archive_members(a)})
    archive = f"{CODE_DIR}/{archives[-1].name}" if len(archives) == 1 else f"{CODE_DIR}/"
    for name, folder, needle in CODE_COMPONENTS:
        if _modules(members, folder, needle):
            found.append(Found(name, archive, "code"))
    checkpoints = bundle / "checkpoints"
    if _has_weights(checkpoints / "final"):
        found.append(Found("Model parameters (Final)", "checkpoints/final/", "parameters"))
    if _is_model_config(checkpoints / "final" / "config.json"):
        found.append(Found("Model metadata", "checkpoints/final/config.json", "parameters"))
    if any(_has_weights(d) for d in sorted(checkpoints.glob("*")) if d.name != "final"):
        found.append(Found("Model parameters (Intermediate)", "checkpoints/", "parameters"))
    documents = bundle / DOCUMENTS_DIR
    if documents.is_dir() and any(p.name.endswith(DOCUMENT_SUFFIXES) for p in documents.rglob("*") if p.is_file()):
        found.append(Found("Datasets", "corpus/", "datasets"))  # the documents trained on, not a recipe for them
    data = _eval_data_folder(bundle / "eval")
    if data is not None:
        found.append(Found("Evaluation data", data.relative_to(bundle).as_posix() + "/", "evaluation_data"))
    if _has_eval_results(bundle / "eval"):
        found.append(Found("Evaluation results", "eval/", "document"))
    if _nonempty(bundle / "samples"):
        found.append(Found("Sample model outputs", "samples/", "document"))
    for name, rel in (("Model card", "README.md"), ("Data card", "corpus/README.md"),
                      ("Technical report", "docs/technical-report.md"), ("Research paper", "docs/paper.md")):
        if (bundle / rel).is_file() and (bundle / rel).stat().st_size > 0:
            found.append(Found(name, rel, "document"))
    return found
