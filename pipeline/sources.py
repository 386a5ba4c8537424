"""The `sources` stage: check the raw inputs against their listing, then snapshot them or read them in place.

Every corpus starts from raw bytes. This stage checks each raw file (WARC, JSONL, code trees)
of a data folder against the sha256 that the folder's listing records: ``SOURCES.md`` (a
Markdown table with a path and a sha256 per file) or the JSONL that ``glassworks corpus
sources scan`` writes. Then, by default (``copy: true``), it copies the files that match into
``RUN/raw/``, so the run directory alone says which bytes a corpus was built from.

With ``copy: false`` nothing is copied (a multi-terabyte crawl is not stored twice): the
stage writes ``RUN/sources/in-place.jsonl``, the verified list of path, size and sha256, and
the documents stage reads the files where they lie (``raw_location``), recording them under
the same ``data`` root as this stage, so ``audit verify --root data=DIR`` and ``audit
regenerate`` check them byte for byte. Where the folder lies on this machine is no fact about
the corpus: it is kept in ``RUN/logs/sources/location.json``, which no manifest records.
A file that does not match its listing cannot be set aside in place (it stays where the
readers look), so in place any changed or unlisted file stops the run.

Accounting, per file: kept (listed and matching), quarantined (changed since listed,
unlisted, or listed but absent), each quarantined file recorded with its reason in
``RUN/quarantine/sources.jsonl``. With ``on_mismatch: fail`` the first problem stops the run.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from glassworks.errors import GlassworksError
from glassworks.provenance.atomic import atomic_write_text
from glassworks.provenance.hashing import sha256_file
from glassworks.provenance.recorder import record_stage, refuse_to_clobber

STAGE, VERSION = "sources", "1"
_SHA = re.compile(r"^[0-9a-f]{64}$")
IN_PLACE = "sources/in-place.jsonl"  # relative to the run directory
LOCATION = "logs/sources/location.json"  # unrecorded: where the data folder lies on this machine


@dataclass(frozen=True)
class SourcesConfig:
    """Where the raw inputs are and what to do when one differs from its listing."""

    data_dir: Path = Path("data")
    listing: str = "SOURCES.md"  # relative to data_dir: a Markdown table, or the .jsonl `sources scan` writes
    include: tuple[str, ...] = ("web", "text", "code")  # sub-folders of data_dir that are corpus inputs
    on_mismatch: Literal["quarantine", "fail"] = "quarantine"
    # Copy the raw files into RUN/raw/ (the run dir then holds its own inputs), or read them in
    # place. Copying stays the default: small corpora (the demo's) are cheap to copy, and a run
    # directory that holds its inputs can be moved and verified without naming the data folder.
    copy: bool = True

    def recorded(self) -> dict:
        """The manifest's config: where data_dir lies is no fact about the corpus (its files
        are recorded relative to the ``data`` root), so the id is the same on every machine.
        ``copy`` appears only when off, so manifests of copying runs keep their ids."""
        out = {"listing": self.listing, "include": self.include, "on_mismatch": self.on_mismatch}
        if not self.copy:
            out["copy"] = False
        return out


def read_listing(path: Path) -> dict[str, str]:
    """{relative path: sha256} from a JSONL listing (``path`` and ``sha256`` per line) or from
    every Markdown table row that holds a path and a sha256."""
    if not path.is_file():
        raise GlassworksError(f"{path}: source listing not found")
    rows = _jsonl_rows(path) if path.name.endswith(".jsonl") else _markdown_rows(path)
    listed: dict[str, str] = {}
    for number, rel, sha in rows:
        rel = rel.removeprefix("data/")
        if rel in listed and listed[rel] != sha:
            raise GlassworksError(f"{path}:{number}: {rel} is listed twice with different hashes")
        listed[rel] = sha
    if not listed:
        raise GlassworksError(f"{path}: no table rows with a path and a sha256")
    return listed


def _markdown_rows(path: Path):
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.lstrip().startswith("|"):
            continue
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        shas = [c for c in cells if _SHA.match(c)]
        if not shas:
            continue
        if len(shas) > 1:
            raise GlassworksError(f"{path}:{number}: a row holds more than one sha256")
        yield number, cells[0], shas[0]


def _jsonl_rows(path: Path):
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise GlassworksError(f"{path}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict) or not isinstance(row.get("path"), str) or not _SHA.match(str(row.get("sha256"))):
            raise GlassworksError(f"{path}:{number}: a listing line needs a 'path' and a 64-hex 'sha256'")
        yield number, row["path"], row["sha256"]


@dataclass(frozen=True)
class RawLocation:
    """Where the documents stage finds the raw shapes, and how it records them."""

    folder: Path  # holds web/, text/ and code/
    roots: dict[str, Path]  # record_stage roots: {} for the run's own raw/, {"data": folder} in place
    listing: Path | None = None  # the in-place listing, recorded as an input (links the sources manifest)


def raw_location(run_dir: Path, raw_dir: str = "raw") -> RawLocation:
    """The run's raw inputs: its copy under ``raw_dir``, or the data folder the sources stage
    verified in place."""
    copied, listing, location = run_dir / raw_dir, run_dir / IN_PLACE, run_dir / LOCATION
    if copied.is_dir() or not listing.is_file():
        return RawLocation(copied, {})
    try:
        folder = Path(json.loads(location.read_text(encoding="utf-8"))["data_dir"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise GlassworksError(f"{location}: cannot tell where the in-place sources lie ({exc}); "
                              "run the sources stage again") from None
    if not folder.is_dir():
        raise GlassworksError(f"{folder}: the data folder the sources stage read in place is gone (per {location})")
    return RawLocation(folder, {"data": folder}, listing)


def run_sources(config: SourcesConfig, run_dir: Path) -> dict:
    """Run the stage; returns its manifest."""
    data_dir = config.data_dir
    if not data_dir.is_dir():
        raise GlassworksError(f"{data_dir}: data folder not found")
    listing_path = data_dir / config.listing
    listed = read_listing(listing_path)
    raw_dir, quarantine_file = run_dir / "raw", run_dir / "quarantine" / "sources.jsonl"
    in_place, location = run_dir / IN_PLACE, run_dir / LOCATION
    refuse_to_clobber(run_dir, STAGE, config.recorded())
    for stale in (raw_dir, quarantine_file, in_place, location):
        if stale.is_dir():
            shutil.rmtree(stale)
        elif stale.exists():
            stale.unlink()

    present = {}
    for sub in config.include:
        folder = data_dir / sub
        if not folder.is_dir():
            raise GlassworksError(f"{folder}: input folder named in sources.include does not exist")
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            present[file.relative_to(data_dir).as_posix()] = file
    wanted = {rel for rel in listed if rel.split("/", 1)[0] in config.include}

    problems, kept = [], []
    if config.copy:
        for sub in config.include:  # an included folder without files is an empty shape, not a missing one
            (raw_dir / sub).mkdir(parents=True, exist_ok=True)
    with record_stage(run_dir, STAGE, VERSION, config.recorded(), roots={"data": data_dir}, unit="files") as rec:
        rec.input(listing_path)
        for rel in sorted(set(present) | wanted):
            rec.counts.add_in()
            file = present.get(rel)
            if file is None:
                problems.append({"path": rel, "reason": "listed_but_missing", "expected_sha256": listed[rel]})
                continue
            rec.input(file)
            sha, size = sha256_file(file)
            if rel not in listed:
                problems.append({"path": rel, "reason": "not_listed", "sha256": sha, "bytes": size})
            elif listed[rel] != sha:
                problems.append({"path": rel, "reason": "sha256_mismatch", "sha256": sha,
                                 "expected_sha256": listed[rel], "bytes": size})
            else:
                if config.copy:
                    target = raw_dir / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(file, target)
                kept.append({"path": rel, "bytes": size, "sha256": sha})
                rec.counts.keep()
        stuck = [p for p in problems if p["reason"] != "listed_but_missing"] if not config.copy else []
        if problems and config.on_mismatch == "fail" or stuck:
            first = (stuck or problems)[0]
            why = "; read in place (sources copy: false), it would be read all the same" if stuck else ""
            raise GlassworksError(f"{data_dir / first['path']}: {first['reason'].replace('_', ' ')} "
                                  f"(per {listing_path}){why}; {len(problems)} problem(s) in all")
        rec.counts.quarantine(len(problems))
        if problems:
            atomic_write_text(quarantine_file, "".join(json.dumps(p, sort_keys=True) + "\n" for p in problems))
            rec.output(quarantine_file)
        if config.copy:
            rec.output(raw_dir)
        else:
            atomic_write_text(in_place, "".join(json.dumps(k, sort_keys=True) + "\n" for k in kept))
            rec.output(in_place)
            atomic_write_text(location, json.dumps({"data_dir": str(data_dir.resolve())}) + "\n")
    return rec.manifest


# --- `glassworks corpus sources scan`: write the listing this stage checks ---------------------

_LICENCE_FILES = re.compile(r"^(LICEN[CS]E|COPYING)([.-].*)?$", re.IGNORECASE)


def _reuse_pattern(glob: str) -> re.Pattern:
    """A REUSE.toml path glob: ``*`` stays inside one folder, ``**`` crosses folders."""
    out = ""
    for part in re.split(r"(\*\*|\*)", glob):
        out += ".*" if part == "**" else "[^/]*" if part == "*" else re.escape(part)
    return re.compile(out + r"\Z")


def _reuse_notes(folder: Path) -> list[tuple[re.Pattern, str]]:
    """(path pattern, SPDX expression) of each annotation of ``folder/REUSE.toml``, in file order."""
    import tomllib

    path = folder / "REUSE.toml"
    if not path.is_file():
        return []
    try:
        notes = tomllib.loads(path.read_text(encoding="utf-8")).get("annotations", [])
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise GlassworksError(f"{path}: not a readable REUSE.toml ({exc})") from None
    out = []
    for note in notes:
        spdx, paths = note.get("SPDX-License-Identifier"), note.get("path", [])
        if isinstance(spdx, str):
            out += [(_reuse_pattern(p), spdx) for p in ([paths] if isinstance(paths, str) else paths)]
    return out


class _Licences:
    """The licence of a file, from the nearest REUSE.toml above it that annotates it (the last
    matching annotation wins, as in REUSE), else the nearest licence file (LICENSE, COPYING...)
    above it inside the scanned folder."""

    def __init__(self, base: Path):
        self.base, self._notes, self._files = base, {}, {}

    def __call__(self, file: Path) -> dict:
        for folder in file.parents:
            if folder not in self._notes:
                self._notes[folder] = _reuse_notes(folder)
            rel = file.relative_to(folder).as_posix()
            matches = [spdx for pattern, spdx in self._notes[folder] if pattern.match(rel)]
            if matches:
                return {"licence": matches[-1]}
        for folder in file.parents:
            if folder not in self._files:
                self._files[folder] = sorted(p for p in folder.iterdir() if p.is_file() and _LICENCE_FILES.match(p.name))
            if self._files[folder]:
                return {"licence_file": self._files[folder][0].relative_to(self.base).as_posix()}
            if folder == self.base:
                break
        return {}


def scan_sources(dirs: list[Path], out: Path, markdown: Path | None = None) -> list[dict]:
    """Write the listing of every file under ``dirs``: one JSON object per line (path, bytes,
    sha256, and licence or licence_file where known), sorted by path, and with ``markdown`` the
    same as the Markdown table ``SOURCES.md`` uses. Paths are relative to the one folder given,
    or to the folders' common parent; ``out`` and ``markdown`` themselves are left out."""
    import os

    from tqdm import tqdm

    missing = [d for d in dirs if not d.is_dir()]
    if not dirs or missing:
        raise GlassworksError(f"{missing[0] if missing else 'sources scan'}: no such folder to scan")
    folders = [d.resolve() for d in dirs]
    base = folders[0] if len(folders) == 1 else Path(os.path.commonpath(folders))
    skip = {p.resolve() for p in (out, markdown) if p is not None}
    files = sorted({p.resolve() for d in folders for p in d.rglob("*") if p.is_file()} - skip)
    licences, rows = _Licences(base), []
    with tqdm(total=sum(p.stat().st_size for p in files), desc="sources scan: hashing", unit="B",
              unit_scale=True, disable=None, leave=False) as bar:
        for file in files:
            sha, size = sha256_file(file, progress=bar.update)
            rows.append({"path": file.relative_to(base).as_posix(), "bytes": size, "sha256": sha, **licences(file)})
    atomic_write_text(out, "".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in rows))
    if markdown is not None:
        table = ["| path | bytes | sha256 | licence |", "|---|---|---|---|"]
        table += [f"| `{r['path']}` | {r['bytes']} | `{r['sha256']}` | "
                  f"{r.get('licence') or ('see ' + r['licence_file'] if 'licence_file' in r else 'unknown')} |"
                  for r in rows]
        atomic_write_text(markdown, "\n".join(table) + "\n")
    return rows
