"""`glassworks export`: the model area's conversions (`glassworks train` lives in train/cli.py)."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("export", no_args_is_help=True)
def export_group() -> None:
    """Convert glassworks checkpoints to and from Hugging Face MistralForCausalLM folders.

    Model presets and their parameter counts: `python -m glassworks.model.config`.
    """


_existing_dir = click.Path(exists=True, file_okay=False, path_type=Path)


@export_group.command("hf")
@click.argument("checkpoint_dir", type=_existing_dir)
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--run-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Record the export as an `export_hf` stage manifest in this run directory.")
@click.option("--max-shard-gb", type=click.FloatRange(min=0.001), default=5.0, show_default=True,
              help="Split the weights into safetensors files of at most this many GiB.")
def export_hf_command(checkpoint_dir: Path, out_dir: Path, run_dir: Path | None, max_shard_gb: float) -> None:
    """Export a checkpoint as a Hugging Face MistralForCausalLM folder.

    OUT_DIR gets config.json, safetensors weights and the tokenizer files, so that
    transformers' AutoModelForCausalLM.from_pretrained(OUT_DIR) gives the same logits as
    glassworks. transformers is not needed to export, only to load the result. An existing
    OUT_DIR is replaced only if it is an earlier export (or empty).
    """
    from glassworks.model.hf import export_hf

    export_hf(checkpoint_dir, out_dir, run_dir=run_dir, max_shard_bytes=int(max_shard_gb * 2**30))
    click.echo(f"exported {checkpoint_dir} -> {out_dir} (MistralForCausalLM)")


@export_group.command("from-hf")
@click.argument("hf_dir", type=_existing_dir)
@click.argument("checkpoint_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--run-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Record the import as a `checkpoint` stage manifest in this run directory.")
def import_hf_command(hf_dir: Path, checkpoint_dir: Path, run_dir: Path | None) -> None:
    """Import a Hugging Face Mistral (or bias-free Llama) folder as a glassworks checkpoint.

    Refused by name: other architectures, scaled rotary embeddings, biases. Tied embeddings
    are untied (the head starts as a copy of the embedding).
    """
    from glassworks.model.hf import import_hf

    import_hf(hf_dir, checkpoint_dir, run_dir=run_dir)
    click.echo(f"imported {hf_dir} -> {checkpoint_dir}")


@export_group.command("samples")
@click.argument("checkpoint_dir", type=_existing_dir)
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--prompt", "prompts", multiple=True,
              help="A prompt to continue (repeatable); default: a few in the demo corpus' registers.")
@click.option("--max-new-tokens", type=click.IntRange(min=1), default=48, show_default=True)
@click.option("--run-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Record the samples as a `samples` stage manifest in this run directory.")
def samples_command(checkpoint_dir: Path, out_dir: Path, prompts: tuple[str, ...], max_new_tokens: int,
                    run_dir: Path | None) -> None:
    """Write greedy continuations of fixed prompts (samples.jsonl and samples.md): a release's
    sample model outputs, reproducible from the checkpoint."""
    from glassworks.model.samples import DEFAULT_PROMPTS, write_samples

    write_samples(checkpoint_dir, out_dir, prompts or DEFAULT_PROMPTS, max_new_tokens, run_dir=run_dir)
    click.echo(f"samples of {checkpoint_dir} -> {out_dir / 'samples.md'}")
