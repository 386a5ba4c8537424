"""DCLM's BFF ("big friendly filter"): Bloom-filter fuzzy dedup of paragraphs and documents.

datatrove's ``SingleBloomFilter`` drops whole documents whose n-grams were seen; DCLM's BFF
also works on paragraphs, which is what removes cross-page boilerplate. Facts from DCLM's
setup: word 13-grams, a filtering threshold of 0.8, a 1% false-positive rate, and the
"old-both" removal type, which this step implements as:

1. split the document into paragraphs (lines) and each paragraph into words (Unicode
   word characters); a paragraph shorter than one n-gram counts as a single n-gram;
2. if at least ``threshold`` of all the document's n-grams are already in the filter, the
   document is dropped (``bff_duplicate_document``);
3. otherwise every paragraph with at least ``threshold`` of its n-grams seen is removed,
   and the document is dropped if nothing is left;
4. the document's n-grams are then added to the filter.

The result depends on the order documents arrive in, as BFF's does: the first copy wins.
One filter is shared by all documents of a task, so run the stage with ``tasks: 1`` for a
global filter (a task-level filter is what BFF's ``--shard-num`` gives).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import xxhash
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from glassworks.pipeline.documents import is_settled, mark_dropped

WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class BffConfig:
    """BFF's parameters, with DCLM's values as defaults."""

    ngram: int = 13  # words per n-gram
    threshold: float = 0.8  # fraction of seen n-grams that makes a paragraph or document a duplicate
    expected_ngrams: int = 10_000_000  # sizes the filter; overestimates only cost memory
    fp_rate: float = 0.01  # false-positive rate of the filter at expected_ngrams

    def __post_init__(self):
        if not 0 < self.threshold <= 1 or not 0 < self.fp_rate < 1 or self.ngram < 1 or self.expected_ngrams < 1:
            raise ValueError("need ngram >= 1, expected_ngrams >= 1, 0 < threshold <= 1 and 0 < fp_rate < 1")


class BloomFilter:
    """A bit array with k hash positions per key, derived from one 128-bit xxh3 hash (double hashing)."""

    def __init__(self, expected: int, fp_rate: float):
        self.bits = max(64, int(math.ceil(-expected * math.log(fp_rate) / math.log(2) ** 2)))
        self.hashes = max(1, round(self.bits / expected * math.log(2)))
        self.array = np.zeros((self.bits + 7) // 8, dtype=np.uint8)

    def _positions(self, key: str) -> list[int]:
        value = xxhash.xxh3_128_intdigest(key.encode("utf-8"))  # a fixed, platform-independent hash
        h1, h2 = value >> 64, (value & 0xFFFFFFFFFFFFFFFF) | 1
        return [(h1 + i * h2) % self.bits for i in range(self.hashes)]

    def __contains__(self, key: str) -> bool:
        return all(self.array[p >> 3] & (1 << (p & 7)) for p in self._positions(key))

    def add(self, key: str) -> None:
        for p in self._positions(key):
            self.array[p >> 3] |= 1 << (p & 7)


def paragraph_ngrams(paragraph: str, n: int) -> list[str]:
    words = WORD.findall(paragraph.lower())
    if not words:
        return []
    if len(words) < n:
        return [" ".join(words)]
    return [" ".join(words[i:i + n]) for i in range(len(words) - n + 1)]


class BffDedup(PipelineStep):
    """Remove paragraphs and documents whose n-grams were mostly seen before (see module doc)."""

    name = "🌸 BFF paragraph/document dedup"
    type = "🫂 - DEDUP"

    def __init__(self, config: BffConfig = BffConfig()):
        super().__init__()
        self.config = config

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        bloom = BloomFilter(self.config.expected_ngrams, self.config.fp_rate)
        threshold = self.config.threshold
        for doc in data:
            if is_settled(doc):
                yield doc
                continue
            paragraphs = doc.text.split("\n")
            grams = [paragraph_ngrams(p, self.config.ngram) for p in paragraphs]
            seen = [sum(g in bloom for g in gs) for gs in grams]
            total = sum(len(gs) for gs in grams)
            fraction = sum(seen) / total if total else 0.0
            removed = 0
            if total and fraction >= threshold:
                mark_dropped(doc, "bff_duplicate_document")
            else:
                keep = [p for p, gs, s in zip(paragraphs, grams, seen) if not gs or s / len(gs) < threshold]
                removed = len(paragraphs) - len(keep)
                if removed:
                    doc.text = "\n".join(keep)
                    self.stat_update("paragraphs_removed", value=removed)
                if not doc.text.strip():
                    mark_dropped(doc, "bff_all_paragraphs_duplicate")
            doc.metadata["bff"] = {"duplicate_fraction": round(fraction, 4), "paragraphs_removed": removed}
            for gs in grams:
                for g in gs:
                    bloom.add(g)
            yield doc
