"""Streaming sha256 of files and a Merkle root over file sets.

Files are read in fixed 1 MiB blocks into one reused buffer, so hashing a 50 GB shard
needs the same memory as hashing a 1 KB one. A set of files is summarised by a Merkle
root over (path, size, sha256) leaves sorted by path: one line in a manifest stands for a
shard set of any size, and changing, adding, dropping or renaming any file changes it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

BLOCK = 1 << 20


@dataclass(frozen=True)
class FileRecord:
    """One file as a manifest records it; ``path`` is POSIX and relative to its ``root``."""

    path: str
    bytes: int
    sha256: str
    root: str = "run"

    def as_json(self) -> dict:
        out = {"path": self.path, "bytes": self.bytes, "sha256": self.sha256}
        if self.root != "run":
            out["root"] = self.root
        return out


def sha256_file(path: str | Path, progress: Callable[[int], None] | None = None) -> tuple[str, int]:
    """Hex sha256 and size of ``path``, read in 1 MiB blocks; ``progress(n)`` per block."""
    digest = hashlib.sha256()
    buffer = bytearray(BLOCK)
    view = memoryview(buffer)
    size = 0
    with open(path, "rb", buffering=0) as handle:
        while True:
            n = handle.readinto(buffer)
            if not n:
                break
            digest.update(view[:n])
            size += n
            if progress is not None:
                progress(n)
    return digest.hexdigest(), size


def file_record(path: str | Path, rel: str, root: str = "run") -> FileRecord:
    sha, size = sha256_file(path)
    return FileRecord(path=rel, bytes=size, sha256=sha, root=root)


def merkle_root(records: Iterable[FileRecord | dict]) -> str:
    """Root of a binary Merkle tree over the records sorted by (root, path).

    Leaf = sha256("leaf" NUL root NUL path NUL size NUL sha256); node = sha256("node" NUL
    left right), an odd last node is carried up unchanged. The empty set has its own value.
    """
    leaves = []
    for rec in records:
        if isinstance(rec, FileRecord):
            rec = {**rec.as_json(), "root": rec.root}
        key = (rec.get("root", "run"), rec["path"])
        body = "\0".join(["leaf", key[0], key[1], str(rec["bytes"]), rec["sha256"]])
        leaves.append((key, hashlib.sha256(body.encode("utf-8")).digest()))
    if not leaves:
        return hashlib.sha256(b"empty").hexdigest()
    level = [leaf for _, leaf in sorted(leaves)]
    while len(level) > 1:
        nxt = [hashlib.sha256(b"node\0" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0].hex()
