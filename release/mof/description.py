"""Reading a MOF model description (model.yml) without ever failing on it.

A description may come from anywhere: the Model Openness Tool's current format, its
2024-10 format (component licences under ``license_name``), a hand-edited file with a
typo, half a file. ``read_description`` always returns a ``Description``; whatever it could
not make sense of becomes a problem line naming the file, the line and the key, and the
classifier works with what is left (an unreadable component counts as missing).

``component_entries`` is the forgiving reading (case-insensitive names, the 2024-10
``license_name``, ``license: null`` inherits) that ``release check`` uses to match listed
components to files. The class is never computed from it: ``mot.py`` reads a description
exactly as the Model Openness Tool does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from glassworks.release.mof.components import Component, lookup, suggest

KeyPath = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps dates as the strings they were written as: the schema checks
    ``format: date`` on strings, and a description should read back exactly as written."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class ComponentEntry:
    """What the description says about one component."""

    component: Component
    licence: str | None  # the licence that applies after inheritance; None: none at any level
    licence_from: str | None  # "component", "release.license.<type>" or "release.license.distribution"
    explicit_unlicensed: bool = False  # the description says so itself (license: unlicensed)


@dataclass
class Description:
    source: str  # the file (or "<memory>") it was read from
    data: Any = None  # the parsed YAML, whatever its shape
    readable: bool = True  # False when not even a YAML mapping came out of it
    problems: list[str] = field(default_factory=list)  # "file:line: what is wrong"
    lines: dict[KeyPath, int] = field(default_factory=dict)  # key path -> 1-based line
    # unquoted dates (2024-12-15): kept as strings here, but a YAML parser with timestamps
    # (the MOT's Symfony YAML) reads them as numbers, which its schema then refuses
    plain_dates: set[KeyPath] = field(default_factory=set)

    def where(self, at: KeyPath) -> str:
        probe = at
        while probe and probe not in self.lines:
            probe = probe[:-1]
        line = self.lines.get(probe)
        return f"{self.source}:{line}" if line else self.source

    def problem(self, at: KeyPath, message: str) -> None:
        self.problems.append(f"{self.where(at)}: {message}")

    @property
    def release(self) -> dict:
        release = self.data.get("release") if isinstance(self.data, dict) else None
        return release if isinstance(release, dict) else {}


def dotted(at: KeyPath) -> str:
    out = ""
    for part in at:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


MAX_BYTES = 4 << 20  # a model description is a few kilobytes; anything this large is not one


def read_description(path: str | Path) -> Description:
    path = Path(path)
    try:
        if path.is_file() and path.stat().st_size > MAX_BYTES:
            return Description(str(path), readable=False,
                               problems=[f"{path}: {path.stat().st_size} bytes is too large for a model description"])
        raw = path.read_bytes()
    except OSError as exc:
        return Description(str(path), readable=False, problems=[f"{path}: cannot read: {exc.strerror or exc}"])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Description(str(path), readable=False, problems=[f"{path}: not UTF-8 text (byte {exc.start})"])
    return parse_description(text, str(path))


def parse_description(text: str, source: str = "<memory>") -> Description:
    desc = Description(source)
    loader = None
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.AliasEvent):  # no alias bombs: descriptions never need them
                raise yaml.MarkedYAMLError(problem="YAML aliases are not accepted in a model description",
                                           problem_mark=event.start_mark)
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is not None:
            _record_lines(node, (), desc.lines, desc.plain_dates)
            desc.data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        desc.readable = False
        desc.problems.append(f"{source}{line}: not valid YAML: {exc.problem or exc.context}")
        return desc
    except yaml.YAMLError as exc:
        desc.readable = False
        desc.problems.append(f"{source}: not valid YAML: {exc}")
        return desc
    finally:
        if loader is not None:
            loader.dispose()
    return from_data(desc.data, desc)


def from_data(data: Any, desc: Description | None = None) -> Description:
    """Check the overall shape of already-parsed data (a YAML or JSON document)."""
    desc = desc or Description("<memory>")
    desc.data = data
    if not isinstance(data, dict):
        desc.readable = False
        kind = "an empty file" if data is None else f"a {type(data).__name__}"
        desc.problem((), f"a model description is a mapping with 'framework' and 'release'; this is {kind}")
    elif not isinstance(data.get("release"), dict):
        desc.problem(("release",), "no 'release' mapping: no components to classify")
    return desc


# what YAML 1.1 parsers (PyYAML's SafeLoader, Symfony YAML) take for a timestamp
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}.*)?")


def _record_lines(node: yaml.Node, at: KeyPath, lines: dict[KeyPath, int], plain_dates: set[KeyPath]) -> None:
    lines.setdefault(at, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                lines[at + (key_node.value,)] = key_node.start_mark.line + 1
                _record_lines(value_node, at + (key_node.value,), lines, plain_dates)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _record_lines(item, at + (i,), lines, plain_dates)
    elif isinstance(node, yaml.ScalarNode) and node.style is None and _TIMESTAMP.fullmatch(node.value):
        plain_dates.add(at)


def _global_licences(desc: Description) -> dict[str, str]:
    """``{"code": id, "data": id, "document": id, "distribution": id}`` for those given."""
    raw = desc.release.get("license")
    if raw is None or raw == [] or raw == {}:
        return {}
    if not isinstance(raw, dict):
        desc.problem(("release", "license"), "release.license should map distribution/code/data/document to "
                     f"{{name, path}}; got a {type(raw).__name__}, so no global licence applies")
        return {}
    out = {}
    for key in ("distribution", "code", "data", "document"):
        value = raw.get(key)
        if value is None:
            continue
        if isinstance(value, str):  # a bare id instead of {name, path}: take it, but say so
            desc.problem(("release", "license", key), f"release.license.{key} should be a mapping with 'name'; "
                         f"read the string '{value}' as its name")
            name = value
        elif isinstance(value, dict):
            name = value.get("name")
        else:
            desc.problem(("release", "license", key), f"release.license.{key} is a {type(value).__name__}; ignored")
            continue
        if isinstance(name, str) and name.strip():
            out[key] = name.strip()
        elif name not in (None, ""):
            desc.problem(("release", "license", key, "name"), f"release.license.{key}.name is not a string; ignored")
    return out


def component_entries(desc: Description) -> dict[str, ComponentEntry]:
    """The components the description includes, by name, with the licence each resolves to."""
    items = desc.release.get("components")
    if items is None:
        if desc.readable and isinstance(desc.data, dict) and isinstance(desc.data.get("release"), dict):
            desc.problem(("release",), "release.components is missing: no component is included")
        return {}
    if not isinstance(items, list):
        desc.problem(("release", "components"), f"release.components should be a list; got a {type(items).__name__}")
        return {}
    globals_ = _global_licences(desc)
    out: dict[str, ComponentEntry] = {}
    for i, item in enumerate(items):
        at: KeyPath = ("release", "components", i)
        if not isinstance(item, dict):
            desc.problem(at, f"{dotted(at)} should be a mapping with 'name'; got {type(item).__name__}; skipped")
            continue
        name = item.get("name")
        component = lookup(name) if isinstance(name, str) else None
        if component is None:
            hint = suggest(name) if isinstance(name, str) else ""
            desc.problem(at + ("name",), f"{dotted(at)}: unknown MOF component {name!r}{hint}; skipped")
            continue
        if component.name in out:
            desc.problem(at, f"{dotted(at)}: '{component.name}' is listed twice; the later entry wins")
        entry = _entry(desc, at, item, component, globals_)
        if entry is None:
            out.pop(component.name, None)
        else:
            out[component.name] = entry
    return out


def _entry(desc: Description, at: KeyPath, item: dict, component: Component,
           globals_: dict[str, str]) -> ComponentEntry | None:
    key = "license" if "license" in item else ("license_name" if "license_name" in item else None)
    value = item.get(key) if key else None
    if value is not None and not isinstance(value, str):
        desc.problem(at + (key,), f"{dotted(at + (key,))} should be an SPDX id; got {value!r}")
        return ComponentEntry(component, str(value), "component")
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.casefold() == "component not included":
            return None
        if stripped == "" or stripped.casefold() == "unlicensed":
            return ComponentEntry(component, None, "component", explicit_unlicensed=True)
        return ComponentEntry(component, stripped, "component")
    for source in (component.content_type, "distribution"):
        if source in globals_:
            return ComponentEntry(component, globals_[source], f"release.license.{source}")
    return ComponentEntry(component, None, None)
