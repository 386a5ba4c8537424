"""Shingles and MinHash signatures, vectorised: the part of near dedup that costs the time.

A document's text is normalised as SlimPajama does (lower case, punctuation removed,
whitespace runs folded to one space), cut into character or word n-grams, and each
n-gram hashed to 64 bits without a Python loop over characters: the text becomes a
UTF-32 array and an n-gram's hash is the polynomial ``sum c[i+k] * P**(n-1-k)`` mod
2**64, built with n vector multiply-adds, then mixed (splitmix64's finaliser).

The signature is one-permutation MinHash with optimal densification (Li, Owen & Zhang
2012; Shrivastava 2017): the top 32 bits of a shingle's hash pick one of ``slots``
bins, the low 32 bits are its value, and each bin keeps its minimum. Slot i of two
documents agrees with probability equal to their Jaccard similarity, as with ``slots``
independent permutations, but at the cost of one pass (``np.minimum.at``) instead of
``slots`` passes over the shingles. A bin no shingle fell into copies the value of the first filled bin on a
fixed pseudo-random probe sequence of its own, so short documents stay comparable.
Huge documents are hashed in chunks; the bins take the minimum over chunks.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import regex
import xxhash

from glassworks.pipeline.dedup.config import LshConfig, ShingleConfig

U64 = np.uint64
EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)
_PRIME = U64(0x100000001B3)  # FNV's 64-bit prime: odd, spreads each character over the word
_CHUNK = 1 << 20  # shingles hashed at once; bounds memory on a huge document
_PROBES = 64  # densification probes per empty bin before the circular fallback


_PUNCTUATION = regex.compile(r"\p{P}+")  # every Unicode punctuation character (category P*)


def normalise(text: str) -> str:
    """Lower case, no punctuation, single spaces: the text MinHash compares."""
    return " ".join(_PUNCTUATION.sub("", text.lower()).split())


def mix64(h: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: every input bit reaches every output bit (in place, uint64)."""
    with np.errstate(over="ignore"):
        h ^= h >> U64(30)
        h *= U64(0xBF58476D1CE4E5B9)
        h ^= h >> U64(27)
        h *= U64(0x94D049BB133111EB)
        h ^= h >> U64(31)
    return h


def _rolling(units: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Mixed 64-bit hashes of every window of ``n`` consecutive units (all of them if fewer)."""
    n = min(n, len(units))
    count = len(units) - n + 1
    h = units[:count].astype(U64) ^ U64(seed)
    with np.errstate(over="ignore"):
        for k in range(1, n):
            h *= _PRIME
            h += units[k:k + count]
    return mix64(h)


def shingle_hashes(text: str, config: ShingleConfig, seed: int):
    """Yield arrays of 64-bit shingle hashes of normalised ``text`` (chunks of a huge text)."""
    if not text:
        return
    if config.kind == "char":
        step = _CHUNK
        for start in range(0, max(1, len(text) - config.n + 1), step):
            piece = text[start:start + step + config.n - 1]
            yield _rolling(np.frombuffer(piece.encode("utf-32-le"), dtype=np.uint32), config.n, seed)
    else:
        words = text.split(" ")
        for start in range(0, max(1, len(words) - config.n + 1), _CHUNK):
            piece = words[start:start + _CHUNK + config.n - 1]
            ids = np.fromiter((xxhash.xxh3_64_intdigest(w, seed) for w in piece), dtype=U64, count=len(piece))
            yield _rolling(ids, config.n, seed)


@lru_cache(maxsize=8)
def _probes(slots: int, seed: int) -> np.ndarray:
    """(slots, _PROBES) bins each empty bin looks at, in order; the same for every document."""
    rng = np.random.default_rng([seed, slots, 0xD3])
    return rng.integers(0, slots, size=(slots, _PROBES), dtype=np.int64)


def signature(text: str, shingles: ShingleConfig, lsh: LshConfig) -> np.ndarray | None:
    """The ``lsh.slots`` uint32 MinHash slots of ``text`` (already normalised); None if it has no shingle."""
    slots = lsh.slots
    best = np.full(slots, EMPTY, dtype=U64)
    any_shingle = False
    for hashes in shingle_hashes(text, shingles, lsh.seed):
        any_shingle = True
        with np.errstate(over="ignore"):
            bins = ((hashes >> U64(32)) * U64(slots)) >> U64(32)  # multiply-shift: bin < slots, no modulo bias
        np.minimum.at(best, bins.astype(np.intp), hashes & U64(0xFFFFFFFF))
    if not any_shingle:
        return None
    return _densify(best, lsh.seed).astype(np.uint32)


def _densify(best: np.ndarray, seed: int) -> np.ndarray:
    filled = best != EMPTY
    if filled.all():
        return best
    slots = len(best)
    empty = np.flatnonzero(~filled)
    probes = _probes(slots, seed)[empty]
    ok = filled[probes]
    donor = probes[np.arange(len(empty)), ok.argmax(axis=1)]
    lost = ~ok.any(axis=1)
    if lost.any():  # a very sparse document: the next filled bin to the right, circularly
        filled_at = np.flatnonzero(filled)
        nxt = np.searchsorted(filled_at, empty[lost]) % len(filled_at)
        donor[lost] = filled_at[nxt]
    out = best.copy()
    out[empty] = best[donor]
    return out


def band_keys(signatures: np.ndarray, lsh: LshConfig) -> np.ndarray:
    """(docs, bands) uint64 keys: two documents share band b's key iff its rows agree (up to 2**-64)."""
    sig = signatures.reshape(len(signatures), lsh.bands, lsh.rows).astype(U64)
    key = np.zeros(sig.shape[:2], dtype=U64)
    with np.errstate(over="ignore"):
        for r in range(lsh.rows):
            key *= _PRIME
            key += sig[:, :, r] + U64(r + 1)
    return mix64(key)


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Share of agreeing slots, row by row: the MinHash estimate of Jaccard similarity."""
    return (a == b).mean(axis=-1)
