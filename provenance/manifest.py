"""The manifest format: schema validation, content digest and loading.

A manifest's identity is its content: ``digest`` is the sha256 of its canonical JSON
without the ``id``, ``digest`` and ``run`` keys (``run`` holds wall times and the host,
which change on every execution), and ``id`` is ``<stage>-<digest[:16]>``. The same
inputs, config and code therefore give the same id and the same file name on any machine,
and any edit of a recorded fact changes the digest, which ``verify`` recomputes.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

from glassworks.canonical import canonical_sha256
from glassworks.errors import GlassworksError
from glassworks.provenance.hashing import FileRecord, merkle_root

SCHEMA_ID = "glassworks.manifest/v1"
VOLATILE_KEYS = ("id", "digest", "run")


@lru_cache(maxsize=1)
def manifest_schema() -> dict:
    text = resources.files("glassworks.provenance").joinpath("manifest.schema.json").read_text("utf-8")
    return json.loads(text)


def validate_manifest(manifest: Any) -> list[str]:
    """Schema violations as readable lines ('counts.kept: -1 is less than the minimum of 0')."""
    import jsonschema  # imported here: verify needs it, `glassworks --help` does not

    validator_cls = jsonschema.validators.validator_for(manifest_schema())
    validator = validator_cls(manifest_schema(), format_checker=validator_cls.FORMAT_CHECKER)
    problems = []
    for error in sorted(validator.iter_errors(manifest), key=lambda e: [str(p) for p in e.absolute_path]):
        where = ".".join(str(p) for p in error.absolute_path) or "<root>"
        problems.append(f"{where}: {error.message}")
    return problems


def manifest_digest(manifest: dict) -> str:
    return canonical_sha256({k: v for k, v in manifest.items() if k not in VOLATILE_KEYS})


def manifest_id(stage: str, digest: str) -> str:
    return f"{stage}-{digest[:16]}"


def fileset(records: Iterable[FileRecord]) -> dict:
    """The manifest block for a set of files, sorted by (root, path), with its Merkle root."""
    records = sorted(records, key=lambda r: (r.root, r.path))
    return {
        "files": [r.as_json() for r in records],
        "count": len(records),
        "bytes": sum(r.bytes for r in records),
        "merkle_root": merkle_root(records),
    }


def load_manifest(path: str | Path) -> dict:
    """Parse a manifest file; a clear error names the file (and line for broken JSON)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GlassworksError(f"{path}: manifest not found") from None
    except UnicodeDecodeError as exc:
        raise GlassworksError(f"{path}: manifest is not UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GlassworksError(f"{path}:{exc.lineno}: manifest is not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise GlassworksError(f"{path}: manifest nests too deeply to be a manifest") from None
    if not isinstance(value, dict):
        raise GlassworksError(f"{path}: manifest must be a JSON object, got {type(value).__name__}")
    return value
