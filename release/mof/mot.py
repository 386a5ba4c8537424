"""A model description as the Model Openness Tool loads it (``scripts/sync_models.php``).

The MOT first validates the YAML against its schema (``schema/mof_schema.json``, with Opis,
after Symfony YAML parsing) and refuses the file when that fails; then ``ModelUpdater``
files each listed component by its exact name, and ``ModelEvaluator::resolveLicense``
picks each component's licence. This module reproduces those three steps, as they stand at
the commit recorded in ``assets/mot-provenance.json``; ``classify`` does the counting.

What the MOT does with a component's licence:

- ``license: X`` (any string, compound expressions included) is the licence, verbatim;
  ``unlicensed``, ``''`` and ``'0'`` (PHP falsy) mean "included without a licence", and
  the global licences are NOT consulted;
- no ``license`` key: the release's licence for the component's content type
  (``release.license.code|data|document.name``), else ``release.license.distribution.name``;
- a component listed twice: the later entry replaces the earlier one;
- ``license_name`` (the 2024-10 format) is ignored.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from glassworks.release.mof.components import Component, by_name, suggest
from glassworks.release.mof.description import Description, KeyPath, dotted
from glassworks.release.mof.licences import UNLICENSED

FRAMEWORK = "Model Openness Framework"
TYPES = ("", "language", "vision", "image", "audio", "video", "3d", "code", "multimodal", "other")
ARCHITECTURES = ("", "transformer", "transformer decoder", "transformer encoder-decoder", "decoder", "encoder",
                 "diffusion", "RNN", "CNN", "LSTM", "NeRF", "hybrid", "undisclosed", "other")
TREATMENTS = ("pre-trained", "instruct fine-tuned", "chat fine-tuned")
GLOBAL_KINDS = ("distribution", "code", "data", "document")


@dataclass(frozen=True)
class MotEntry:
    """One component as the MOT files it, with the licence it resolves to."""

    component: Component
    licence: str  # the resolved licence, verbatim, or "unlicensed"
    licence_from: str | None  # "component", "release.license.<kind>", or None when nothing applies


@dataclass
class MotReading:
    entries: dict[str, MotEntry] = field(default_factory=dict)  # by component name
    refusals: list[str] = field(default_factory=list)  # why the MOT would not load the file
    notes: list[str] = field(default_factory=list)  # what the MOT silently ignores

    @property
    def accepted(self) -> bool:
        return not self.refusals


def read(desc: Description) -> MotReading:
    """What the MOT makes of ``desc``: refusals when it would not load it, else its components."""
    reading = MotReading()
    data = desc.data
    if not desc.readable or not isinstance(data, dict):
        reading.refusals.append(f"{desc.source}: not a YAML mapping")
        return reading
    _check(desc, reading)
    release = data.get("release") if isinstance(data.get("release"), dict) else {}
    items = release.get("components") if isinstance(release.get("components"), list) else []
    filed: dict[str, tuple[Component, dict, KeyPath]] = {}
    legacy: list[str] = []  # components whose licence is written as license_name
    for i, item in enumerate(items):
        at: KeyPath = ("release", "components", i)
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue  # refused above
        component = by_name().get(item["name"])
        if component is None:
            reading.refusals.append(
                f"{desc.where(at + ('name',))}: {dotted(at)}: '{item['name']}' is not a MOF component name"
                f"{suggest(item['name'])} (names are case-sensitive); the MOT would file it under whichever "
                "component comes first in its list, so its result for this file is not defined")
            continue
        if "license_name" in item and "license" not in item:
            legacy.append(item["name"])
        filed[component.name] = (component, item, at)
    if legacy:
        reading.notes.append(f"{desc.where(('release', 'components'))}: {len(legacy)} component(s) give their licence "
                             "as 'license_name' (the 2024-10 format), which the MOT ignores: write it as 'license' "
                             f"({', '.join(legacy)})")
    globals_ = release.get("license") if isinstance(release.get("license"), dict) else {}
    for name, (component, item, _at) in filed.items():
        reading.entries[name] = _resolve(component, item, globals_)
    return reading


def _resolve(component: Component, item: dict, globals_: dict) -> MotEntry:
    if item.get("license") is not None:  # PHP isset(): present and not null
        value = item["license"]
        if value == UNLICENSED or value in ("", "0"):  # stored as '', then `'' ?: null`
            return MotEntry(component, UNLICENSED, "component")
        return MotEntry(component, value, "component")
    for kind in (component.content_type, "distribution"):
        spec = globals_.get(kind)
        name = spec.get("name") if isinstance(spec, dict) else None
        if name not in (None, "", "0", False, 0, [], {}):  # PHP !empty()
            return MotEntry(component, name, f"release.license.{kind}")
    return MotEntry(component, UNLICENSED, None)


def _check(desc: Description, reading: MotReading) -> None:
    """The MOT schema's constraints, with Symfony YAML's reading of the values."""
    data = desc.data

    def refuse(at: KeyPath, message: str) -> None:
        reading.refusals.append(f"{desc.where(at)}: {dotted(at)}: {message}")

    def string(at: KeyPath, value: Any, required: bool = False, nullable: bool = False) -> bool:
        if value is None and not required and nullable:
            return True
        if at in desc.plain_dates or isinstance(value, (dt.date, dt.datetime)):
            refuse(at, "an unquoted date, which the MOT's YAML parser reads as a number; quote it")
            return False
        if not isinstance(value, str):
            refuse(at, f"must be a string, not {_kind(value)}")
            return False
        return True

    def date(at: KeyPath, value: Any, required: bool = False) -> None:
        if string(at, value, required) and not _is_date(value):
            refuse(at, f"'{value}' is not a date (YYYY-MM-DD)")

    def mapping(at: KeyPath, value: Any) -> bool:
        # the MOT's validator turns an empty YAML list into an object, so [] passes as {}
        if isinstance(value, dict) or value == []:
            return True
        refuse(at, f"must be a mapping, not {_kind(value)}")
        return False

    for key in ("framework", "release"):
        if key not in data:
            refuse((), f"'{key}' is required")
    framework = data.get("framework")
    if "framework" in data and mapping(("framework",), framework) and isinstance(framework, dict):
        for key in ("name", "version", "date"):
            if key not in framework:
                refuse(("framework",), f"'{key}' is required")
        if "name" in framework and framework["name"] != FRAMEWORK:
            refuse(("framework", "name"), f"must be '{FRAMEWORK}'")
        if "version" in framework:
            string(("framework", "version"), framework["version"], True)
        if "date" in framework:
            date(("framework", "date"), framework["date"], True)
    release = data.get("release")
    if "release" not in data or not mapping(("release",), release) or not isinstance(release, dict):
        return
    for key in ("name", "license", "producer", "components"):
        if key not in release:
            refuse(("release",), f"'{key}' is required")
    for key in ("name", "version", "origin", "producer", "contact"):
        if key in release and string(("release", key), release[key], True) and key == "name" and not release[key]:
            refuse(("release", "name"), "must not be empty")
    if "date" in release:
        date(("release", "date"), release["date"], True)
    for key, allowed in (("type", TYPES), ("architecture", ARCHITECTURES), ("treatment", TREATMENTS)):
        if key in release and release[key] not in allowed:
            refuse(("release", key), f"{release[key]!r} is not one of the MOT's values")
    if "license" in release and mapping(("release", "license"), release["license"]) and release["license"]:
        for kind in GLOBAL_KINDS:
            spec = release["license"].get(kind)
            if kind in release["license"] and mapping(("release", "license", kind), spec) and spec:
                for key in ("name", "path"):
                    if key in spec:
                        string(("release", "license", kind, key), spec[key], nullable=True)
    _check_components(release, refuse, string)


def _check_components(release: dict, refuse, string) -> None:
    if "components" not in release:
        return
    items = release["components"]
    if not isinstance(items, list) or not items:
        why = "an empty list, which the MOT's validator turns into an object" if items == [] else _kind(items)
        refuse(("release", "components"), f"must be a list of components, not {why}")
        return
    if len(items) > 17:
        refuse(("release", "components"), f"lists {len(items)} components; the MOT allows 17")
    for i, item in enumerate(items):
        at: KeyPath = ("release", "components", i)
        if not isinstance(item, dict) and item != []:
            refuse(at, f"must be a mapping, not {_kind(item)}")
            continue
        if not item or "name" not in item:
            refuse(at, "has no 'name', which the MOT cannot file")
        for key in ("name", "description", "license", "license_path", "component_path"):
            if isinstance(item, dict) and key in item:
                string(at + (key,), item[key], True)


def _kind(value: Any) -> str:
    return "null" if value is None else f"a {type(value).__name__}"


def _is_date(value: str) -> bool:
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True
