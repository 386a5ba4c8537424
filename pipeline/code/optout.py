"""Honour opt-out requests: authors who asked that their code not be trained on (as The Stack's "Am I in The Stack?").

The opt-out list is a text file, one entry a line: ``repo`` (a whole repository) or
``repo/glob`` (files of it; ``fnmatch`` patterns on the path inside the repository, so
``*`` also crosses ``/``, and ``repo/dir/`` means everything under dir). Blank lines and
``#`` comments (whole-line, or after whitespace) are ignored. The list is read when the
step is built, so a run keeps the list it started with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter

COMMENT = re.compile(r"(?:^|\s+)#.*$")


@dataclass(frozen=True)
class OptOut:
    repo: str
    """Repository name, as the code tree's top-level folder."""
    pattern: str | None
    """fnmatch pattern on the path inside the repository; None for the whole repository."""
    line: int
    """Line of the opt-out file it came from, for the record."""

    def matches(self, repo: str, path: str) -> bool:
        return repo == self.repo and (self.pattern is None or fnmatchcase(path, self.pattern))


def load_opt_outs(path: str | Path) -> tuple[OptOut, ...]:
    """Parse an opt-out file; a missing file or a malformed entry is an error naming file and line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: opt-out list not found")
    entries = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        entry = COMMENT.sub("", raw).strip()
        if not entry:
            continue
        repo, _, pattern = entry.partition("/")
        if not repo or entry.startswith("/"):
            raise ValueError(f"{path}:{number}: {raw.strip()!r} is not 'repo' or 'repo/path-glob'")
        if pattern.endswith("/"):
            pattern += "*"
        entries.append(OptOut(repo, pattern or None, number))
    return tuple(entries)


class OptOutFilter(BaseFilter):
    """Reject files of opted-out repositories or paths as ``opt_out``.

    Repository and path are ``metadata["repo"]`` and ``metadata["path"]``, else the two
    halves of the ``repo/path`` document id.
    """

    name = "🙅 opt-out"

    def __init__(self, opt_out_file: str | Path):
        super().__init__()
        self.opt_out_file = str(opt_out_file)
        self.entries = load_opt_outs(opt_out_file)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        repo, _, path = doc.id.partition("/")
        repo, path = doc.metadata.get("repo", repo), doc.metadata.get("path", path)
        if any(entry.matches(repo, path) for entry in self.entries):
            return False, "opt_out"
        return True
