"""The manifest format: schema validation, content digest and loading.

A manifest's identity is its content: ``digest`` is the sha256 of its canonical JSON
without the ``id``, ``digest`` and ``run`` keys (``run`` holds wall times and the host,
which change on every execution), and ``id`` is ``<stage>-<digest[:16]>``. The same
inputs, config and code therefore give the same id and the same file name on any machine,
and any edit of a recorded fact changes the digest, which ``verify`` recomputes.
"""

from __future__ import annotations

import json
import re
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


@lru_cache(maxsize=1)
def _validator():
    import jsonschema  # imported here: verify needs it, `glassworks --help` does not

    validator_cls = jsonschema.validators.validator_for(manifest_schema())
    return validator_cls(manifest_schema(), format_checker=validator_cls.FORMAT_CHECKER)


# A file entry that passes this conservative check also passes the schema's ``file``
# definition (the schema stays the specification): jsonschema costs ~0.3 ms per entry, so a
# manifest of 10 000 files would take seconds. Entries that fail it go to jsonschema, which
# gives the message; ``test_manifest`` checks the two agree on crafted entries.
_FILE_KEYS = frozenset({"path", "bytes", "sha256", "root"})
_BAD_PATH = re.compile(r"^/|(^|/)\.\.(/|$)|\\|[\x00-\x1f\x7f]")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_ROOT = re.compile(r"[a-z][a-z0-9_]*")


def plain_file_entry(entry: Any) -> bool:
    if type(entry) is not dict or not entry.keys() <= _FILE_KEYS:
        return False
    path, size, sha, root = entry.get("path"), entry.get("bytes"), entry.get("sha256"), entry.get("root", "run")
    return (type(path) is str and path != "" and not _BAD_PATH.search(path)
            and type(size) is int and size >= 0
            and type(sha) is str and _SHA256.fullmatch(sha) is not None
            and type(root) is str and _ROOT.fullmatch(root) is not None)


def validate_manifest(manifest: Any) -> list[str]:
    """Schema violations as readable lines ('counts.kept: -1 is less than the minimum of 0')."""
    slim, moved = manifest, {}
    if isinstance(manifest, dict):  # plain file entries are checked fast; the rest by jsonschema
        slim = dict(manifest)
        for side in ("inputs", "outputs"):
            block = manifest.get(side)
            if isinstance(block, dict) and isinstance(block.get("files"), list):
                odd = [i for i, entry in enumerate(block["files"]) if not plain_file_entry(entry)]
                slim[side] = {**block, "files": [block["files"][i] for i in odd]}
                moved[side] = odd
    problems = []
    for error in sorted(_validator().iter_errors(slim), key=lambda e: [str(p) for p in e.absolute_path]):
        path = list(error.absolute_path)
        if len(path) > 2 and path[0] in moved and path[1] == "files" and isinstance(path[2], int):
            path[2] = moved[path[0]][path[2]]  # back to the index in the manifest
        where = ".".join(str(p) for p in path) or "<root>"
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
