"""Contamination: n-gram overlap between each eval set and the training shards.

The training side is what the model actually saw: the packed token shards of every phase
(``PackedDataset``, read memory-mapped). The eval side is the text of each eval document
as lm-eval sends it to the model (contexts and continuations of the logged requests),
tokenized with the checkpoint's tokenizer. Both are compared as token n-grams (13 by
default: GPT-3's choice, Brown et al. 2020, in words; tokens here, since the shards are
tokens). An n-gram is a 64-bit polynomial hash of its ids; with a few million training
n-grams a false match has a probability of about 1e-12 per eval n-gram.

Per task it reports how many eval documents are mostly made of n-grams seen in training
(``docs_contaminated``: at least 80% of their tokens covered, the Llama 2 report's rule),
how many share any n-gram at all (``docs_any_overlap``: GPT-3's rule, which common phrases,
code idioms and boilerplate trigger), the mean covered share of a document's tokens, and
which share of all eval n-grams occur in training (``ngram_overlap``). Documents shorter
than n tokens have no n-gram and count as clean; ``docs_too_short`` says how many.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

BASE = np.uint64(0x9E3779B97F4A7C15)  # odd multiplier of the polynomial hash


def ngram_hashes(ids: np.ndarray, n: int) -> np.ndarray:
    """The 64-bit hash of every run of ``n`` consecutive ids (``len(ids) - n + 1`` of them)."""
    ids = np.asarray(ids, dtype=np.uint64)
    if len(ids) < n:
        return np.zeros(0, dtype=np.uint64)
    count = len(ids) - n + 1
    h = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = h * BASE + (ids[k:k + count] + np.uint64(1))
    return h


def contains(sorted_set: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Which ``values`` are in ``sorted_set`` (sorted, unique): binary search, O(n log m),
    without re-sorting the training set for every eval document as ``np.isin`` would."""
    if len(sorted_set) == 0:
        return np.zeros(len(values), dtype=bool)
    at = np.searchsorted(sorted_set, values).clip(max=len(sorted_set) - 1)
    return sorted_set[at] == values


def training_ngrams(phase_dirs: list[Path], n: int) -> np.ndarray:
    """Sorted unique n-gram hashes of every sequence of the packed shards of these phases."""
    from glassworks.pipeline.tokens.shards import PackedDataset

    parts = []
    for phase in phase_dirs:
        data = PackedDataset(phase)
        step = max(1, data.per_shard)
        for start in range(0, len(data), step):
            # consecutive sequences are consecutive pieces of the packed stream: join them
            flat = np.concatenate([data.sequence(i).tokens for i in range(start, min(start + step, len(data)))])
            parts.append(np.unique(ngram_hashes(flat, n)))
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.uint64)


@dataclass(frozen=True)
class TaskOverlap:
    docs: int
    docs_any_overlap: int  # documents sharing at least one n-gram with training
    docs_contaminated: int  # documents whose tokens are at least `threshold` covered by shared n-grams
    docs_too_short: int  # documents with no n-gram at all (shorter than n tokens)
    mean_coverage: float  # mean share of a document's tokens inside a shared n-gram
    ngrams: int
    ngrams_in_training: int
    threshold: float

    def as_json(self) -> dict:
        out = asdict(self)
        out["mean_coverage"] = round(self.mean_coverage, 6)
        out["doc_fraction"] = round(self.docs_contaminated / self.docs, 6) if self.docs else 0.0
        out["ngram_overlap"] = round(self.ngrams_in_training / self.ngrams, 6) if self.ngrams else 0.0
        return out


def coverage(ids: np.ndarray, train: np.ndarray, n: int) -> tuple[int, int, int, int]:
    """(tokens, tokens inside a shared n-gram, n-grams, shared n-grams) of one token sequence."""
    hashes = ngram_hashes(ids, n)
    if len(hashes) == 0:
        return len(ids), 0, 0, 0
    hits = contains(train, hashes)
    marks = np.zeros(len(ids) + 1, dtype=np.int64)  # +1 where a shared n-gram starts, -1 after it
    starts = np.flatnonzero(hits)
    np.add.at(marks, starts, 1)
    np.add.at(marks, starts + n, -1)
    covered = int((np.cumsum(marks)[:-1] > 0).sum())
    return len(ids), covered, len(hashes), int(hits.sum())


def overlap(texts_per_doc: list[list[str]], encode, train: np.ndarray, n: int, threshold: float = 0.8) -> TaskOverlap:
    """Overlap of one task: ``texts_per_doc[i]`` are the strings of eval document i.

    A document is contaminated when at least ``threshold`` of its tokens lie inside n-grams
    that also occur in training (the rule of the Llama 2 report, Touvron et al. 2023, A.6,
    there with 80%); ``docs_any_overlap`` counts documents with any shared n-gram (GPT-3's
    stricter rule, which short n and shared boilerplate make fire often)."""
    any_overlap = contaminated = short = ngrams = found = 0
    coverages = []
    for texts in texts_per_doc:
        counts = [coverage(np.asarray(encode(t), dtype=np.int64), train, n) for t in texts]
        tokens, covered, doc_ngrams, doc_found = (sum(c[k] for c in counts) for k in range(4))
        if doc_ngrams == 0:
            short += 1
            coverages.append(0.0)
            continue
        ngrams += doc_ngrams
        found += doc_found
        share = covered / tokens
        coverages.append(share)
        any_overlap += doc_found > 0
        contaminated += share >= threshold
    return TaskOverlap(len(texts_per_doc), any_overlap, contaminated, short,
                       float(np.mean(coverages)) if coverages else 0.0, ngrams, found, threshold)


def sample_texts(samples: list[dict]) -> list[list[str]]:
    """The strings each logged lm-eval sample sent to the model, one list per document."""
    out = []
    for sample in samples:
        texts = []
        for arguments in sample.get("arguments", []):
            strings = [a for a in arguments if isinstance(a, str)]
            texts.append("".join(strings))  # context + continuation, or the rolled text, or a prompt
        out.append(texts)
    return out


def contamination(samples_per_task: dict[str, list[dict]], tokenizer, phase_dirs: list[Path], n: int = 13,
                  train: np.ndarray | None = None) -> dict[str, dict]:
    """Per task, the overlap of its logged samples with the training shards of ``phase_dirs``."""
    if train is None:
        train = training_ngrams(phase_dirs, n)
    encode = lambda text: tokenizer.encode(text)  # noqa: E731 - no BOS/EOS: they are not text
    return {task: overlap(sample_texts(samples), encode, train, n).as_json()
            for task, samples in sorted(samples_per_task.items())}
