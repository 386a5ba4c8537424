"""Tokens: the SentencePiece tokenizer, the three phase mixtures and packed token shards.

Public entry points (imported lazily, so the CLI starts without numpy or sentencepiece):

- ``train_tokenizer(TokenizerConfig, run_dir) -> Path``: stage ``tokenizer`` (train.py);
- ``build_mixtures(MixtureConfig, run_dir, workers=1) -> MixtureSummary``: stages
  ``data.tokenize`` and ``data.<phase>`` (build.py, mixture.py, pool.py; the draw and
  copy order in copies.py and external.py, keyed by document id, in bounded memory);
- ``Tokenizer.load(dir)``: encode/decode with a trained tokenizer (tokenizer.py);
- ``PackedDataset(phase_dir)``: O(1) memory-mapped reads of packed sequences; the shard
  format is described in shards.py.
"""

from __future__ import annotations

from importlib import import_module

_EXPORTS = {
    "Tokenizer": "tokenizer", "train_tokenizer": "train", "TokenizerConfig": "train",
    "build_mixtures": "build", "MixtureSummary": "build", "MixtureConfig": "mixture", "PhaseConfig": "mixture",
    "PackedDataset": "shards", "PackedSequence": "shards", "CorpusConfig": "sources",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
