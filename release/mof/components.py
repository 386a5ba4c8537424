"""The seventeen MOF components, read from ``assets/components.yaml``.

The table is data, not code, so the rules can be read and reviewed on one page; this module
only loads it into typed records and answers the questions the classifier asks (which
components does class k require, which component has this name).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal

import yaml

ContentType = Literal["code", "data", "document"]
ROMAN = {1: "I", 2: "II", 3: "III"}


@dataclass(frozen=True)
class Component:
    name: str  # the framework's own name, as model.yml spells it
    content_type: ContentType  # decides which kind of licence fits
    mof_class: int  # 3, 2 or 1: the first (lowest) class that asks for it
    required: bool  # optional components are reported, never counted
    about: str
    stands_in_for: str | None = None  # a component this one may replace at higher classes


@lru_cache(maxsize=1)
def components() -> tuple[Component, ...]:
    text = resources.files(__package__).joinpath("assets/components.yaml").read_text(encoding="utf-8")
    out = []
    for item in yaml.safe_load(text)["components"]:
        item = dict(item)
        item["mof_class"] = item.pop("class")
        out.append(Component(**item))
    if len(out) != 17 or len({c.name for c in out}) != 17:
        raise RuntimeError("assets/components.yaml must list the 17 MOF components once each")
    return tuple(out)


@lru_cache(maxsize=1)
def by_name() -> dict[str, Component]:
    return {c.name: c for c in components()}


def lookup(name: str) -> Component | None:
    """The component called ``name``; case and surrounding spaces are forgiven."""
    if name in by_name():
        return by_name()[name]
    folded = {k.casefold(): v for k, v in by_name().items()}
    return folded.get(name.strip().casefold())


def suggest(name: str) -> str:
    close = difflib.get_close_matches(name, list(by_name()), n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else ""


def required_by(mof_class: int) -> list[Component]:
    """Required components that class ``mof_class`` itself adds (not those of higher classes)."""
    return [c for c in components() if c.required and c.mof_class == mof_class]


def required_for(mof_class: int) -> list[Component]:
    """Every required component of class ``mof_class``: its own and those of the classes above it."""
    return [c for k in range(3, mof_class - 1, -1) for c in required_by(k)]
