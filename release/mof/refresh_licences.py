"""Refresh the Model Openness Tool's licence data vendored in ``assets/``.

The MOT (github.com/lfai/model_openness_tool, MIT) decides whether a licence is open and
type-appropriate from three sources, all read here and written unchanged or as extracted:

- ``web/modules/mof/licenses.json``: its snapshot of the SPDX list (OSI / FSF flags);
- ``web/modules/mof/mof-licenses.json``: its own list, with a ``ContentType`` per id;
- ``web/modules/mof/src/LicenseHandler.php``: two constant arrays of ids it also counts as open
  (``OPEN_DATA_LICENSES``, ``OPEN_LICENSES``), extracted to ``mot-open-lists.json``.

Usage::

    python -m glassworks.release.mof.refresh_licences SOURCE [--rev REV] [--commit SHA]

SOURCE is a git directory of the MOT (a checkout or a bare mirror; files are read at REV,
default HEAD) or a plain folder holding the files, either at their repository paths or side
by side. ``mot-provenance.json`` records the repository, commit, path and sha256 of each file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

REPO = "lfai/model_openness_tool"
FILES = {  # vendored name -> path in the MOT repository
    "licenses.json": "web/modules/mof/licenses.json",
    "mof-licenses.json": "web/modules/mof/mof-licenses.json",
}
HANDLER = "web/modules/mof/src/LicenseHandler.php"
CONSTANTS = ("OPEN_DATA_LICENSES", "OPEN_LICENSES")
ASSETS = Path(__file__).resolve().parent / "assets"


class Source:
    """Reads MOT files from a git directory at one revision, or from a plain folder."""

    def __init__(self, root: Path, rev: str, commit: str | None):
        self.root = root
        self.git = _git(root, "rev-parse", "--git-dir") is not None
        if self.git:
            self.commit = _git(root, "rev-parse", f"{rev}^{{commit}}")
            if self.commit is None:
                raise SystemExit(f"{root}: no revision {rev!r}")
        else:
            self.commit = commit or "unknown"

    def read(self, path: str) -> bytes | None:
        if self.git:
            done = subprocess.run(["git", "-C", str(self.root), "show", f"{self.commit}:{path}"], capture_output=True)
            return done.stdout if done.returncode == 0 else None
        for candidate in (self.root / path, self.root / Path(path).name):
            if candidate.is_file():
                return candidate.read_bytes()
        return None


def _git(root: Path, *args: str) -> str | None:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def php_string_array(source: str, name: str) -> list[str]:
    """The single-quoted strings of ``const NAME = [...]`` in PHP source."""
    match = re.search(rf"const\s+{name}\s*=\s*\[(.*?)\];", source, re.S)
    if match is None:
        raise SystemExit(f"{HANDLER}: no 'const {name} = [...]' found; the MOT changed, read it by hand")
    return re.findall(r"'([^']*)'", match.group(1))


def _check_licence_list(name: str, raw: bytes) -> None:
    data = json.loads(raw)
    ids = [entry["licenseId"] for entry in data["licenses"]]
    if not ids or not all(isinstance(i, str) and i for i in ids):
        raise SystemExit(f"{name}: 'licenses' must list entries with a licenseId")


def refresh(source: Source, out: Path = ASSETS) -> dict:
    provenance = {"repository": f"https://github.com/{REPO}", "commit": source.commit, "files": {}}
    for vendored, path in FILES.items():
        raw = source.read(path)
        if raw is None:
            raise SystemExit(f"{source.root}: {path} not found")
        _check_licence_list(path, raw)
        (out / vendored).write_bytes(raw)
        provenance["files"][vendored] = {"path": path, "sha256": hashlib.sha256(raw).hexdigest()}
    php = source.read(HANDLER)
    if php is None:
        if not (out / "mot-open-lists.json").is_file():
            raise SystemExit(f"{source.root}: {HANDLER} not found and no earlier mot-open-lists.json to keep")
        print(f"note: {HANDLER} not in {source.root}; kept mot-open-lists.json as it was", file=sys.stderr)
        old = json.loads((out / "mot-provenance.json").read_text(encoding="utf-8"))
        provenance["files"]["mot-open-lists.json"] = old["files"]["mot-open-lists.json"]
    else:
        lists = {name: php_string_array(php.decode("utf-8"), name) for name in CONSTANTS}
        (out / "mot-open-lists.json").write_text(json.dumps(lists, indent=2) + "\n", encoding="utf-8")
        provenance["files"]["mot-open-lists.json"] = {
            "path": HANDLER, "sha256": hashlib.sha256(php).hexdigest(),
            "extracted": "the constant arrays " + " and ".join(CONSTANTS)}
    (out / "mot-provenance.json").write_text(json.dumps(provenance, indent=2) + "\n", encoding="utf-8")
    return provenance


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="git directory of the MOT, or a folder holding its files")
    parser.add_argument("--rev", default="HEAD", help="revision to read in a git directory (default HEAD)")
    parser.add_argument("--commit", default=None, help="commit the files of a plain folder come from")
    parser.add_argument("--out", type=Path, default=ASSETS, help="folder to write into (default: the package assets)")
    args = parser.parse_args(argv)
    provenance = refresh(Source(args.source, args.rev, args.commit), args.out)
    print(f"vendored {', '.join(provenance['files'])} from {REPO} at {provenance['commit']} into {args.out}")
    print("now update the commit in the REUSE.toml annotation of release/mof/assets and run the MOF tests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
