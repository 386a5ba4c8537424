"""`glassworks tokenizer` and `glassworks data`: tokenizer training, mixtures and packing."""

from __future__ import annotations

import click


@click.group("tokenizer", no_args_is_help=True)
def tokenizer_group() -> None:
    """Train the SentencePiece BPE tokenizer on the deduplicated corpus and export it to HF.

    Not built yet in this version.
    """


@click.group("data", no_args_is_help=True)
def data_group() -> None:
    """Build the three phase mixtures and pack them into memory-mapped token shards.

    Not built yet in this version.
    """
