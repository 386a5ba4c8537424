"""`glassworks data build`: the three phase mixtures, packed into token shards.

Moxin-7B trains in three phases: phase 1 at 2k context, phase 2 at 4k, phase 3 a short
capability-enhancement phase on the highest-quality data. A mixture config names, per
phase, its context length (``seq_len``), its token budget and each source's share of it.

How a phase is drawn, per source with share ``p`` of a budget of ``B`` tokens (whole
sequences), from the source's token pool (pool.py), where document ``d`` costs
``c_d = len_d + 2`` tokens (``<s>`` and ``</s>``) and has dedup weight ``w_d``:

1. target ``T ~ p * B`` (whole tokens, largest remainders, so the targets sum to ``B``); rate ``r = T / sum(w_d * c_d)``, so the expected copies
   ``e_d = r * w_d`` of every document add up to the target. A weight above 1 (or a
   budget above the pool) gives documents with ``e_d > 1``: they are drawn with
   replacement, ``floor(e_d)`` copies for sure;
2. the fractional parts are drawn without replacement, Efraimidis-Spirakis keys
   ``log(u_d) / frac(e_d)`` in descending order, until the source's copies reach ``T``;
3. all copies of all sources are shuffled by a key drawn for (source, document, copy) and
   packed in that order, each source until it has given exactly its ``T`` tokens: the copy
   that crosses it is cut there and later copies of that source are left out. Those tokens
   are recorded as ``over_budget`` (a phase manifest counts tokens: in = kept + dropped), and
   each source's share of the shards is exact to the token.

Every draw is keyed (draw.py) by the seed, phase, source and document index, so the same
corpus, tokenizer and config give the same shards on any number of workers.

Memory: the draw holds about 50 bytes per pool document of a source and the shuffle about
30 bytes per drawn copy of the phase, comfortable up to a few hundred million documents.
Beyond that, list a source's folders as several sources (dclm_00, dclm_01, ...) with
weights that add up to its share; the copy order is the next thing to make external.
"""

from __future__ import annotations

import math
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from glassworks.errors import GlassworksError
from glassworks.pipeline.tokens.draw import base, mix64, uniforms
from glassworks.pipeline.tokens.sources import CorpusConfig

VERSION = "1"
PHASE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class PhaseConfig:
    """One training phase's data."""

    name: str  # folder data/<name>/ and manifest stage data.<name>
    seq_len: int  # context length of the phase (2048, 4096 in the 7B presets)
    tokens: int  # token budget; rounded down to whole sequences
    weights: dict[str, float]  # source -> share of the phase's tokens (normalised to sum to 1)
    about: str = ""  # what the phase is for, recorded with it

    def __post_init__(self):
        if not PHASE_NAME.match(self.name):
            raise ValueError(f"phase name {self.name!r} must be lower-case letters, digits and _")
        if self.seq_len < 2 or self.tokens < self.seq_len:
            raise ValueError(f"phase {self.name!r}: needs seq_len >= 2 and tokens >= seq_len")
        if any(not math.isfinite(w) or w < 0 for w in self.weights.values()) or sum(self.weights.values()) <= 0:
            raise ValueError(f"phase {self.name!r}: weights must be finite, >= 0 and not all 0")

    @property
    def sequences(self) -> int:
        return self.tokens // self.seq_len


@dataclass(frozen=True)
class PackingConfig:
    """How documents become sequences."""

    bos: bool = True  # <s> before every document, as Mistral trains; </s> always ends one
    sequences_per_shard: int = 8192  # 32 MiB of uint16 ids per shard at 2k context


@dataclass(frozen=True)
class MixtureConfig:
    """A whole `data build` config (configs/mixture-*.yaml)."""

    corpus: CorpusConfig
    phases: list[PhaseConfig]
    tokenizer: Path = Path("tokenizer")  # tokenizer directory; relative: from the run dir
    seed: int = 0
    packing: PackingConfig = field(default_factory=PackingConfig)

    def __post_init__(self):
        names = [p.name for p in self.phases]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"phases must be named uniquely, got {names}")
        for phase in self.phases:
            unknown = set(phase.weights) - set(self.corpus.sources)
            if unknown:
                raise ValueError(f"phase {phase.name!r} weighs sources not in corpus.sources: {sorted(unknown)}")


@dataclass
class SourceDraw:
    """Copies of each document of one source in one phase."""

    source: str
    target: int  # tokens asked of the source
    rate: float
    copies: np.ndarray  # int64 per pool document

    def summary(self, costs: np.ndarray) -> dict:
        return {"target_tokens": self.target, "rate": self.rate, "copies": int(self.copies.sum()),
                "unique_documents": int((self.copies > 0).sum()), "drawn_tokens": int(self.copies @ costs)}


def draw_source(source: str, costs: np.ndarray, weights: np.ndarray, target: int, seed: int, phase: str) -> SourceDraw:
    """Copies per document for one source: steps 1 and 2 of the module docstring."""
    mass = float(weights @ costs)
    if target <= 0:
        return SourceDraw(source, 0, 0.0, np.zeros(len(costs), dtype=np.int64))
    if mass <= 0:
        raise GlassworksError(f"phase {phase!r}: source {source!r} has a share of the tokens but no usable documents")
    rate = target / mass
    expected = rate * weights
    copies = np.floor(expected).astype(np.int64)
    frac = expected - copies
    short = target - int(copies @ costs)
    u = uniforms(base(seed, phase, source, "copies"), np.arange(len(costs)))
    with np.errstate(divide="ignore"):
        keys = np.where(frac > 0, np.log(u) / np.where(frac > 0, frac, 1), -np.inf)
    order = np.lexsort((np.arange(len(costs)), -keys))
    order = order[frac[order] > 0]
    if len(order) == 0:
        order = np.lexsort((np.arange(len(costs)), -np.log(u) / np.maximum(weights, 1e-300)))
        order = order[weights[order] > 0]
    while short > 0:  # the fractional draws; a second round only when floats rounded short
        cumulative = np.cumsum(costs[order])
        take = min(int(np.searchsorted(cumulative, short, side="left")) + 1, len(order))
        np.add.at(copies, order[:take], 1)
        short -= int(cumulative[take - 1])
    return SourceDraw(source, target, rate, copies)


def split_budget(budget: int, shares: list[float]) -> list[int]:
    """Whole-token targets in proportion to ``shares`` that sum to ``budget`` exactly
    (largest remainders; ties to the earlier source)."""
    exact = [budget * p for p in shares]
    targets = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(shares)), key=lambda i: (-(exact[i] - targets[i]), i))
    for i in by_remainder[:budget - sum(targets)]:
        targets[i] += 1
    return targets


def shuffled_copies(draws: list[SourceDraw], seed: int, phase: str) -> tuple[np.ndarray, np.ndarray]:
    """(source index, document index) of every copy, in the keyed shuffled packing order."""
    src_parts, doc_parts, key_parts = [], [], []
    for s, draw in enumerate(draws):
        docs = np.repeat(np.arange(len(draw.copies), dtype=np.int64), draw.copies)
        if not len(docs):
            continue
        first = np.repeat(np.cumsum(draw.copies) - draw.copies, draw.copies)
        copy_no = np.arange(len(docs), dtype=np.int64) - first
        stream = base(seed, phase, draw.source, "order")
        key_parts.append(mix64(mix64(docs.astype(np.uint64) ^ stream) ^ copy_no.astype(np.uint64)))
        src_parts.append(np.full(len(docs), s, dtype=np.int64))
        doc_parts.append(docs)
    if not src_parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    src, doc, key = np.concatenate(src_parts), np.concatenate(doc_parts), np.concatenate(key_parts)
    order = np.lexsort((doc, src, key))
    return src[order], doc[order]


def build_phase(phase: PhaseConfig, config: MixtureConfig, pools: dict, tokenizer, out: Path, counts) -> dict:
    """Draw and pack one phase into ``out``; returns its index.json content."""
    from glassworks.pipeline.tokens.shards import ShardWriter

    sources = sorted(s for s, w in phase.weights.items() if w > 0)
    budget = phase.sequences * phase.seq_len
    total_weight = sum(phase.weights[s] for s in sources)
    targets = split_budget(budget, [phase.weights[s] / total_weight for s in sources])
    extra = 1 + int(config.packing.bos)
    draws, costs = [], []
    for name, target in zip(sources, targets):
        docs = pools[name].documents
        cost = docs["length"] + extra
        draws.append(draw_source(name, cost, docs["weight"], target, config.seed, phase.name))
        costs.append(cost)
    src, doc = shuffled_copies(draws, config.seed, phase.name)

    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    writer = ShardWriter(out, phase.seq_len, phase.sequences, config.packing.sequences_per_shard,
                         tokenizer.dtype, sources)
    head = [tokenizer.bos_id] if config.packing.bos else []
    allowance = list(targets)
    for s, d in zip(src.tolist(), doc.tolist()):
        ids = pools[sources[s]].document(d)
        cost = len(ids) + extra
        part = counts.part(sources[s])  # the manifest's tokens per source
        part.add_in(cost)
        if allowance[s] == 0:
            part.drop("over_budget", cost)
            continue
        tokens = np.empty(cost, dtype=tokenizer.dtype)
        tokens[:len(head)] = head
        tokens[len(head):-1] = ids
        tokens[-1] = tokenizer.eos_id
        taken = writer.add(tokens[:allowance[s]], s, d)
        allowance[s] -= taken
        part.keep(taken)
        if taken < cost:
            part.drop("over_budget", cost - taken)
    if not writer.done:
        raise GlassworksError(f"phase {phase.name!r}: drew {writer.written} of {phase.sequences} sequences; "
                              "the token pool cannot fill the budget")
    return writer.write_index(
        phase=phase.name, about=phase.about, vocab_size=tokenizer.vocab_size, bos_id=tokenizer.bos_id,
        eos_id=tokenizer.eos_id, bos_per_document=config.packing.bos, seed=config.seed,
        mixture={d.source: {"share": round(phase.weights[d.source] / total_weight, 12), **d.summary(c)}
                 for d, c in zip(draws, costs)},
    )
