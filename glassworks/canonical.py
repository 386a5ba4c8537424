"""Canonical JSON: one byte string per value, so configs and manifests hash the same everywhere.

Rules: keys sorted, no insignificant whitespace, UTF-8 (not ASCII-escaped), paths as POSIX
strings, tuples as lists, sets as sorted lists, dataclasses and enums by value. Floats must be finite: NaN and
infinity have no JSON spelling and would make two different configs hash alike.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import math
from pathlib import PurePath
from typing import Any


def normalise(value: Any) -> Any:
    """Turn a config or record into plain JSON types (dict, list, str, int, float, bool, None)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: normalise(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return normalise(value.value)
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"canonical JSON needs string keys, got {type(key).__name__} {key!r}")
            out[key] = normalise(item)
        return out
    if isinstance(value, (list, tuple)):
        return [normalise(item) for item in value]
    if isinstance(value, (set, frozenset)):  # unordered: sorted, so equal sets dump alike
        return sorted((normalise(item) for item in value), key=lambda item: canonical_json(item))
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"canonical JSON cannot hold a non-finite float ({value!r})")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot put a {type(value).__name__} into canonical JSON: {value!r}")


def canonical_json(value: Any) -> str:
    """The canonical text of ``value``: sorted keys, compact separators, UTF-8."""
    return json.dumps(normalise(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_sha256(value: Any) -> str:
    """Hex sha256 of the canonical JSON of ``value``."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()
