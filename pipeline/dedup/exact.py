"""The exact check of near-duplicate edges: Jaccard of the shingle sets themselves.

A signature estimates Jaccard with a standard error of sqrt(J(1 - J) / slots), 0.025 at
J = 0.8 with 256 slots, so a cut on the estimate alone either joins pairs from 0.75 up or
loses pairs just over the threshold. With ``lsh.exact`` the estimate only prunes (cut 4
standard errors under the threshold, so a pair at the threshold survives it with
probability 1 - 3e-5), and every surviving candidate whose texts differ and whose
estimate is under 4 standard errors over the threshold (``sure_above``; a pair under the
threshold gets there with probability < 3e-5) is kept only if the exact Jaccard of its
documents' shingle sets (the same normalisation, n-grams and hash as the signatures)
reaches the threshold. The texts of the documents in such pairs
are read again from the inputs, each file once, only their lines parsed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from glassworks.pipeline.dedup.config import LshConfig, ShingleConfig
from glassworks.pipeline.dedup.shingles import _shingles, normalised_codes


def _error(lsh: LshConfig) -> float:
    return math.sqrt(lsh.threshold * (1 - lsh.threshold) / lsh.slots)


def estimate_cutoff(lsh: LshConfig) -> float:
    """The least estimated Jaccard a candidate needs to be checked further (see the module docstring)."""
    if not lsh.exact:
        return lsh.threshold - lsh.verify_slack
    return lsh.threshold - max(lsh.verify_slack, 4 * _error(lsh))


def sure_above(lsh: LshConfig) -> float:
    """The estimate from which a pair is joined without the exact check: 4 standard errors over the
    threshold (0.9 at 256 slots), reached by a pair under the threshold with probability < 3e-5."""
    return lsh.threshold + 4 * _error(lsh)


def shingle_set(text: str, shingles: ShingleConfig, seed: int) -> np.ndarray:
    """Sorted distinct 64-bit shingle hashes of ``normalise(text)``: the set a signature summarises."""
    parts = list(_shingles(normalised_codes(text), shingles, seed))
    if not parts:
        return np.zeros(0, np.uint64)
    hashes = np.sort(np.concatenate(parts))  # sort and drop repeats: faster here than np.unique's hash table
    return hashes[np.concatenate([[True], hashes[1:] != hashes[:-1]])]


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """|a & b| / |a | b| of two sorted distinct arrays; 1 for two empty sets."""
    inter = len(np.intersect1d(a, b, assume_unique=True))
    union = len(a) + len(b) - inter
    return inter / union if union else 1.0


def read_texts(sources: dict[str, Path], names: dict[int, list]) -> dict[int, str]:
    """Document key -> text, for ``names`` (key -> [id, source, file, line] as the ids files hold them),
    read with the same reader as the passes; each file is opened once and only the wanted lines parsed."""
    from glassworks.pipeline.readers import JsonlDocumentReader

    wanted: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
    for key, (_, source, file, line) in names.items():
        wanted[(source, file)][int(line)] = key
    texts = {}
    for (source, file), lines in sorted(wanted.items()):
        reader = JsonlDocumentReader(str(sources[source]))
        for number, raw in reader.lines(file):
            if number in lines:
                texts[lines.pop(number)] = reader._document(raw, file, number).text
                if not lines:
                    break
        if lines:
            raise ValueError(f"{sources[source]}/{file}: lines {sorted(lines)[:5]} are gone since the signatures pass "
                             "(the input changed during the run?)")
    return texts


def exact_mask(pairs: np.ndarray, texts: dict[int, str], shingles: ShingleConfig, lsh: LshConfig) -> np.ndarray:
    """For each (a, b) row of document keys: exact Jaccard of their shingle sets >= ``lsh.threshold``."""
    sets = {key: shingle_set(text, shingles, lsh.seed) for key, text in texts.items()}
    return np.array([jaccard(sets[a], sets[b]) >= lsh.threshold - 1e-12 for a, b in pairs.tolist()], dtype=bool)
