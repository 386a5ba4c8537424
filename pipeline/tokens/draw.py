"""Keyed random draws: every random choice is a pure function of (seed, what it is about).

The tokenizer sample and the phase mixtures never consume a shared random stream, whose
values would depend on the order documents arrive in (and so on worker counts); each draw
hashes its own key instead: ``uniform(seed, "tokenizer", source, doc_key)`` for one draw,
``uniforms(base(seed, "phase1", "dclm", "copies"), doc_indices)`` for a whole source at once. The same
seed and inputs therefore choose the same documents in the same order on any machine.
"""

from __future__ import annotations

import math

import numpy as np
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


_M1, _M2, _GOLDEN = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), np.uint64(0x9E3779B97F4A7C15)


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser over uint64 arrays: consecutive inputs give independent bits."""
    x = (np.asarray(x, dtype=np.uint64) + _GOLDEN).copy()
    x ^= x >> np.uint64(30)
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)
    return x


def base(seed: int, *parts: object) -> np.uint64:
    """A 64-bit stream id for a family of draws (e.g. one phase and source)."""
    key = "\x1f".join(str(p) for p in (seed, *parts)).encode("utf-8", "surrogatepass")
    return np.uint64(xxhash.xxh3_64_intdigest(key))


def uniforms(stream: np.uint64, index: np.ndarray) -> np.ndarray:
    """One float in (0, 1) per index, fixed by the stream and the index alone."""
    bits = mix64(np.asarray(index, dtype=np.uint64) ^ stream)
    return ((bits >> np.uint64(11)).astype(np.float64) + 0.5) * _SCALE
