"""``build_mixtures``: the recorded stages of `glassworks data build`.

    data.tokenize   corpus sources + tokenizer -> data/tokenized/<source>/ (unit: documents)
    data.<phase>    data/tokenized/<source>/   -> data/<phase>/            (unit: tokens)

Each stage writes one manifest linked to the ones that made its inputs (the corpus or
dedup stages, the tokenizer), so `audit verify` walks from raw bytes to every shard. A
phase manifest counts tokens: ``in`` is every token drawn (documents with <s> and </s>),
``kept`` what the shards hold, ``dropped.over_budget`` the draws past the budget; the
phase's index.json (an output, hashed in the manifest) holds the tokens of each source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from glassworks.pipeline.tokens.copies import DEFAULT_MEMORY
from glassworks.pipeline.tokens.mixture import VERSION, MixtureConfig, build_phase


@dataclass
class PhaseSummary:
    name: str
    path: Path
    seq_len: int
    sequences: int
    tokens: int
    tokens_per_source: dict[str, int]
    manifest_id: str


@dataclass
class MixtureSummary:
    """What `data build` made; ``phases`` in config order."""

    tokenizer: Path
    pool: Path
    pool_manifest_id: str
    documents: dict  # the data.tokenize counts (in, kept, dropped, quarantined)
    phases: list[PhaseSummary] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"data.tokenize: {self.documents['kept']} of {self.documents['in']} documents tokenized, "
               f"dropped {self.documents['dropped'] or 0}, quarantined {self.documents['quarantined']}"]
        for p in self.phases:
            shares = ", ".join(f"{s} {n:,}" for s, n in p.tokens_per_source.items())
            out.append(f"data.{p.name}: {p.sequences:,} x {p.seq_len} = {p.tokens:,} tokens ({shares}) -> {p.path}")
        return out


def build_mixtures(config: MixtureConfig, run_dir: str | Path, workers: int = 1,
                   roots: dict[str, str | Path] | None = None, progress: bool = False,
                   memory_bytes: int = DEFAULT_MEMORY) -> MixtureSummary:
    """Tokenize the corpus sources and pack every phase of ``config`` under ``<run_dir>/data/``.

    ``workers`` processes tokenize and ``memory_bytes`` bounds what each phase's draw and
    copy order hold (the output depends on neither); ``roots`` names external folders the
    corpus may lie in, as for ``record_stage``.
    """
    from tqdm import tqdm

    from glassworks.pipeline.tokens.pool import STAGE, VERSION as POOL_VERSION, SourcePool, tokenize_sources
    from glassworks.pipeline.tokens.quarantine import write_quarantine
    from glassworks.pipeline.tokens.tokenizer import Tokenizer
    from glassworks.provenance.recorder import record_stage, refuse_to_clobber

    run_dir = Path(run_dir)
    tokenizer_dir = config.tokenizer if config.tokenizer.is_absolute() else run_dir / config.tokenizer
    tokenizer = Tokenizer.load(tokenizer_dir)
    names = list(config.corpus.sources)
    pool_config = {"corpus": config.corpus, "tokenizer": config.tokenizer}
    refuse_to_clobber(run_dir, STAGE, pool_config)
    with record_stage(run_dir, STAGE, POOL_VERSION, pool_config, roots=roots, unit="documents") as rec:
        with tqdm(desc="data.tokenize", unit="tok", unit_scale=True, disable=None if progress else True) as bar:
            pool = tokenize_sources(config.corpus, names, tokenizer_dir, run_dir, rec.counts, workers, bar.update)
        for path in pool.inputs:
            rec.input(path)
        rec.input(tokenizer_dir)
        rec.output(pool.folder)
        quarantine = write_quarantine(run_dir / "quarantine" / STAGE, pool.bad)
        if quarantine is not None:
            rec.output(quarantine)
    summary = MixtureSummary(tokenizer_dir, pool.folder, rec.manifest_id, rec.counts.as_json())

    pools = {name: SourcePool.open(pool.folder / name) for name in names}
    for phase in config.phases:
        stage = f"data.{phase.name}"
        phase_config = {"phase": phase, "packing": config.packing, "seed": config.seed, "pool": rec.manifest_id}
        refuse_to_clobber(run_dir, stage, phase_config)
        out = run_dir / "data" / phase.name
        with record_stage(run_dir, stage, VERSION, phase_config, roots=roots, unit="tokens") as phase_rec:
            index = build_phase(phase, config, pools, tokenizer, out, phase_rec.counts, memory_bytes)
            for name in sorted(s for s, w in phase.weights.items() if w > 0):
                phase_rec.input(pool.folder / name)
            phase_rec.output(out)
        summary.phases.append(PhaseSummary(phase.name, out, phase.seq_len, index["sequences"], index["tokens"],
                                           index["tokens_per_source"], phase_rec.manifest_id))
    return summary
