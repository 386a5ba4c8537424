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

import unicodedata
from functools import lru_cache

import numpy as np
import xxhash

from glassworks.pipeline.dedup.config import LshConfig, ShingleConfig

U64 = np.uint64
EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)
_PRIME = U64(0x100000001B3)  # FNV's 64-bit prime: odd, spreads each character over the word
_CHUNK = 1 << 20  # shingles hashed at once; bounds memory on a huge document
_PROBES = 64  # densification probes per empty bin before the circular fallback


_DROP = np.uint32(0xFFFFFFFF)


@lru_cache(maxsize=1)
def _normal_table() -> np.ndarray:
    """For every BMP code point: its lower case (first character of it), 32 for white space,
    or ``_DROP`` for punctuation (Unicode category P*)."""
    chars = [chr(c) for c in range(0x10000)]
    return np.array([_DROP if unicodedata.category(ch).startswith("P") else 32 if ch.isspace() else ord(ch.lower()[0])
                     for ch in chars], dtype=np.uint32)


def _codes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", errors="surrogatepass"), dtype=np.uint32)


def normalised_codes(text: str) -> np.ndarray:
    """The code points of ``normalise(text)``, computed with one table look-up instead of string passes."""
    codes = _codes(text)
    folded = _normal_table()[np.minimum(codes, 0xFFFF)]
    if len(codes) and codes.max() > 0xFFFF:  # beyond the BMP: kept as they are
        folded = np.where(codes > 0xFFFF, codes, folded)
    folded = folded[folded != _DROP]
    blank = folded == 32
    repeat = blank & np.concatenate([[True], blank[:-1]])  # leading blanks and runs: drop all but one
    folded = folded[~repeat]
    if len(folded) and folded[-1] == 32:
        folded = folded[:-1]
    return folded


def normalise(text: str) -> str:
    """Lower case, no punctuation (Unicode P*), single spaces: the text MinHash compares."""
    return normalised_codes(text).tobytes().decode("utf-32-le", errors="surrogatepass")


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
    """Mixed 64-bit hashes of every window of ``n`` consecutive units (all of them if fewer).

    The hash is ``(u[i] ^ seed) * P**(n-1) + sum u[i+k] * P**(n-1-k)`` mod 2**64, built by
    doubling (a window of a + b is the a-window times P**b plus the b-window a further on):
    about 2 log2(n) vector multiply-adds instead of n - 1 (5 instead of 12 for 13-grams).
    """
    n = min(n, len(units))
    count = len(units) - n + 1
    block, block_len = units.astype(U64), 1  # windows of block_len units, every start
    done, done_len = None, 0  # windows of done_len units (the low bits of n taken so far)
    with np.errstate(over="ignore"):
        bits = n
        while bits:
            if bits & 1:
                if done is None:
                    done, done_len = block, block_len
                else:
                    size = len(units) - done_len - block_len + 1
                    done = done[:size] * U64(pow(int(_PRIME), block_len, 1 << 64)) + block[done_len:done_len + size]
                    done_len += block_len
            bits >>= 1
            if bits:
                size = len(units) - 2 * block_len + 1
                block = block[:size] * U64(pow(int(_PRIME), block_len, 1 << 64)) + block[block_len:block_len + size]
                block_len *= 2
        h = done[:count]  # a temporary of this call: added to in place
        first = units[:count].astype(U64)
        h += ((first ^ U64(seed)) - first) * U64(pow(int(_PRIME), n - 1, 1 << 64))  # the seed on the first unit
    return mix64(h)


def shingle_hashes(text: str, config: ShingleConfig, seed: int):
    """Yield arrays of 64-bit shingle hashes of normalised ``text`` (chunks of a huge text)."""
    yield from _shingles(_codes(text), config, seed)


def _shingles(codes: np.ndarray, config: ShingleConfig, seed: int):
    if not len(codes):
        return
    if config.kind == "char":
        for start in range(0, max(1, len(codes) - config.n + 1), _CHUNK):
            yield _rolling(codes[start:start + _CHUNK + config.n - 1], config.n, seed)
    else:
        words = codes.tobytes().decode("utf-32-le", errors="surrogatepass").split(" ")
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
    return _signature(_codes(text), shingles, lsh)


def document_signature(text: str, shingles: ShingleConfig, lsh: LshConfig) -> np.ndarray | None:
    """``signature(normalise(text))`` without building the normalised string."""
    return _signature(normalised_codes(text), shingles, lsh)


def _signature(codes: np.ndarray, shingles: ShingleConfig, lsh: LshConfig) -> np.ndarray | None:
    slots = lsh.slots
    best = np.full(slots, EMPTY, dtype=U64)
    any_shingle = False
    for hashes in _shingles(codes, shingles, lsh.seed):
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
