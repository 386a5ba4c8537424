"""Every raw input file accounted for: which reader took it, what it yielded, how it ended.

Before the ``documents`` stage reads anything, ``claim_files`` gives each file under
``raw/<shape>/`` to exactly one reader; a file no reader takes stops the run naming it
(or, with ``documents.unmatched: skip``, is listed as skipped). After the run,
``write_input_listing`` counts the documents each file yielded (kept, dropped, quarantined,
from the stage's own outputs) and how reading ended: ``end``, ``truncated`` (with the byte
where the file was cut when the reader knows it) or ``skipped``. The listing,
``RUN/inputs/documents.jsonl``, is an output of the documents manifest, hashed with it.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from glassworks.errors import GlassworksError
from glassworks.pipeline.documents import QUARANTINE
from glassworks.provenance.atomic import atomic_write_text

TRUNCATED = {"truncated_archive", "unreadable_archive", "unreadable_parquet", "truncated_record"}
LOST = {"archive_damage", "damaged_record", "not_a_warc_record", "block_digest_mismatch"}


def _claims(folder: Path, reader) -> list[str]:
    """The files (relative to ``folder``, POSIX) that one reader will read."""
    from datatrove.pipeline.readers.base import BaseDiskReader

    from glassworks.pipeline.readers import CodeTreeReader
    from glassworks.pipeline.tabular import HfDiskDatasetReader, saved_datasets

    if not folder.is_dir():
        return []
    if isinstance(reader, BaseDiskReader):
        return [p.replace("\\", "/") for p in reader.data_folder.list_files(glob_pattern=reader.glob_pattern,
                                                                           recursive=True)]
    if isinstance(reader, HfDiskDatasetReader):
        return [p.relative_to(folder).as_posix() for d in saved_datasets(folder) for p in d.rglob("*") if p.is_file()]
    if isinstance(reader, CodeTreeReader):
        return [p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()]
    raise TypeError(f"cannot tell which files {type(reader).__name__} reads")


def claim_files(folder: Path, shape: str, readers: list, unmatched: str) -> list[dict]:
    """One listing entry per file under ``folder``: the reader that takes it, or skipped."""
    owner: dict[str, str] = {}
    for reader in readers:
        for rel in _claims(folder, reader):
            if rel in owner and owner[rel] != reader.name:
                raise GlassworksError(f"{folder / rel}: taken by two readers ({owner[rel]} and {reader.name}); "
                                      "narrow the globs of documents.inputs")
            owner[rel] = reader.name
    present = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) \
        if folder.is_dir() else []
    entries = []
    for rel in present:
        if rel in owner:
            entries.append({"shape": shape, "path": rel, "reader": owner[rel]})
        elif unmatched == "skip":
            entries.append({"shape": shape, "path": rel, "reader": None, "ended": "skipped",
                            "reason": "no reader takes this file (documents.unmatched: skip)"})
        else:
            raise GlassworksError(f"{folder / rel}: no reader of the {shape!r} shape takes this file; declare it "
                                  "under documents.inputs (format or preset), or set documents.unmatched: skip "
                                  "to list it as skipped")
    return entries


def _file_key(meta: dict) -> str | None:
    """The raw file (or saved dataset folder, or repository file) a document came from."""
    if "file_path" in meta:
        return str(meta["file_path"])
    if "dataset_path" in meta:
        return str(meta["dataset_path"])
    if "repo" in meta and "path" in meta:
        return f"{meta['repo']}/{meta['path']}"
    return meta.get("path")


def _tally(out: Path, shape: str) -> dict[str, dict]:
    """Per raw file: documents by door, losses, and where reading was cut short."""
    found: dict[str, dict] = {}
    for door, folder in (("kept", out / shape), ("dropped", out / "dropped" / shape),
                         ("quarantined", out / "quarantine" / shape)):
        for shard in sorted(folder.glob("*.jsonl.gz")):
            with gzip.open(shard, "rt", encoding="utf-8") as handle:
                for line in handle:
                    meta = json.loads(line)["metadata"]
                    key = _file_key(meta)
                    entry = found.setdefault(key, {"records": 0, "kept": 0, "dropped": 0, "quarantined": 0,
                                                   "losses": 0, "ended": "end"})
                    entry["records"] += 1
                    entry[door] += 1
                    reason = meta.get(QUARANTINE)
                    if reason in LOST:
                        entry["losses"] += 1
                    if reason in TRUNCATED:
                        entry["ended"] = "truncated"
                        if "at_byte" in meta:
                            entry["at_byte"] = meta["at_byte"]
    return found


def write_input_listing(run_dir: Path, out: Path, listing: list[dict]) -> Path:
    """Fill each claimed file's counts from the stage's outputs and write the listing."""
    tallies = {shape: _tally(out, shape) for shape in sorted({e["shape"] for e in listing})}
    lines = []
    for entry in listing:
        if entry.get("ended") != "skipped":
            dataset_file = entry["path"]
            tally = tallies[entry["shape"]]
            counts = tally.pop(dataset_file, None)
            if counts is None:  # a saved dataset is counted by its folder, once
                folder = next((k for k in tally if dataset_file.startswith(f"{k}/")), None)
                counts = tally.pop(folder) if folder else {"records": 0, "kept": 0, "dropped": 0,
                                                           "quarantined": 0, "losses": 0, "ended": "end"}
            entry = {**entry, **counts}
        lines.append(json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n")
    stray = {shape: sorted(map(str, t)) for shape, t in tallies.items() if t}
    if stray:
        raise GlassworksError(f"documents: records from files that were not claimed by any reader: {stray}")
    target = run_dir / "inputs" / "documents.jsonl"
    atomic_write_text(target, "".join(lines))
    return target
