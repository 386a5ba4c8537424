"""The dedup stage's settings: one frozen dataclass per concern, loaded from YAML.

``configs/dedup.yaml`` spells out every default; ``glassworks corpus dedup --config`` reads
it with ``load_config(path, DedupConfig)``. What a manifest records is the whole config
minus ``executor.workers`` (how many tasks run at once does not change a byte).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from glassworks.pipeline.executors import ExecutorConfig


@dataclass(frozen=True)
class ShingleConfig:
    """What a document is a set of, for MinHash."""

    kind: Literal["char", "word"] = "char"
    """Character n-grams (SlimPajama) or word n-grams (datatrove's default, the Stack recipe)."""
    n: int = 13
    """Characters or words per shingle; SlimPajama uses character 13-grams."""

    def __post_init__(self):
        if self.n < 1:
            raise ValueError(f"shingles.n must be at least 1, got {self.n}")


@dataclass(frozen=True)
class LshConfig:
    """MinHash signature length, its split into LSH bands, and the check of each candidate pair.

    A pair of Jaccard J becomes a candidate with p = 1 - (1 - J**rows)**bands; every
    candidate is then checked by the share of its ``bands * rows`` signature slots that
    agree (an unbiased estimate of J) against ``threshold - verify_slack``. The default
    32 x 8 = 256 slots catch 99.7% of pairs at J = 0.8 as candidates; see
    ``pipeline/dedup/README.md`` for the whole S-curve.
    """

    threshold: float = 0.8
    """Jaccard similarity from which two documents are near duplicates."""
    bands: int = 32
    rows: int = 8
    verify: bool = True
    """Check candidates by signature agreement; off, every band collision counts (datatrove's way)."""
    verify_slack: float = 0.03
    """Accept an estimated Jaccard this far under the threshold: the estimate's noise
    (0.025 at J = 0.8 with 256 slots) would otherwise lose half the pairs right at it."""
    seed: int = 1
    """Seed of the shingle hash and the densification probes; the same for every task."""
    exact: bool = True
    """Join a verified candidate only if the exact Jaccard of the two documents' shingle sets
    reaches the threshold (texts re-read in the clusters pass); the estimate then only prunes,
    at 4 standard errors under the threshold (0.1 at 256 slots) or ``verify_slack`` if larger.
    Off: the estimate decides, joining some pairs from about 0.75 (see the S-curve)."""

    def __post_init__(self):
        if not 0 < self.threshold <= 1:
            raise ValueError(f"lsh.threshold must be in (0, 1], got {self.threshold}")
        if self.bands < 1 or self.rows < 1:
            raise ValueError("lsh.bands and lsh.rows must be at least 1")
        if not 0 <= self.verify_slack < self.threshold:
            raise ValueError("lsh.verify_slack must be in [0, threshold)")

    @property
    def slots(self) -> int:
        return self.bands * self.rows

    def candidate_probability(self, jaccard: float) -> float:
        return 1 - (1 - jaccard**self.rows) ** self.bands

    def verify_probability(self, jaccard: float) -> float:
        """P(at least ceil((threshold - slack) * slots) of the slots agree), agreement ~ Binomial(slots, J)."""
        if not self.verify:
            return 1.0
        need = math.ceil((self.threshold - self.verify_slack) * self.slots - 1e-9)
        k = self.slots
        if jaccard >= 1:
            return 1.0
        if jaccard <= 0:
            return 0.0 if need > 0 else 1.0
        log_j, log_q = math.log(jaccard), math.log1p(-jaccard)
        return sum(math.exp(math.lgamma(k + 1) - math.lgamma(i + 1) - math.lgamma(k - i + 1) + i * log_j
                            + (k - i) * log_q) for i in range(need, k + 1))

    def detection_probability(self, jaccard: float) -> float:
        """Chance that a pair of this Jaccard is joined (candidate, then verified)."""
        return self.candidate_probability(jaccard) * self.verify_probability(jaccard)


@dataclass(frozen=True)
class SpanConfig:
    """Exact sentence and paragraph counting across the kept documents of the corpus."""

    enabled: bool = True
    """Off: documents only (no span counts, no cut; duplicate_fraction 0, repetition factor 1)."""
    min_chars: int = 20
    """Spans shorter than this (normalised) are neither counted nor removed: "Example:" recurs naturally."""
    max_frequency: int = 1000
    """A span in more kept documents than this is boilerplate and is cut from all of them.
    An absolute count: scale it with the corpus (the demo's 400 documents use 20)."""

    def __post_init__(self):
        if self.min_chars < 1 or self.max_frequency < 1:
            raise ValueError("spans.min_chars and spans.max_frequency must be at least 1")


@dataclass(frozen=True)
class ParagraphConfig:
    """Near-duplicate paragraphs across the kept documents (BaichuanSEED's finer granularity):
    MinHash over each long paragraph, LSH, a signature check, and groups by connected components.

    The first occurrence of a group (by document id, source, file, line, then offset) is
    left alone; ``policy`` says what happens to the others. 16 x 4 = 64 slots over character
    5-grams: a 300-character paragraph with three words changed keeps a Jaccard near 0.8,
    joined 99.5% of the time at the 0.7 threshold (73% at J = 0.7, 0.3% at J = 0.5);
    unrelated paragraphs of one language (J < 0.3 on 5-grams) are almost never candidates.
    """

    enabled: bool = True
    policy: Literal["mark", "downweight", "drop"] = "downweight"
    """``mark``: record the later occurrences (metadata count, ``spans/``), change nothing;
    ``downweight``: as mark, and the later occurrences weigh (k**alpha - 1) / (k - 1) each in
    the repetition factor, so a group of k weighs k**alpha in total as copies of a document do;
    ``drop``: as mark, and cut the later occurrences from their documents' text."""
    min_chars: int = 200
    """Shorter paragraphs are left to exact sentence/paragraph counting."""
    n: int = 5
    """Character n-grams of the normalised paragraph."""
    threshold: float = 0.7
    bands: int = 16
    rows: int = 4
    verify_slack: float = 0.03

    def __post_init__(self):
        if self.policy not in ("mark", "downweight", "drop"):
            raise ValueError(f"paragraphs.policy must be mark, downweight or drop, got {self.policy!r}")
        if self.min_chars < 1 or self.n < 1 or self.bands < 1 or self.rows < 1:
            raise ValueError("paragraphs.min_chars, n, bands and rows must be at least 1")
        if not 0 < self.threshold <= 1 or not 0 <= self.verify_slack < self.threshold:
            raise ValueError("paragraphs.threshold must be in (0, 1] and verify_slack in [0, threshold)")

    def lsh(self, seed: int) -> "LshConfig":
        return LshConfig(threshold=self.threshold, bands=self.bands, rows=self.rows, verify_slack=self.verify_slack,
                         seed=seed)


@dataclass(frozen=True)
class WeightConfig:
    """weight = min(cap, size**alpha * r**beta * (quality / quality_ref)**gamma), r the mean of
    df**(alpha - 1) over the document's characters; see weights.py."""

    alpha: float = 0.5
    """Text found in k places weighs k**alpha in total (sublinear for alpha < 1): a cluster of
    k copies, or a paragraph in k kept documents."""
    beta: float = 1.0
    """Exponent on the repetition factor r: a document whose text recurs widely tends to weight 0."""
    gamma: float = 1.0
    """Quality exponent; documents without a quality score get factor 1."""
    quality_ref: float = 0.5
    """The score that neither raises nor lowers the weight."""
    quality_key: str = "quality.score"
    """Dotted path of the quality score in metadata (the DCLM recipe writes ``quality.score``)."""
    cap: float = 4.0
    """Most times one document may be sampled per pass over its source."""

    def __post_init__(self):
        if not 0 <= self.alpha <= 1:
            raise ValueError("weights.alpha must be in [0, 1] (a cluster's weight must grow sublinearly)")
        if self.beta < 0 or self.gamma < 0 or self.quality_ref <= 0 or self.cap <= 0:
            raise ValueError("weights.beta, gamma must be >= 0 and quality_ref, cap > 0")


@dataclass(frozen=True)
class DedupConfig:
    """The whole dedup stage."""

    shingles: ShingleConfig = field(default_factory=ShingleConfig)
    lsh: LshConfig = field(default_factory=LshConfig)
    spans: SpanConfig = field(default_factory=SpanConfig)
    paragraphs: ParagraphConfig = field(default_factory=ParagraphConfig)
    weights: WeightConfig = field(default_factory=WeightConfig)
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)
    """``tasks`` split the input files for the signature and filter passes."""
    bucket_tasks: int = 4
    """Tasks of the bucket pass (bands are spread over them) and of the span-count pass."""

    def __post_init__(self):
        if self.bucket_tasks < 1:
            raise ValueError("bucket_tasks must be at least 1")
        if self.paragraphs.enabled and self.spans.enabled and self.paragraphs.min_chars < self.spans.min_chars:
            raise ValueError("paragraphs.min_chars must be at least spans.min_chars (paragraphs are found among the spans)")

    @property
    def finds_spans(self) -> bool:
        """Whether the signature pass splits texts into sentences and paragraphs at all."""
        return self.spans.enabled or self.paragraphs.enabled

    @property
    def span_min_chars(self) -> int:
        return self.spans.min_chars if self.spans.enabled else self.paragraphs.min_chars

    def recorded(self) -> dict:
        """What shapes the output, for the manifest: all but how many tasks run at once."""
        from dataclasses import asdict

        data = asdict(self)
        data["executor"].pop("workers")
        return data
