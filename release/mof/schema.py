"""Validation of a model description against glassworks' own MOF JSON Schema.

The schema (``assets/mof.schema.json``) states the shape of model.yml; the classifier
states what the shape means. Validation never raises: it returns one line per error,
naming the file, the line and the key.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from glassworks.release.mof.description import Description, dotted


@lru_cache(maxsize=1)
def schema() -> dict:
    return json.loads(resources.files(__package__).joinpath("assets/mof.schema.json").read_text(encoding="utf-8"))


def schema_errors(desc: Description) -> list[str]:
    """Schema errors of a readable description, in document order; empty when it conforms."""
    if desc.data is None:
        return [f"{desc.source}: empty description"]
    from jsonschema import Draft202012Validator, FormatChecker

    validator = Draft202012Validator(schema(), format_checker=FormatChecker())
    errors = sorted(validator.iter_errors(desc.data), key=lambda e: (desc.where(tuple(e.absolute_path)), e.message))
    out = []
    for error in errors:
        at = tuple(error.absolute_path)
        out.append(f"{desc.where(at)}: {dotted(at)}: {_short(error.message)}")
    return out


def _short(message: str) -> str:
    return message if len(message) <= 200 else message[:197] + "..."
