"""The exact Jaccard check of near-duplicate edges (pipeline/dedup/exact.py)."""

import json
import random

import numpy as np

from glassworks.pipeline.dedup.config import LshConfig, ShingleConfig
from glassworks.pipeline.dedup.exact import estimate_cutoff, exact_mask, jaccard, read_texts, shingle_set, sure_above
from glassworks.pipeline.dedup.shingles import normalise, shingle_hashes

from .conftest import REPO


def _edited(text: str, edits: int, seed: int) -> str:
    rng, words = random.Random(seed), text.split(" ")
    for _ in range(edits):
        words[rng.randrange(len(words))] = "zzqx"
    return " ".join(words)


def test_exact_check_splits_pairs_at_the_threshold(tmp_path, write_jsonl):
    first = json.loads(open(REPO / "data" / "text" / "sphinx-docs-rst.jsonl", encoding="utf-8").readline())["text"]
    shingles, lsh = ShingleConfig(), LshConfig()
    base = shingle_set(first, shingles, lsh.seed)
    assert np.array_equal(base, np.unique(np.concatenate(list(shingle_hashes(normalise(first), shingles, lsh.seed)))))
    copies = {k: _edited(first, k, 0) for k in range(1, 200)}
    score = {k: jaccard(base, shingle_set(t, shingles, lsh.seed)) for k, t in copies.items()}
    above = max(k for k in score if score[k] >= 0.82)
    below = min(k for k in score if score[k] < 0.78)
    write_jsonl(tmp_path / "src" / "a.jsonl", [{"id": "orig", "text": first}, {"id": "near", "text": copies[above]},
                                                {"id": "far", "text": copies[below]}])
    texts = read_texts({"src": tmp_path / "src"}, {0: ["orig", "src", "a.jsonl", 1], 1: ["near", "src", "a.jsonl", 2],
                                                   2: ["far", "src", "a.jsonl", 3]})
    assert texts[1] == copies[above]
    assert exact_mask(np.array([[0, 1], [0, 2]]), texts, shingles, lsh).tolist() == [True, False]
    assert round(estimate_cutoff(lsh), 3) == 0.7 and round(sure_above(lsh), 3) == 0.9  # 4 standard errors at 256 slots
    assert estimate_cutoff(LshConfig(exact=False)) == LshConfig().threshold - LshConfig().verify_slack
