"""Licences as the Model Openness Tool judges them, from its own vendored lists.

The MOT (``LicenseHandler``) keeps one licence record per id, imported first from its SPDX
snapshot (``assets/licenses.json``) and then from its own list (``assets/mof-licenses.json``,
which adds ``ContentType``); a later entry with the same id replaces the earlier one whole,
so where ``mof-licenses.json`` lists an id twice (CC0-1.0 and CC-PDDC: data, then document)
the record keeps only the last content type. We reproduce that import, not what the list
seems to mean, because the MOT's warnings come from the imported records.

A licence string is looked up as ONE id, exactly as written (case-sensitive, no parsing):
``MIT AND BSD-2-Clause`` names no record, so it is neither open nor type-appropriate.

- open: FSF free/libre or OSI-approved in its record, or in one of the two constant lists of
  ``LicenseHandler.php`` (``assets/mot-open-lists.json``);
- type-appropriate: its record's content types include the component's type. Only the ids of
  ``mof-licenses.json`` have content types, so every other id is open at best.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from glassworks.release.mof.components import ContentType

UNLICENSED = "unlicensed"  # the MOT's own word for "included without a licence"
KINDS: tuple[ContentType, ...] = ("code", "data", "document")


@dataclass(frozen=True)
class MotLicence:
    """One licence record as the MOT's importer leaves it."""

    licence_id: str
    name: str
    osi_approved: bool
    fsf_libre: bool
    content_types: tuple[str, ...]  # empty for ids that only the SPDX snapshot lists


@dataclass(frozen=True)
class LicenceVerdict:
    """What the MOT concludes about one licence string for one content type."""

    licence: str
    known: bool  # a record with exactly this id exists
    is_open: bool
    type_appropriate: bool
    why_open: str  # "OSI-approved", "FSF free/libre", ... or "" when not open


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(f"assets/{name}").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def records() -> dict[str, MotLicence]:
    """Licence id -> record, imported in the MOT's order (later files and entries win)."""
    out: dict[str, MotLicence] = {}
    for name in ("licenses.json", "mof-licenses.json"):
        for entry in json.loads(_asset(name))["licenses"]:
            kinds = entry.get("ContentType") or []
            kinds = [kinds] if isinstance(kinds, str) else list(kinds)
            out[entry["licenseId"]] = MotLicence(entry["licenseId"], entry.get("name", ""),
                                                 bool(entry.get("isOsiApproved")), bool(entry.get("isFsfLibre")),
                                                 tuple(k for k in kinds if k))
    return out


@lru_cache(maxsize=1)
def open_lists() -> dict[str, frozenset[str]]:
    """The constant id lists of ``LicenseHandler.php`` (open data; open whatever the type)."""
    return {k: frozenset(v) for k, v in json.loads(_asset("mot-open-lists.json")).items()}


def judge(licence: str, content_type: ContentType) -> LicenceVerdict:
    """The MOT's verdict on ``licence`` (looked up verbatim) for a ``content_type`` component."""
    record = records().get(licence)
    reasons = []
    if record is not None and record.osi_approved:
        reasons.append("OSI-approved")
    if record is not None and record.fsf_libre:
        reasons.append("FSF free/libre")
    if licence in open_lists()["OPEN_DATA_LICENSES"]:
        reasons.append("on the MOT's open-data list")
    if licence in open_lists()["OPEN_LICENSES"]:
        reasons.append("on the MOT's open-licence list")
    fits = record is not None and content_type in record.content_types
    return LicenceVerdict(licence, record is not None, bool(reasons), fits, ", ".join(reasons))


def listed_for(content_type: ContentType) -> list[str]:
    """Ids the MOT lists for ``content_type`` (type-appropriate), whether or not it counts them open."""
    return sorted(r.licence_id for r in records().values() if content_type in r.content_types)


def acceptable(content_type: ContentType) -> list[str]:
    """Ids that a ``content_type`` component may carry to count and draw no MOT warning:
    open and type-appropriate, the strict class's condition."""
    return [i for i in listed_for(content_type) if judge(i, content_type).is_open]


def describe(verdict: LicenceVerdict, content_type: ContentType) -> str:
    """One line on why the licence counts or not, in the MOT's terms."""
    lic = verdict.licence
    if not verdict.known and not verdict.is_open:
        hint = (" (the MOT looks the whole string up as one licence id; it does not read SPDX expressions)"
                if any(op in f" {lic} " for op in (" AND ", " OR ", " WITH ")) else "")
        return f"'{lic}' is not a licence id the MOT knows{hint}"
    if not verdict.is_open:
        listed = " although the MOT lists it for " + content_type if verdict.type_appropriate else ""
        return f"{lic} is not open to the MOT (neither OSI-approved, FSF free/libre nor on its open lists){listed}"
    if verdict.type_appropriate:
        return f"{lic} is open ({verdict.why_open}) and the MOT lists it for {content_type}"
    kinds = records()[lic].content_types if verdict.known else ()
    where = f"the MOT lists it for {' and '.join(kinds)} only" if kinds else "the MOT lists it for no content type"
    return (f"{lic} is open ({verdict.why_open}) but not type-appropriate for {content_type}: {where}; "
            f"{content_type} wants one of {', '.join(acceptable(content_type))}")
