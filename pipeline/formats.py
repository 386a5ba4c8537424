"""Published corpus shapes: which reader, which fields, and ready presets for the usual sources.

A recipe's ``documents.inputs`` lists what lies under ``raw/<shape>/``: a glob, a format
(``jsonl``, ``parquet``, ``warc``, ``wet``) and a ``fields`` mapping from the source's own
columns to a document (text, id, metadata). A ``preset`` fills format, fields and glob for
the shapes people download::

    documents:
      inputs:
        - {shape: text, preset: slimpajama, glob: "slimpajama/**/*.jsonl.zst"}
        - {shape: code, preset: stack_v1}

Records without an id get one from their content, file and position (``derived_id``), so a
re-run gives the same ids.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from datatrove.data import Document

Format = Literal["jsonl", "parquet", "warc", "wet"]


@dataclass(frozen=True)
class FieldMap:
    """Where a record keeps its text, id and metadata; dotted paths reach into nested objects."""

    text: str = "text"
    id: str | None = "id"  # None: the data has no id; one is derived (content hash, file, position)
    metadata: dict[str, str] = field(default_factory=dict)  # document metadata key -> path in the record
    rest: Literal["keep", "drop"] = "keep"  # the record's other top-level keys: kept under their own names, or not


@dataclass(frozen=True)
class InputSpec:
    """One kind of file under ``raw/<shape>/`` and how to read it."""

    shape: Literal["web", "text", "code"]  # which documents/<shape> output the records join
    preset: str | None = None  # a name from PRESETS; the keys below override it
    glob: str | None = None  # relative to raw/<shape>/
    format: Format | None = None
    fields: FieldMap | None = None

    def __post_init__(self):
        if self.preset is not None and self.preset not in PRESET_NAMES:
            raise ValueError(f"unknown preset {self.preset!r} (known: {', '.join(PRESET_NAMES)})")
        if self.preset is None and self.format is None:
            raise ValueError("an input needs a format (jsonl, parquet, warc, wet) or a preset")

    def resolved(self) -> "InputSpec":
        """The spec with its preset applied and every field set; raises ValueError when incomplete."""
        base = PRESETS[self.preset] if self.preset else self
        spec = replace(base, shape=self.shape, preset=self.preset,
                       **{k: getattr(self, k) for k in ("glob", "format", "fields") if getattr(self, k) is not None})
        if spec.glob is None:
            spec = replace(spec, glob=DEFAULT_GLOBS[spec.format])
        return replace(spec, fields=spec.fields or FieldMap())


PRESET_NAMES = ("common_crawl_warc", "common_crawl_wet", "dclm", "dolma", "slimpajama", "stack_v1", "stack_v2")
DEFAULT_GLOBS = {"jsonl": "**/*.json*", "parquet": "**/*.parquet", "warc": "**/*.warc*", "wet": "**/*.wet*"}

# The published schemas (as the datasets' cards and files show them):
PRESETS: dict[str, InputSpec] = {
    # SlimPajama-627B: {"text", "meta": {"redpajama_set_name"}} in .jsonl.zst, no id
    "slimpajama": InputSpec("text", format="jsonl", glob="**/*.jsonl*", fields=FieldMap(
        id=None, metadata={"redpajama_set_name": "meta.redpajama_set_name"}, rest="drop")),
    # DCLM-baseline-1.0: text, url, WARC headers under metadata, classifier scores; no top-level id
    "dclm": InputSpec("text", format="jsonl", glob="**/*.jsonl*", fields=FieldMap(
        id="metadata.WARC-Record-ID", metadata={
            "url": "url", "warc_date": "metadata.WARC-Date", "language_id": "language_id_whole_page_fasttext",
            "dclm_quality": "fasttext_openhermes_reddit_eli5_vs_rw_v2_bigram_200k_train_prob"}, rest="drop")),
    # Dolma v1.x: {"id", "text", "source", "added", "created", "metadata"} in .json.gz
    "dolma": InputSpec("text", format="jsonl", glob="**/*.json*", fields=FieldMap(
        metadata={"dolma_source": "source", "added": "added", "created": "created", "dolma_metadata": "metadata"},
        rest="drop")),
    # The Stack v1 (bigcode/the-stack): parquet, one file per row
    "stack_v1": InputSpec("code", format="parquet", glob="**/*.parquet", fields=FieldMap(
        text="content", id="hexsha", metadata={
            "repo": "max_stars_repo_name", "path": "max_stars_repo_path", "licenses": "max_stars_repo_licenses",
            "language": "lang", "ext": "ext", "bytes": "size"}, rest="drop")),
    # The Stack v2 (bigcode/the-stack-v2*): parquet with the content column fetched per the card
    "stack_v2": InputSpec("code", format="parquet", glob="**/*.parquet", fields=FieldMap(
        text="content", id="blob_id", metadata={
            "repo": "repo_name", "path": "path", "licenses": "detected_licenses", "license_type": "license_type",
            "language": "language", "ext": "extension", "bytes": "length_bytes"}, rest="drop")),
    # Common Crawl: WARC response records (HTML) and WET conversion records (plain text)
    "common_crawl_warc": InputSpec("web", format="warc", glob="**/*.warc*"),
    "common_crawl_wet": InputSpec("text", format="wet", glob="**/*.wet*"),
}
assert tuple(sorted(PRESETS)) == PRESET_NAMES

_ABSENT = object()


def lookup(record: Any, path: str) -> Any:
    """The value at a dotted path of nested mappings (a key holding dots is tried whole first)."""
    if isinstance(record, dict) and path in record:
        return record[path]
    value = record
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _ABSENT
        value = value[part]
    return value


def derived_id(text: str, file_path: str, position: int | str) -> str:
    """An id for a record that has none: its content hash, file and position, stable across runs."""
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{file_path}#{position}:{digest}"


def mapped(record: Any, fields: FieldMap, file_path: str, position: int | str) -> tuple[Document | None, str]:
    """(document, "") for a record, or (None, error) naming the field that is missing or wrong."""
    if not isinstance(record, dict):
        return None, f"a {type(record).__name__}, not an object"
    text = lookup(record, fields.text)
    if not isinstance(text, str):
        return None, f"field {fields.text!r} is {'missing' if text is _ABSENT else 'not a string'}"
    if fields.id is None:
        doc_id = derived_id(text, file_path, position)
    else:
        doc_id = lookup(record, fields.id)
        if doc_id is _ABSENT or doc_id is None or doc_id == "":
            return None, f"id field {fields.id!r} is missing"
        doc_id = doc_id if isinstance(doc_id, str) else json.dumps(doc_id)
    metadata = {}
    if fields.rest == "keep":
        used = {fields.text, fields.id}
        metadata.update({k: v for k, v in record.items() if k not in used})
    for key, path in fields.metadata.items():
        value = lookup(record, path)
        if value is not _ABSENT:
            metadata[key] = value
    return Document(text=text, id=doc_id, metadata=metadata), ""
