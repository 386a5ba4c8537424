"""ScanCode's licence detection, reduced to what repository licensing needs.

ScanCode (scancode-toolkit-mini, the detector The Stack v2 used) matches a text against
its index of some 40,000 licence texts, notices and references, then groups the matches
into detections and classifies each group. We keep its call: a group it classifies as
mere clues (low-quality fragments, possible false positives) has no licence expression
and is skipped here, as ScanCode's own scan reports it under ``license_clues``.

A detection made only of ScanCode's "Unstated License" licences (``unknown``,
``unknown-license-reference``: "see the LICENSE file", "licensed under the terms
below") names no licence; it comes back with ``stated=False`` so callers can say so.

The wheel ships the index prebuilt (~400 MB on disk); it loads once per process in about
2 s and takes about 1.3 GB of memory. ScanCode keeps only a lock file in its user cache
(``~/.cache/scancode-tk``, or ``$SCANCODE_CACHE``); nothing is fetched over the network.
Its file-type module (typecode) needs the system's libmagic (Debian's libmagic1) to import.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache

from glassworks.errors import GlassworksError

UNSTATED = "Unstated License"  # ScanCode's category for its unknown* and reference-only keys


@dataclass(frozen=True)
class Detection:
    """One licence ScanCode found in a text: its SPDX expression and where it lies."""

    spdx: str
    start_line: int  # 1-based, in the text given
    end_line: int
    matches: tuple[tuple[int, str], ...]  # (start line, SPDX expression) of each matched rule, in order
    stated: bool  # False when every licence in it is one of ScanCode's "unknown" placeholders


@lru_cache(maxsize=1)
def _scancode():
    """Import ScanCode and load its index, once per process (about 2 s)."""
    try:
        with warnings.catch_warnings():
            # typecode warns that it uses the system's libmagic; licence detection never calls it.
            warnings.simplefilter("ignore")
            from licensedcode.cache import get_index, get_licenses_db, get_licensing
            from licensedcode.detection import detect_licenses
    except Exception as exc:  # both raised while ScanCode's modules are imported
        if type(exc).__name__ == "NoMagicLibError":
            raise GlassworksError("ScanCode's licence detection imports typecode, which needs the libmagic "
                                  "library: install it (Debian: apt-get install libmagic1)") from exc
        if "plugincode" in str(exc):
            raise GlassworksError(f"ScanCode's plugincode does not load under this pluggy ({exc}); "
                                  "glassworks needs pluggy<1.7") from exc
        raise
    return detect_licenses, get_index(), get_licenses_db(), get_licensing()


def detect(text: str, approximate: bool = True) -> list[Detection]:
    """ScanCode's licence detections in ``text``, in text order; clues are left out.

    ``approximate=False`` keeps ScanCode's exact matchers (whole-text hash, rule automaton)
    and skips its sequence alignment: about 100 times faster on source files (1 ms instead
    of 0.1-1.5 s for 8 KB of code), and licence notices in headers are matched exactly.
    """
    if not text.strip():
        return []
    detect_licenses, index, db, licensing = _scancode()
    found = []
    for detection in detect_licenses(index=index, query_string=text, approximate=approximate):
        if detection.license_expression is None:  # ScanCode's "license clues"
            continue
        keys = licensing.license_keys(detection.license_expression)
        matches = tuple(sorted((m.start_line, m.rule.spdx_license_expression()) for m in detection.matches))
        lines = [line for m in detection.matches for line in (m.start_line, m.end_line)]
        stated = any(key not in db or db[key].category != UNSTATED for key in keys)
        found.append(Detection(detection.license_expression_spdx, min(lines), max(lines), matches, stated))
    return sorted(found, key=lambda d: (d.start_line, d.end_line))


def warm_up() -> None:
    """Load the index now (a worker's first document otherwise waits for it)."""
    _scancode()
