"""The `sources` stage: snapshot the raw inputs into the run and check them against their listing.

Every corpus starts from raw bytes. This stage copies the raw files (WARC, JSONL, code
trees) from a data folder into ``RUN/raw/`` and checks each against the sha256 that the
folder's listing (``SOURCES.md``: a Markdown table with a path and a sha256 per file)
records. Later stages read only ``RUN/raw/``, so the run directory alone says which bytes a
corpus was built from, and ``audit verify`` can prove it.

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


@dataclass(frozen=True)
class SourcesConfig:
    """Where the raw inputs are and what to do when one differs from its listing."""

    data_dir: Path = Path("data")
    listing: str = "SOURCES.md"  # relative to data_dir
    include: tuple[str, ...] = ("web", "text", "code")  # sub-folders of data_dir that are corpus inputs
    on_mismatch: Literal["quarantine", "fail"] = "quarantine"

    def recorded(self) -> dict:
        """The manifest's config: where data_dir lies is no fact about the corpus (its files
        are recorded relative to the ``data`` root), so the id is the same on every machine."""
        return {"listing": self.listing, "include": self.include, "on_mismatch": self.on_mismatch}


def read_listing(path: Path) -> dict[str, str]:
    """{relative path: sha256} from every Markdown table row that holds a path and a sha256."""
    if not path.is_file():
        raise GlassworksError(f"{path}: source listing not found")
    listed: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.lstrip().startswith("|"):
            continue
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        shas = [c for c in cells if _SHA.match(c)]
        if not shas:
            continue
        if len(shas) > 1:
            raise GlassworksError(f"{path}:{number}: a row holds more than one sha256")
        rel = cells[0].removeprefix("data/")
        if rel in listed and listed[rel] != shas[0]:
            raise GlassworksError(f"{path}:{number}: {rel} is listed twice with different hashes")
        listed[rel] = shas[0]
    if not listed:
        raise GlassworksError(f"{path}: no table rows with a path and a sha256")
    return listed


def run_sources(config: SourcesConfig, run_dir: Path) -> dict:
    """Run the stage; returns its manifest."""
    data_dir = config.data_dir
    if not data_dir.is_dir():
        raise GlassworksError(f"{data_dir}: data folder not found")
    listing_path = data_dir / config.listing
    listed = read_listing(listing_path)
    raw_dir, quarantine_file = run_dir / "raw", run_dir / "quarantine" / "sources.jsonl"
    refuse_to_clobber(run_dir, STAGE, config.recorded())
    for stale in (raw_dir, quarantine_file):
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

    problems = []
    raw_dir.mkdir(parents=True)
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
                target = raw_dir / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(file, target)
                rec.counts.keep()
        if problems and config.on_mismatch == "fail":
            first = problems[0]
            raise GlassworksError(f"{data_dir / first['path']}: {first['reason'].replace('_', ' ')} "
                                  f"(per {listing_path}); {len(problems)} problem(s) in all")
        rec.counts.quarantine(len(problems))
        if problems:
            lines = "".join(json.dumps(p, sort_keys=True) + "\n" for p in problems)
            atomic_write_text(quarantine_file, lines)
            rec.output(quarantine_file)
        rec.output(raw_dir)
    return rec.manifest
