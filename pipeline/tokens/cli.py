"""`glassworks tokenizer` and `glassworks data`: tokenizer training, mixtures and packing."""

from __future__ import annotations

from pathlib import Path

import click

WORKERS = click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
                       help="Tokenize tasks run at once; the output does not depend on it.")


@click.group("tokenizer", no_args_is_help=True)
def tokenizer_group() -> None:
    """Train the SentencePiece BPE tokenizer on the deduplicated corpus and export it to HF.

    `train CONFIG --workdir RUN` (configs/tokenizer-demo.yaml, tokenizer-7b.yaml) writes
    RUN/tokenizer/: tokenizer.model, the Hugging Face tokenizer.json and its configs.
    `encode DIR TEXT` shows how a tokenizer splits a text.
    """


@tokenizer_group.command("train")
@click.argument("config_path", metavar="CONFIG", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Run directory: the corpus folders of CONFIG are read from it, tokenizer/ is written to it.")
def train_command(config_path: Path, workdir: Path) -> None:
    """Train the tokenizer of CONFIG on a sample of the corpus drawn by dedup weights."""
    from glassworks.config import load_config
    from glassworks.pipeline.tokens.train import TokenizerConfig, describe, train_tokenizer

    config = load_config(config_path, TokenizerConfig)
    out = train_tokenizer(config, workdir)
    info = describe(out)
    sample = ", ".join(f"{s} {n:,}" for s, n in info["sample_bytes"].items())
    click.echo(f"tokenizer: {info['vocab_size']} pieces, trained on {sample} bytes -> {out}")


@tokenizer_group.command("encode")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("text")
def encode_command(directory: Path, text: str) -> None:
    """Print the ids and pieces of TEXT under the tokenizer in DIRECTORY."""
    from glassworks.pipeline.tokens.tokenizer import Tokenizer

    tokenizer = Tokenizer.load(directory)
    ids = tokenizer.encode(text)
    click.echo(" ".join(str(i) for i in ids))
    click.echo(" ".join(repr(tokenizer.piece(i))[1:-1] for i in ids))


@click.group("data", no_args_is_help=True)
def data_group() -> None:
    """Build the three phase mixtures and pack them into memory-mapped token shards.

    `build CONFIG --workdir RUN` (configs/mixture-demo.yaml, mixture-7b.yaml) tokenizes the
    corpus into RUN/data/tokenized/ and packs each phase into RUN/data/<phase>/.
    `inspect PHASE_DIR` shows what a phase holds.
    """


@data_group.command("build")
@click.argument("config_path", metavar="CONFIG", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Run directory holding the corpus folders of CONFIG and tokenizer/.")
@WORKERS
@click.option("--executor", type=click.Choice(["local", "ray", "slurm"]), default="local", show_default=True,
              help="Where the datatrove tasks of data.tokenize run; the output does not depend on it.")
@click.option("--tasks", type=click.IntRange(min=1), default=None,
              help="data.tokenize tasks (the input files are split over them; default: --workers). "
                   "The output does not depend on it; a Slurm run is recorded with the same number.")
@click.option("--render-only", is_flag=True, help="With --executor slurm: write the sbatch script, submit nothing.")
@click.option("--memory", "memory_gib", type=click.FloatRange(min=0.01), default=4.0, show_default=True,
              help="GiB the draw and the copy order may hold; beyond it they sort on disk. "
                   "The output does not depend on it.")
def build_command(config_path: Path, workdir: Path, workers: int, executor: str, tasks: int | None,
                  render_only: bool, memory_gib: float) -> None:
    """Tokenize the corpus and pack every phase of CONFIG, recording each stage.

    With --executor slurm the tokenize tasks go to the cluster as one array job; when it has
    finished, the same command with --executor local (and the same --tasks) finds them done,
    records data.tokenize and packs the phases.
    """
    from glassworks.config import load_config
    from glassworks.pipeline.executors import ExecutorConfig
    from glassworks.pipeline.tokens.build import build_mixtures
    from glassworks.pipeline.tokens.mixture import MixtureConfig

    config = load_config(config_path, MixtureConfig)
    runner = ExecutorConfig(kind=executor, tasks=tasks or workers, workers=workers)
    if executor == "slurm":
        from glassworks.pipeline.tokens.pool import render_slurm

        tokenizer = config.tokenizer if config.tokenizer.is_absolute() else workdir / config.tokenizer
        script = render_slurm(config.corpus, list(config.corpus.sources), tokenizer, workdir, runner,
                              submit=not render_only)
        click.echo(f"{'wrote' if render_only else 'submitted'} {script}")
        click.echo(f"when it has run: glassworks data build {config_path} --workdir {workdir} --tasks {runner.tasks}")
        return
    if render_only:
        raise click.UsageError("--render-only applies to --executor slurm")
    summary = build_mixtures(config, workdir, workers=runner, progress=True,
                             memory_bytes=int(memory_gib * (1 << 30)))
    for line in summary.lines():
        click.echo(line)


@data_group.command("inspect")
@click.argument("phase_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--sequence", "index", type=click.IntRange(min=0), default=None,
              help="Also show this sequence: its document pieces and, with --decode, its text.")
@click.option("--decode", "tokenizer_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="Tokenizer directory to decode the sequence with.")
def inspect_command(phase_dir: Path, index: int | None, tokenizer_dir: Path | None) -> None:
    """Summarise a packed phase directory (and optionally one sequence)."""
    from glassworks.pipeline.tokens.shards import PackedDataset

    data = PackedDataset(phase_dir)
    click.echo(f"{phase_dir}: {len(data):,} sequences x {data.seq_len} = {data.num_tokens:,} tokens, "
               f"{data.dtype.name}, vocab {data.vocab_size}, {len(data.index['shards'])} shard(s)")
    for source in data.sources:
        tokens = data.index["tokens_per_source"][source]
        click.echo(f"  {source:12} {tokens:>14,} tokens ({tokens / data.num_tokens:6.1%}), "
                   f"{data.index['documents_per_source'][source]:,} document starts")
    if index is None:
        return
    if index >= len(data):
        raise click.BadParameter(f"the phase has {len(data)} sequences", param_hint="--sequence")
    for entry in data.entries(index):
        click.echo(f"  [{entry['start']:>6}, +{entry['length']}) {entry['source']} document {entry['document']} "
                   f"from token {entry['offset']}")
    if tokenizer_dir is not None:
        from glassworks.pipeline.tokens.tokenizer import Tokenizer

        click.echo(Tokenizer.load(tokenizer_dir).decode(data.sequence(index).tokens))
