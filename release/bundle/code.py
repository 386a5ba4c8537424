"""The code component: a ``git archive`` of each commit that made the run.

Every manifest records the commit its code was at; the bundle ships exactly those commits
(usually one), so ``audit verify`` can tie each manifest to the code in the bundle. A run
made from a working tree with uncommitted changes is shipped with its commit and a warning:
the changes themselves were never recorded and cannot be shipped honestly.
"""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

from glassworks.errors import GlassworksError


def _git(repo: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True)
    except FileNotFoundError:
        raise GlassworksError("git is not installed: the bundle ships its code as a git archive") from None
    except subprocess.CalledProcessError as exc:
        raise GlassworksError(f"git {' '.join(args)} in {repo}: {exc.stderr.strip() or exc}") from None
    return done.stdout


def archive_name(commit: str) -> str:
    return f"glassworks-{commit[:12]}.tar.gz"


def write_archive(repo: Path, commit: str, out_dir: Path) -> Path:
    """``code/glassworks-<commit>.tar.gz``: the tree of ``commit``, byte-identical on every
    run (git writes the commit time as every member's mtime and the commit id in the header)."""
    try:
        _git(repo, "cat-file", "-e", f"{commit}^{{commit}}")
    except GlassworksError:
        raise GlassworksError(f"{repo}: commit {commit} (recorded by the run's manifests) is not in this repository; "
                              "fetch it, or build the bundle from the checkout that made the run") from None
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / archive_name(commit)
    _git(repo, "-c", "tar.tar.gz.command=gzip -cn", "archive", "--format=tar.gz",
         f"--prefix=glassworks-{commit[:12]}/", "-o", str(target), commit)
    return target


def commit_date(repo: Path, commit: str) -> str:
    """The commit's date (YYYY-MM-DD): the release date, stable across rebuilds."""
    return _git(repo, "show", "-s", "--format=%cs", commit).strip()


def archive_members(path: Path) -> list[str]:
    """Member paths of an archive, without its top-level prefix folder."""
    with tarfile.open(path, "r:*") as tar:
        names = [m.name for m in tar.getmembers() if m.isfile()]
    return sorted(name.split("/", 1)[1] for name in names if "/" in name)
