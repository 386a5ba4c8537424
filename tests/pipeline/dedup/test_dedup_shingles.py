"""Shingles and one-permutation MinHash: the estimate tracks true Jaccard; chunks, short and empty texts."""

import json
import random
from pathlib import Path

import numpy as np
import pytest

from glassworks.pipeline.dedup import shingles as sh
from glassworks.pipeline.dedup.config import LshConfig, ShingleConfig
from glassworks.pipeline.dedup.shingles import band_keys, estimated_jaccard, normalise, shingle_hashes, signature

REPO = Path(__file__).resolve().parents[3]

TEXTS = [json.loads(line)["text"] for line in open(REPO / "data" / "text" / "sphinx-docs-rst.jsonl", encoding="utf-8")][:12]


def true_jaccard(a: str, b: str, config: ShingleConfig) -> float:
    sa = set(np.concatenate(list(shingle_hashes(a, config, 1))).tolist())
    sb = set(np.concatenate(list(shingle_hashes(b, config, 1))).tolist())
    return len(sa & sb) / len(sa | sb)


def edited(text: str, share: float, rng: random.Random) -> str:
    words = text.split(" ")
    for i in rng.sample(range(len(words)), max(1, int(len(words) * share))):
        words[i] = f"edit{i}"
    return " ".join(words)


def test_normalise_folds_case_punctuation_and_space():
    assert normalise("  Hello,\tWORLD!\n\n«Ça» va—bien?  ") == "hello world ça vabien"


@pytest.mark.parametrize("kind,n", [("char", 13), ("word", 5)])
def test_estimate_tracks_true_jaccard(kind, n):
    config, lsh, rng = ShingleConfig(kind=kind, n=n), LshConfig(), random.Random(7)
    errors = []
    for text in TEXTS:
        a = normalise(text)
        for share in (0.005, 0.02, 0.06):
            b = edited(a, share, rng)
            errors.append(estimated_jaccard(signature(a, config, lsh), signature(b, config, lsh)) - true_jaccard(a, b, config))
    errors = np.array(errors)
    assert abs(errors.mean()) < 0.01, "the slots are biased: the bins or the densification are wrong"
    assert errors.std() < 0.04  # sqrt(J(1-J)/256) is at most 0.031


def test_unrelated_texts_hardly_agree():
    config, lsh = ShingleConfig(), LshConfig()
    sigs = [signature(normalise(t), config, lsh) for t in TEXTS]
    off_diagonal = [estimated_jaccard(sigs[i], sigs[j]) for i in range(len(sigs)) for j in range(i)]
    assert max(off_diagonal) < 0.2


def test_chunked_hashing_gives_the_same_signature(monkeypatch):
    text = normalise(" ".join(TEXTS[:4]))
    whole = signature(text, ShingleConfig(), LshConfig())
    monkeypatch.setattr(sh, "_CHUNK", 997)
    assert np.array_equal(signature(text, ShingleConfig(), LshConfig()), whole)
    words = signature(text, ShingleConfig(kind="word", n=5), LshConfig())
    monkeypatch.setattr(sh, "_CHUNK", 10**6)
    assert np.array_equal(signature(text, ShingleConfig(kind="word", n=5), LshConfig()), words)


def test_short_and_empty_texts():
    config, lsh = ShingleConfig(), LshConfig()
    assert signature("", config, lsh) is None
    short = signature("tiny", config, lsh)  # fewer characters than n: the whole text is one shingle
    assert short is not None and len(set(short.tolist())) == 1
    assert np.array_equal(short, signature("tiny", config, lsh))
    assert estimated_jaccard(short, signature("tint", config, lsh)) == 0.0


def test_band_keys_agree_exactly_when_rows_agree():
    lsh = LshConfig(bands=4, rows=3)
    a = np.arange(12, dtype=np.uint32)
    b = a.copy()
    b[4] = 99  # band 1 differs
    keys = band_keys(np.stack([a, b]), lsh)
    assert (keys[0] == keys[1]).tolist() == [True, False, True, True]


def test_s_curve_is_high_at_the_threshold_and_low_below():
    lsh = LshConfig()
    assert lsh.candidate_probability(0.8) > 0.99
    assert lsh.detection_probability(0.85) > 0.95
    assert lsh.detection_probability(0.7) < 0.01
    datatrove_like = LshConfig(bands=9, rows=13, verify=False)
    assert 0.3 < datatrove_like.detection_probability(0.8) < 0.5  # SlimPajama's 9 x 13 catches ~40%
