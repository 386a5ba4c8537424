"""One streaming pass over a run directory or bundle: the sha256 and size of every file.

verify, sign and the report all need the same facts about the tree; computing them once
means every byte is read once. Memory is one entry per file (path, digest, size), never the
file contents: 10 000 files cost a few megabytes however large they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from glassworks.provenance.hashing import sha256_file
from glassworks.provenance.paths import symlink_target, walk_files

ATTESTATION_DIR = "attestation/"
# Executor logs carry timestamps and host names, so no manifest records them; the facts
# they hold that matter (counts) are recorded in the stage's manifest instead. Reports
# (tables, charts) and Slurm scripts are drawn from the config and can be redrawn. In a run
# directory these are left unrecorded; a bundle has no such exceptions.
# keys/: the maintainer's signing keys (the demo keeps its pair there) are never recorded or signed
UNRECORDED_DIRS = ("logs/", "reports/", "slurm/", "keys/")


@dataclass
class TreeIndex:
    root: Path
    files: dict[str, tuple[str, int]] = field(default_factory=dict)  # rel -> (sha256, size)
    odd: dict[str, str] = field(default_factory=dict)  # rel -> why it is not a plain file (symlinks, fifos)
    unreadable: dict[str, str] = field(default_factory=dict)  # rel -> the OS error

    @classmethod
    def build(cls, root: Path, skip: tuple[str, ...] = (), desc: str = "hashing") -> TreeIndex:
        """Hash every plain file under ``root`` except the ``skip`` folders and attestation/."""
        from tqdm import tqdm

        index = cls(root=Path(root))
        entries = list(walk_files(index.root, skip=(*skip, ATTESTATION_DIR)))
        total = sum(e.size for e in entries)
        with tqdm(total=total, desc=desc, unit="B", unit_scale=True, disable=None, leave=False) as bar:
            for entry in entries:
                if entry.kind == "symlink":
                    index.odd[entry.rel] = f"is a symlink (to {symlink_target(entry.path)}); refused"
                elif entry.kind != "file":
                    index.odd[entry.rel] = "is not a regular file; refused"
                else:
                    try:
                        index.files[entry.rel] = sha256_file(entry.path, progress=bar.update)
                    except OSError as exc:
                        index.unreadable[entry.rel] = exc.strerror or str(exc)
        return index

    @cached_property
    def by_hash(self) -> dict[tuple[str, int], list[str]]:
        out: dict[tuple[str, int], list[str]] = {}
        for rel, key in self.files.items():
            out.setdefault(key, []).append(rel)
        return out

    @property
    def bytes(self) -> int:
        return sum(size for _, size in self.files.values())
