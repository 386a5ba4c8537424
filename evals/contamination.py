"""Contamination: n-gram overlap between each eval set and the training shards.

The training side is what the model actually saw: the packed token shards of every phase
(``PackedDataset``, read memory-mapped). The eval side is the text of each eval document
as lm-eval sends it to the model (contexts and continuations of the logged requests),
tokenized with the checkpoint's tokenizer. Both are compared as token n-grams (13 by
default: GPT-3's choice, Brown et al. 2020, in words; tokens here, since the shards are
tokens). An n-gram is a 64-bit polynomial hash of its ids; with a few million training
n-grams a false match has a probability of about 1e-12 per eval n-gram.

Per task it reports how many eval documents share at least one n-gram with the training
data (``docs_overlapping`` / ``docs``, the measure of GPT-3 and Llama 2's reports), and
which share of all eval n-grams occur in training (``ngram_overlap``). Documents shorter
than n tokens have no n-gram and count as not overlapping; ``docs_too_short`` says how many.
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
    docs_overlapping: int
    docs_too_short: int
    ngrams: int
    ngrams_in_training: int

    @property
    def doc_fraction(self) -> float:
        return self.docs_overlapping / self.docs if self.docs else 0.0

    def as_json(self) -> dict:
        out = asdict(self)
        out["doc_fraction"] = round(self.doc_fraction, 6)
        out["ngram_overlap"] = round(self.ngrams_in_training / self.ngrams, 6) if self.ngrams else 0.0
        return out


def overlap(texts_per_doc: list[list[str]], encode, train: np.ndarray, n: int) -> TaskOverlap:
    """Overlap of one task: ``texts_per_doc[i]`` are the strings of eval document i."""
    overlapping = short = total = found = 0
    for texts in texts_per_doc:
        hashes = np.unique(np.concatenate([ngram_hashes(np.asarray(encode(t), dtype=np.int64), n) for t in texts]
                                          or [np.zeros(0, dtype=np.uint64)]))
        if len(hashes) == 0:
            short += 1
            continue
        hits = int(np.isin(hashes, train, assume_unique=True).sum()) if len(train) else 0
        total += len(hashes)
        found += hits
        overlapping += hits > 0
    return TaskOverlap(len(texts_per_doc), overlapping, short, total, found)


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
