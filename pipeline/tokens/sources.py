"""Reading the weighted documents that the tokenizer and the mixtures draw from.

A source is a name and the folders holding its documents: JSONL or gzip'd JSONL, one
datatrove-style record per line (``id``, ``text``, ``metadata``), as the corpus recipes and
the global dedup write them. Each document carries a sampling weight at a dotted path under
``metadata`` (``dedup.weight`` by default: >1 asks for up-sampling, 0 for none); a document
without one weighs ``missing_weight``, so a corpus that was not deduplicated reads too.

Files are read in a fixed order (folders as listed, files by name, lines in order), so a
document's key ``<folder>/<file>:<line>`` and everything drawn from it are the same on any
number of workers. Every record leaves by one door:

- ``Doc``: a document to use (``weight > 0``, text not blank);
- ``Skip``: a decision, counted as dropped (``empty``, ``zero_weight``);
- ``Bad``: a record that cannot be read as a document (``invalid_utf8``, ``invalid_json``,
  ``no_text``, ``bad_weight``); quarantined with its file and line, or an error naming them
  when the config says ``on_bad_input: fail``.
"""

from __future__ import annotations

import gzip
import json
import math
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Literal

from glassworks.errors import GlassworksError

PATTERNS = ("*.jsonl.gz", "*.jsonl")


@dataclass(frozen=True)
class CorpusConfig:
    """Which documents a stage reads, and how it weighs them."""

    # source name -> folders of *.jsonl(.gz) documents; relative folders are taken from the
    # run directory (e.g. dedup/kept/dclm). Only files directly inside a folder are read, so a
    # dropped/ or removed/ sub-folder is never picked up by accident.
    sources: dict[str, list[Path]]
    weight_key: str = "dedup.weight"  # dotted path under metadata; the dedup stage writes it
    missing_weight: float = 1.0  # weight of a document that has none (corpus not deduplicated)
    on_bad_input: Literal["quarantine", "fail"] = "quarantine"
    # a text file of document ids, one a line (relative: from the run directory), left out as
    # held_out: the documents an evaluation suite holds out (eval/suite/heldout-ids.txt)
    exclude_ids: Path | None = None

    def __post_init__(self):
        if not self.sources:
            raise ValueError("sources: name at least one source")
        for name, folders in self.sources.items():
            if not folders:
                raise ValueError(f"source {name!r} lists no folders")
        if not (math.isfinite(self.missing_weight) and self.missing_weight >= 0):
            raise ValueError(f"missing_weight must be a finite number >= 0, got {self.missing_weight}")

    def folders(self, name: str, run_dir: Path) -> list[Path]:
        return [f if f.is_absolute() else run_dir / f for f in self.sources[name]]


@dataclass(frozen=True)
class Doc:
    source: str
    key: str  # <folder index>/<file name>:<line>, stable for the same inputs
    id: str
    text: str
    weight: float


@dataclass(frozen=True)
class Skip:
    source: str
    key: str
    reason: str


@dataclass(frozen=True)
class Bad:
    source: str
    key: str
    where: str  # file:line, for the error message and the quarantine record
    reason: str
    raw: str  # the line as far as it could be decoded (invalid bytes replaced)


@dataclass
class SourceFiles:
    """The files one source reads, in reading order, and the ids it leaves out."""

    source: str
    files: list[tuple[int, Path]] = field(default_factory=list)  # (folder index, file)
    excluded: frozenset[str] = frozenset()
    exclusions: Path | None = None  # the file the excluded ids came from: an input too

    @property
    def paths(self) -> list[Path]:
        return [path for _, path in self.files] + ([self.exclusions] if self.exclusions else [])


def excluded_ids(config: CorpusConfig, run_dir: Path) -> tuple[frozenset[str], Path | None]:
    if config.exclude_ids is None:
        return frozenset(), None
    path = config.exclude_ids if config.exclude_ids.is_absolute() else run_dir / config.exclude_ids
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise GlassworksError(f"{path}: cannot read the ids to exclude (corpus.exclude_ids): {exc}") from None
    return frozenset(line for line in lines if line), path


def list_files(config: CorpusConfig, name: str, run_dir: Path) -> SourceFiles:
    out = SourceFiles(name)
    out.excluded, out.exclusions = excluded_ids(config, run_dir)
    for i, folder in enumerate(config.folders(name, run_dir)):
        if not folder.is_dir():
            raise GlassworksError(f"{folder}: folder of source {name!r} does not exist (sources.{name}[{i}])")
        found = sorted({p for pattern in PATTERNS for p in folder.glob(pattern) if p.is_file()})
        out.files.extend((i, path) for path in found)
    return out


def read_source(config: CorpusConfig, files: SourceFiles) -> Iterator[Doc | Skip | Bad]:
    """Every record of a source, in reading order, each as exactly one of Doc, Skip or Bad."""
    for folder_index, path in files.files:
        for line_no, raw in _lines(path):
            key = f"{folder_index}/{path.name}:{line_no}"
            record = _parse(files.source, key, f"{path}:{line_no}", raw, config)
            if isinstance(record, Doc) and record.id in files.excluded:
                record = Skip(files.source, key, "held_out")
            if isinstance(record, Bad) and config.on_bad_input == "fail":
                raise GlassworksError(f"{record.where}: {record.reason.replace('_', ' ')} (source {files.source!r}; "
                                      "on_bad_input: quarantine sets such records aside instead)")
            yield record


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    opener = gzip.open if path.name.endswith(".gz") else open
    line_no = 0
    try:
        with opener(path, "rb") as handle:
            for line_no, raw in enumerate(handle, start=1):
                if raw.strip():
                    yield line_no, raw
    except (OSError, EOFError, zlib.error) as exc:  # truncated or corrupt gzip: nothing after it is readable
        raise GlassworksError(f"{path}:{line_no + 1}: cannot read on from here: {exc}") from None


def _parse(source: str, key: str, where: str, raw: bytes, config: CorpusConfig) -> Doc | Skip | Bad:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Bad(source, key, where, "invalid_utf8", f"byte {exc.start}: " + raw.decode("utf-8", "replace"))
    try:
        record = json.loads(line)
    except (json.JSONDecodeError, RecursionError):
        return Bad(source, key, where, "invalid_json", line)
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        return Bad(source, key, where, "no_text", line)
    weight = _weight(record.get("metadata"), config)
    if weight is None:
        return Bad(source, key, where, "bad_weight", line)
    if not record["text"].strip():
        return Skip(source, key, "empty")
    if weight == 0:
        return Skip(source, key, "zero_weight")
    return Doc(source, key, str(record.get("id", key)), record["text"], weight)


def _weight(metadata, config: CorpusConfig) -> float | None:
    value = metadata
    for part in config.weight_key.split("."):
        if not isinstance(value, dict) or part not in value:
            return config.missing_weight
        value = value[part]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return None
    return float(value)


def bad_record_json(bad: Bad) -> dict:
    """What the quarantine file keeps of a bad record: enough to find and fix it. ``key`` names
    the folder by its index in the config, so the record is the same wherever the run lives."""
    return {"source": bad.source, "key": bad.key, "reason": bad.reason, "raw": bad.raw}
