"""`glassworks tokenizer train`: SentencePiece BPE trained on a weighted sample of the corpus.

The sample is drawn by the dedup weights in one pass with bounded memory: each document
gets the Efraimidis-Spirakis key ``log(u) / weight`` (``u`` drawn from its own key, see
draw.py) and a heap per source keeps the best-keyed documents until their text reaches
the source's byte budget. Up-weighted documents are more likely to be in the sample but
appear once: repeating a document would teach the tokenizer its quirks, not the corpus.

The model follows Mistral/Llama's SentencePiece BPE (unk 0, <s> 1, </s> 2, byte fallback,
digits split into single tokens) with the changes code wants: whitespace runs may be
pieces of their own (indentation), newline and tab are user-defined pieces, and nothing
is normalised, so decoding gives back exactly the text (no NFKC, no dummy prefix, no
collapsing of spaces). ``split_by_whitespace`` is what lets tokenizer.py cut long texts
before spaces (a piece never holds a space after a non-space; the loader checks it). The
stage writes the model, its HF export (hf.py: the same ids for every text) and a small
self-description into ``<run>/tokenizer/`` and records it as stage ``tokenizer``.
"""

from __future__ import annotations

import heapq
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from glassworks.errors import GlassworksError
from glassworks.pipeline.tokens.draw import priority, uniform
from glassworks.pipeline.tokens.sources import Bad, CorpusConfig, Skip, list_files, read_source
from glassworks.pipeline.tokens.tokenizer import META_FILE, MODEL_FILE
from glassworks.provenance.atomic import atomic_write_bytes, atomic_write_json
from glassworks.provenance.hashing import sha256_file

VERSION = "1"
STAGE = "tokenizer"


@dataclass(frozen=True)
class SampleConfig:
    """The text the tokenizer learns from."""

    bytes: int  # UTF-8 bytes of text to train on (the Llama/Mistral scale is a few GB)
    shares: dict[str, float] = field(default_factory=dict)  # source -> share of the bytes; empty: one pool, by weight
    seed: int = 0

    def __post_init__(self):
        if self.bytes <= 0:
            raise ValueError("sample.bytes must be positive")
        if any(v < 0 for v in self.shares.values()) or (self.shares and sum(self.shares.values()) <= 0):
            raise ValueError("sample.shares must be >= 0 with a positive sum")


@dataclass(frozen=True)
class ModelConfig:
    """SentencePiece trainer settings that shape the vocabulary."""

    vocab_size: int = 32000  # Mistral and Moxin use 32 000
    character_coverage: float = 0.9999  # rarer characters fall back to UTF-8 byte pieces
    max_piece_length: int = 16
    # Always their own piece; newline is added if missing (long texts are cut after it).
    user_defined_symbols: list[str] = field(default_factory=lambda: ["\n", "\t"])
    whitespace_only_pieces: bool = True  # runs of spaces (code indentation) may become pieces
    max_sentence_chars: int = 4096  # documents are fed in chunks of at most this many characters
    threads: int = 1  # SentencePiece trainer threads (written into tokenizer.model)
    model_max_length: int = 4096  # what the HF tokenizer_config announces: the longest context

    def __post_init__(self):
        if self.vocab_size < 300:
            raise ValueError("vocab_size must leave room beyond the 3 special and 256 byte pieces (>= 300)")
        if not 0 < self.character_coverage <= 1:
            raise ValueError("character_coverage must be in (0, 1]")
        for symbol in self.user_defined_symbols:
            # Long texts are cut next to newlines and before spaces (tokenizer.py), and a literal
            # U+2581 is encoded as bytes: a symbol holding one of them would be cut or never match.
            if not symbol or (symbol != "\n" and any(c in symbol for c in "\n \u2581")):
                raise ValueError(f"user_defined_symbols: {symbol!r} must be non-empty and hold no space, "
                                 "U+2581 or newline (other than the newline symbol itself)")


@dataclass(frozen=True)
class TokenizerConfig:
    """A whole `tokenizer train` config (configs/tokenizer-*.yaml)."""

    corpus: CorpusConfig
    sample: SampleConfig
    model: ModelConfig = field(default_factory=ModelConfig)

    def __post_init__(self):
        unknown = set(self.sample.shares) - set(self.corpus.sources)
        if unknown:
            raise ValueError(f"sample.shares names sources not in corpus.sources: {sorted(unknown)}")


@dataclass
class SampleResult:
    texts: list[str]  # in a fixed order (by source, then document key)
    per_source: dict[str, int]  # bytes kept per source
    inputs: list[Path]
    bad: list[Bad]


def draw_sample(config: TokenizerConfig, run_dir: Path, counts) -> SampleResult:
    """The weighted sample, with every document read accounted for in ``counts``."""
    shares = config.sample.shares or {}
    total_share = sum(shares.values())
    heaps: dict[str, list] = {}
    budgets: dict[str, int] = {}
    held: dict[str, int] = {}
    inputs, bad = [], []
    seed = config.sample.seed
    for name in config.corpus.sources:
        files = list_files(config.corpus, name, run_dir)
        inputs.extend(files.paths)
        pool = name if shares else "*"
        if shares:
            budgets[pool] = round(config.sample.bytes * shares.get(name, 0.0) / total_share)
        else:
            budgets[pool] = config.sample.bytes
        heap = heaps.setdefault(pool, [])
        held.setdefault(pool, 0)
        for record in read_source(config.corpus, files):
            counts.add_in()
            if isinstance(record, Bad):
                counts.quarantine()
                bad.append(record)
                continue
            if isinstance(record, Skip):
                counts.drop(record.reason)
                continue
            if budgets[pool] == 0:
                counts.drop("not_sampled")
                continue
            size = len(record.text.encode("utf-8", "surrogatepass"))
            key = priority(uniform(seed, "tokenizer", record.source, record.key), record.weight)
            heapq.heappush(heap, (key, record.source, record.key, size, record.text))
            held[pool] += size
            while heap and held[pool] - heap[0][3] >= budgets[pool]:
                held[pool] -= heapq.heappop(heap)[3]
                counts.drop("not_sampled")
    chosen = [item for heap in heaps.values() for item in heap]
    chosen.sort(key=lambda item: (item[1], item[2]))
    counts.keep(len(chosen))
    per_source: dict[str, int] = {}
    for _, source, _, size, _ in chosen:
        per_source[source] = per_source.get(source, 0) + size
    return SampleResult([item[4] for item in chosen], per_source, inputs, bad)


def sentences(texts: list[str], max_chars: int) -> Iterator[str]:
    """Documents cut at line ends into pieces of at most ``max_chars`` characters."""
    for text in texts:
        buffer: list[str] = []
        size = 0
        for line in text.splitlines(keepends=True):
            while len(line) > max_chars:  # one very long line: cut it hard
                if buffer:
                    yield "".join(buffer)
                    buffer, size = [], 0
                yield line[:max_chars]
                line = line[max_chars:]
            if size + len(line) > max_chars and buffer:
                yield "".join(buffer)
                buffer, size = [], 0
            buffer.append(line)
            size += len(line)
        if buffer:
            yield "".join(buffer)


def train_model(texts: list[str], model: ModelConfig, seed: int) -> bytes:
    """The serialized SentencePiece model trained on ``texts``."""
    import sentencepiece as spm

    from glassworks.pipeline.tokens.tokenizer import clean_text

    symbols = list(dict.fromkeys(["\n", *model.user_defined_symbols]))
    spm.set_random_generator_seed(seed)
    out = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=(clean_text(s)[0] for s in sentences(texts, model.max_sentence_chars)),
            model_writer=out, model_type="bpe", vocab_size=model.vocab_size,
            character_coverage=model.character_coverage, max_sentencepiece_length=model.max_piece_length,
            byte_fallback=True, split_digits=True, split_by_whitespace=True, split_by_unicode_script=True,
            allow_whitespace_only_pieces=model.whitespace_only_pieces, user_defined_symbols=symbols,
            normalization_rule_name="identity", add_dummy_prefix=False, remove_extra_whitespaces=False,
            unk_id=0, bos_id=1, eos_id=2, pad_id=-1, max_sentence_length=4 * model.max_sentence_chars,
            input_sentence_size=0, shuffle_input_sentence=False, num_threads=model.threads,
            minloglevel=2,
        )
    except RuntimeError as exc:
        raise GlassworksError(f"SentencePiece could not train a {model.vocab_size}-piece model on "
                              f"{sum(map(len, texts)):,} characters: {exc}") from None
    return out.getvalue()


def train_tokenizer(config: TokenizerConfig, run_dir: str | Path, roots: dict[str, str | Path] | None = None) -> Path:
    """Train the tokenizer into ``<run_dir>/tokenizer/`` and record stage ``tokenizer``.

    Returns the tokenizer directory (load it with ``Tokenizer.load``). ``roots`` names
    external folders the corpus folders may lie in, as for ``record_stage``.
    """
    from glassworks.pipeline.tokens.hf import export_hf
    from glassworks.pipeline.tokens.quarantine import write_quarantine
    from glassworks.provenance.recorder import record_stage, refuse_to_clobber

    run_dir = Path(run_dir)
    out = run_dir / "tokenizer"
    refuse_to_clobber(run_dir, STAGE, config)
    with record_stage(run_dir, STAGE, VERSION, config, roots=roots, unit="documents") as rec:
        sample = draw_sample(config, run_dir, rec.counts)
        if not sample.texts:
            raise GlassworksError(f"{STAGE}: no usable document in the corpus sources "
                                  f"({', '.join(config.corpus.sources)}): nothing to train on")
        proto = train_model(sample.texts, config.model, config.sample.seed)
        _clear(out)
        atomic_write_bytes(out / MODEL_FILE, proto)
        export_hf(proto, out, config.model.model_max_length)
        from glassworks.pipeline.tokens.tokenizer import Tokenizer

        tok = Tokenizer(proto)
        atomic_write_json(out / META_FILE, {
            "format": "glassworks.tokenizer/v1",
            "vocab_size": tok.vocab_size, "unk_id": tok.unk_id, "bos_id": tok.bos_id, "eos_id": tok.eos_id,
            "model_sha256": sha256_file(out / MODEL_FILE)[0],
            "sample_bytes": dict(sorted(sample.per_source.items())),
        })
        for path in sample.inputs:
            rec.input(path)
        rec.output(out)
        quarantine = write_quarantine(run_dir / "quarantine" / STAGE, sample.bad)
        if quarantine is not None:
            rec.output(quarantine)
    return out


def _clear(folder: Path) -> None:
    """Remove what a previous run left in the tokenizer folder (its record is retired)."""
    if folder.is_dir():
        for path in folder.iterdir():
            if path.is_file():
                path.unlink()
    folder.mkdir(parents=True, exist_ok=True)


def describe(directory: Path) -> dict:
    return json.loads((directory / META_FILE).read_text(encoding="utf-8"))
