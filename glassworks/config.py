"""Typed configs: dataclasses loaded from YAML, with errors that name file, line and key.

A config class is a plain (frozen) dataclass whose fields carry type hints; nested
dataclasses make sections. ``load_config(path, Cls)`` reads YAML, refuses unknown keys,
checks every value against its hint and fills defaults. ``dump_config`` and ``config_hash``
give the canonical form a manifest records, so two runs with the same settings hash alike
however the YAML was spelled.

Supported hints: bool, int, float (ints are accepted and widened), str, Path, Literal[...],
Enum subclasses, ``X | None``, list[X], tuple[X, ...], frozenset[X], dict[str, X] and nested
dataclasses.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import re
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from glassworks.canonical import canonical_json, canonical_sha256, normalise
from glassworks.errors import ConfigError

T = TypeVar("T")
KeyPath = tuple[str | int, ...]

_MISSING = dataclasses.MISSING


def load_config(path: str | Path, cls: type[T]) -> T:
    """Read ``path`` (YAML) into an instance of the dataclass ``cls``."""
    path = Path(path)
    if not path.is_file():
        what = "is a directory, not a config file" if path.is_dir() else "config file not found"
        raise ConfigError(f"{path}: {what}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    return parse_config(text, cls, origin=str(path))


def parse_config(text: str, cls: type[T], origin: str = "<string>") -> T:
    """Like ``load_config`` for YAML already in memory; ``origin`` names it in errors."""
    data, lines = _read_yaml(text, origin)
    if data is None:
        data = {}
    return _Builder(origin, lines).build(cls, data, ())


def from_dict(cls: type[T], data: dict[str, Any], origin: str = "<dict>") -> T:
    """Build a config from plain Python data with the same checks as a YAML file.

    When ``origin`` names a YAML file and a key in it (``configs/x.yaml: stages[1].steps[0]
    (name)``, as the recipe loader passes a step's params), errors carry the line of the
    offending key in that file, like those of ``load_config``.
    """
    file, base, lines = _locate_origin(origin)
    if file is None:
        return _Builder(origin, {}).build(cls, data, ())
    return _Builder(file, lines, base=base, label=origin[len(file) + 2:]).build(cls, data, ())


_ORIGIN = re.compile(r"^(?P<file>.+?): (?P<keys>[A-Za-z_]\w*(?:\[\d+\]|\.[A-Za-z_]\w*)*)(?: \(.*\))?$")


def _locate_origin(origin: str) -> tuple[str | None, KeyPath, dict[KeyPath, int]]:
    """(file, key path, line table) of an origin like ``file.yaml: stages[1].steps[0] (name)``."""
    found = _ORIGIN.match(origin)
    if not found or not found["file"].endswith((".yaml", ".yml")):
        return None, (), {}
    try:
        text = Path(found["file"]).read_text(encoding="utf-8")
        _, lines = _read_yaml(text, found["file"])
    except (OSError, UnicodeDecodeError, ConfigError):
        return None, (), {}
    keys: list[str | int] = []
    for name, index in re.findall(r"([A-Za-z_]\w*)|\[(\d+)\]", found["keys"]):
        keys.append(name if name else int(index))
    return found["file"], tuple(keys), lines


def dump_config(config: Any) -> str:
    """The canonical JSON of a config (sorted keys, normalised values)."""
    return canonical_json(config)


def config_hash(config: Any) -> str:
    """sha256 of the canonical dump; what a manifest records as ``config_sha256``."""
    return canonical_sha256(config)


def dump_yaml(config: Any) -> str:
    """Readable YAML of a config with sorted keys; loads back to an equal config."""
    return yaml.safe_dump(normalise(config), sort_keys=True, allow_unicode=True)


# --- YAML with line numbers --------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``3e-4`` as a float: YAML 1.1 wants ``3.0e-4``, and a
    learning rate silently loaded as a string is the classic config bug."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _read_yaml(text: str, origin: str) -> tuple[Any, dict[KeyPath, int]]:
    """Parse YAML keeping the 1-based line of every key, so errors can point at it."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        lines: dict[KeyPath, int] = {}
        data = _construct(loader, node, (), lines, origin) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{origin}{line}: invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin}: invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    return data, lines


def _construct(loader: _Loader, node: yaml.Node, at: KeyPath, lines: dict, origin: str) -> Any:
    lines.setdefault(at, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key in out:
                raise ConfigError(
                    f"{origin}:{key_node.start_mark.line + 1}: key '{_dotted(at + (key,))}' appears twice"
                )
            lines[at + (key,)] = key_node.start_mark.line + 1
            out[key] = _construct(loader, value_node, at + (key,), lines, origin)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(loader, item, at + (i,), lines, origin) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


# --- building dataclasses ----------------------------------------------------------------


def _dotted(at: KeyPath) -> str:
    out = ""
    for part in at:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def _type_name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if hint is type(None):
        return "null"
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(v) for v in typing.get_args(hint))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(hint))
    if origin in (list, tuple, frozenset):
        return f"a list of {_type_name(typing.get_args(hint)[0])}"
    if origin is dict:
        return f"a mapping of {_type_name(typing.get_args(hint)[1])}"
    if dataclasses.is_dataclass(hint):
        return f"a mapping ({hint.__name__})"
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return "one of " + ", ".join(repr(m.value) for m in hint)
    if hint is Path:
        return "a path (string)"
    return getattr(hint, "__name__", str(hint))


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    text = repr(value)
    return f"{type(value).__name__} {text[:60] + '...' if len(text) > 60 else text}"


class _Builder:
    """Walks a parsed YAML value alongside the dataclass hints, raising at the first mismatch."""

    def __init__(self, origin: str, lines: dict[KeyPath, int], base: KeyPath = (), label: str = ""):
        self.origin = origin
        self.lines = lines
        self.base = base  # where the value being built sits in the file (a step's params: one key deeper)
        self.label = label  # what the caller calls that place, repeated in the message

    def _line(self, at: KeyPath) -> int | None:
        """The line of ``at`` below ``base``, directly or under one intermediate key (``params``)."""
        probe = at
        while True:
            for full in [self.base + probe] + [k + probe for k in self.lines
                                               if len(k) == len(self.base) + 1 and k[:len(self.base)] == self.base]:
                if full in self.lines and (probe or full == self.base):
                    return self.lines[full]
            if not probe:
                return self.lines.get(self.base)
            probe = probe[:-1]

    def where(self, at: KeyPath) -> str:
        line = self._line(at)
        place = f"{self.origin}:{line}" if line else self.origin
        return f"{place}: {self.label}" if self.label else place

    def fail(self, at: KeyPath, message: str) -> ConfigError:
        return ConfigError(f"{self.where(at)}: {message}")

    def build(self, cls: type[T], data: Any, at: KeyPath) -> T:
        if not isinstance(data, dict):
            raise self.fail(at, f"key '{_dotted(at)}': expected {_type_name(cls)}, got {_describe(data)}")
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        for key in data:
            if key not in fields:
                close = difflib.get_close_matches(str(key), fields, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else f" (known keys: {', '.join(sorted(fields))})"
                raise self.fail(at + (key,), f"unknown key '{_dotted(at + (key,))}'{hint}")
        values = {}
        for name, field in fields.items():
            if name in data:
                values[name] = self.value(hints[name], data[name], at + (name,))
            elif field.default is _MISSING and field.default_factory is _MISSING:
                raise self.fail(at, f"missing required key '{_dotted(at + (name,))}' ({_type_name(hints[name])})")
        try:
            return cls(**values)
        except (ValueError, TypeError) as exc:  # __post_init__ checks that span several keys
            raise self.fail(at, f"section '{_dotted(at)}': {exc}") from None

    def value(self, hint: Any, value: Any, at: KeyPath) -> Any:
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)

        def wrong() -> ConfigError:
            return self.fail(at, f"key '{_dotted(at)}': expected {_type_name(hint)}, got {_describe(value)}")

        if hint is Any:
            return value
        if origin in (typing.Union, types.UnionType):
            if value is None and type(None) in args:
                return None
            options = [a for a in args if a is not type(None)]
            nested = len(options) == 1 and (dataclasses.is_dataclass(options[0]) or
                                            typing.get_origin(options[0]) in (list, tuple, frozenset, dict))
            if nested:  # ``Section | None``: the section's own error names the nested key that is wrong
                return self.value(options[0], value, at)
            for option in options:
                try:
                    return self.value(option, value, at)
                except ConfigError:
                    continue
            raise wrong()
        if origin is typing.Literal:
            if any(value == a and type(value) is type(a) for a in args):
                return value
            raise wrong()
        if dataclasses.is_dataclass(hint):
            return self.build(hint, value, at)
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            try:
                return hint(value)
            except ValueError:
                raise wrong() from None
        if origin in (list, tuple, frozenset):
            if not isinstance(value, list):
                raise wrong()
            items = [self.value(args[0], item, at + (i,)) for i, item in enumerate(value)]
            return items if origin is list else origin(items)
        if origin is dict:
            if not isinstance(value, dict):
                raise wrong()
            out = {}
            for key, item in value.items():
                if not isinstance(key, str):
                    raise self.fail(at + (key,), f"key '{_dotted(at + (key,))}': mapping keys must be strings")
                out[key] = self.value(args[1], item, at + (key,))
            return out
        if hint is bool:
            if isinstance(value, bool):
                return value
            raise wrong()
        if hint is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            raise wrong()
        if hint is float:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
            raise wrong()
        if hint is str:
            if isinstance(value, str):
                return value
            raise wrong()
        if hint is Path:
            if isinstance(value, str) and value:
                return Path(value)
            raise wrong()
        raise TypeError(f"config field type {hint!r} is not supported (at {_dotted(at)})")
