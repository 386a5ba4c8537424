"""Paths taken from a record are untrusted: they may not leave the tree they are anchored to.

A manifest, a signed statement or a MOF description names files by relative POSIX path.
Before anything is opened, ``unsafe_reason`` refuses absolute paths, ``..`` steps,
backslashes, control characters and empty parts, and ``resolve_inside`` refuses a path
whose target (after following symlinks) lies outside its root, or that is a symlink at all
where the caller asks for real files. ``walk_files`` lists a tree without following
symlinks, one directory at a time, so a bundle of any size is walked in bounded memory.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

_CONTROL = {chr(c) for c in range(32)} | {"\x7f"}


class UnsafePath(ValueError):
    """A recorded path that would read outside its root; the message says why."""


def unsafe_reason(rel: object) -> str | None:
    """Why ``rel`` cannot be a path relative to a root, or None when it can."""
    if not isinstance(rel, str) or not rel:
        return "is not a non-empty string"
    if rel.startswith("/") or (len(rel) > 1 and rel[1] == ":"):
        return "is absolute"
    if "\\" in rel:
        return "contains a backslash"
    if any(ch in _CONTROL for ch in rel):
        return "contains a control character"
    parts = rel.split("/")
    if ".." in parts:
        return "climbs out with '..'"
    if any(part in ("", ".") for part in parts):
        return "has an empty or '.' part"
    return None


def resolve_inside(root: Path, rel: str, allow_symlinks: bool = False) -> Path:
    """``root / rel`` after checking that it stays inside ``root``; raises ``UnsafePath``.

    A symlink anywhere along the path is refused unless ``allow_symlinks``, and even then
    its target must stay inside ``root``. The returned path need not exist.
    """
    reason = unsafe_reason(rel)
    if reason:
        raise UnsafePath(f"{rel!r} {reason}")
    root = Path(root).resolve()
    target = root / rel
    if not allow_symlinks:
        probe = root
        for part in rel.split("/"):
            probe = probe / part
            if probe.is_symlink():
                raise UnsafePath(f"{rel!r} passes through a symlink ({probe.relative_to(root).as_posix()})")
    if not target.resolve().is_relative_to(root):
        raise UnsafePath(f"{rel!r} resolves outside {root}")
    return target


@dataclass(frozen=True)
class TreeEntry:
    """One non-directory entry of a walked tree."""

    rel: str  # POSIX path relative to the root
    path: Path
    kind: str  # "file" | "symlink" | "other" (fifo, socket, device)
    size: int = 0


def walk_files(root: Path, skip: tuple[str, ...] = ()) -> Iterator[TreeEntry]:
    """Every non-directory entry under ``root`` in sorted order, symlinks not followed.

    ``skip`` holds relative folder prefixes ending in '/' (e.g. ``"logs/"``) not to enter.
    Only the directories on the current path are held open, so memory does not grow with
    the number of files.
    """
    root = Path(root)
    stack = [""]
    while stack:
        prefix = stack.pop()
        with os.scandir(root / prefix if prefix else root) as listing:
            entries = sorted(listing, key=lambda e: e.name)
        subdirs = []
        for entry in entries:
            rel = f"{prefix}{entry.name}"
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                if f"{rel}/" not in skip:
                    subdirs.append(f"{rel}/")
            elif stat.S_ISLNK(st.st_mode):
                yield TreeEntry(rel, Path(entry.path), "symlink")
            elif stat.S_ISREG(st.st_mode):
                yield TreeEntry(rel, Path(entry.path), "file", st.st_size)
            else:
                yield TreeEntry(rel, Path(entry.path), "other")
        stack.extend(reversed(subdirs))


def symlink_target(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError as exc:
        return f"<unreadable: {exc}>"
