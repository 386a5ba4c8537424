"""`glassworks train` and `glassworks export`: command groups of the model area."""

from __future__ import annotations

import click


@click.group("train", no_args_is_help=True)
def train_group() -> None:
    """Pre-train the Mistral-style decoder in three context-length phases.

    Not built yet in this version: there is no model or trainer to run, and the demo says
    so in its summary.
    """


@click.group("export", no_args_is_help=True)
def export_group() -> None:
    """Export a glassworks checkpoint to other formats (Hugging Face MistralForCausalLM).

    Not built yet in this version.
    """
