"""Keyed random draws: every random choice is a pure function of (seed, what it is about).

The tokenizer sample and the phase mixtures never consume a shared random stream, whose
values would depend on the order documents arrive in (and so on worker counts); each draw
hashes its own key instead: ``uniform(seed, "phase1", "dclm", doc_key, copy)``. The same
seed and inputs therefore choose the same documents in the same order on any machine.
"""

from __future__ import annotations

import math

import xxhash

_SCALE = 2.0 ** -53


def uniform(seed: int, *parts: object) -> float:
    """A float in the open interval (0, 1), fixed by the seed and the parts."""
    key = "\x1f".join(str(p) for p in (seed, *parts)).encode("utf-8", "surrogatepass")
    return ((xxhash.xxh3_64_intdigest(key) >> 11) + 0.5) * _SCALE


def priority(u: float, weight: float) -> float:
    """Efraimidis-Spirakis key ``log(u) / weight``: taking items by descending key is weighted
    sampling without replacement with probabilities proportional to ``weight``."""
    return math.log(u) / weight if weight > 0 else -math.inf
