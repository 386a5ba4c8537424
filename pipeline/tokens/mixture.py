"""`glassworks data build`: the three phase mixtures, packed into token shards.

Moxin-7B trains in three phases: phase 1 at 2k context, phase 2 at 4k, phase 3 a short
capability-enhancement phase on the highest-quality data. A mixture config names, per
phase, its context length (``seq_len``), its token budget and each source's share of it.

How a phase is drawn, per source with share ``p`` of a budget of ``B`` tokens (whole
sequences), from the source's token pool (pool.py):

1. target ``T ~ p * B`` (whole tokens, largest remainders, so the targets sum to ``B``);
2. each document gets ``floor(r * w_d + v_d)`` copies, ``w_d`` its dedup weight and ``v_d``
   a uniform keyed by its id, at the smallest rate ``r`` whose copies reach ``T`` tokens: a
   weight above 1 (or a budget above the pool) draws with replacement (copies.py);
3. all copies of all sources are ordered by a key drawn for (source, document id, copy) and
   packed in that order, each source until it has given exactly its ``T`` tokens: the copy
   that crosses it is cut there and later copies of that source are left out. Those tokens
   are recorded as ``over_budget`` (a phase manifest counts tokens: in = kept + dropped), and
   each source's share of the shards is exact to the token.

Every draw is keyed (draw.py) by the seed, phase, source and document id, never by a
position: the same corpus, tokenizer and config give the same shards on any number of
workers, and documents added to a corpus change their own copies, not everyone's.

Memory: the draw reads the pools memory-mapped in chunks and the copy order is an external
sort (external.py), so a phase is built in about ``memory_bytes`` (4 GiB by default) plus
one shard's buffer, whatever the corpus size; the output does not depend on the budget.
"""

from __future__ import annotations

import math
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from glassworks.errors import GlassworksError
from glassworks.pipeline.tokens.copies import DEFAULT_MEMORY, copy_order, draw_source
from glassworks.pipeline.tokens.sources import CorpusConfig

VERSION = "2"  # 2: draws keyed by document id, copies at a rate (copies.py)
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


def split_budget(budget: int, shares: list[float]) -> list[int]:
    """Whole-token targets in proportion to ``shares`` that sum to ``budget`` exactly
    (largest remainders; ties to the earlier source)."""
    exact = [budget * p for p in shares]
    targets = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(shares)), key=lambda i: (-(exact[i] - targets[i]), i))
    for i in by_remainder[:budget - sum(targets)]:
        targets[i] += 1
    return targets


def build_phase(phase: PhaseConfig, config: MixtureConfig, pools: dict, tokenizer, out: Path, counts,
                memory_bytes: int = DEFAULT_MEMORY) -> dict:
    """Draw and pack one phase into ``out``; returns its index.json content. Sorted runs of
    the copy order go to ``<out>.runs/`` when they do not fit in ``memory_bytes``."""
    from glassworks.pipeline.tokens.shards import ShardWriter

    sources = sorted(s for s, w in phase.weights.items() if w > 0)
    budget = phase.sequences * phase.seq_len
    total_weight = sum(phase.weights[s] for s in sources)
    targets = split_budget(budget, [phase.weights[s] / total_weight for s in sources])
    extra = 1 + int(config.packing.bos)
    window = max(1024, memory_bytes // 128)  # arrivals the draw may sort at once, 32 bytes each
    draws = [draw_source(name, pools[name].documents, extra, target, config.seed, phase.name, window)
             for name, target in zip(sources, targets)]
    scratch = out.with_name(f".{out.name}.runs")
    shutil.rmtree(scratch, ignore_errors=True)

    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    writer = ShardWriter(out, phase.seq_len, phase.sequences, config.packing.sequences_per_shard,
                         tokenizer.dtype, sources)
    head = [tokenizer.bos_id] if config.packing.bos else []
    allowance = list(targets)
    for s, d in _copies(draws, config.seed, phase.name, scratch, memory_bytes):
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
        mixture={d.source: {"share": round(phase.weights[d.source] / total_weight, 12), **d.summary()}
                 for d in draws},
    )


def _copies(draws, seed: int, phase: str, scratch: Path, memory_bytes: int):
    for src, doc in copy_order(draws, seed, phase, scratch, memory_bytes):
        yield from zip(src.tolist(), doc.tolist())
