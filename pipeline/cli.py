"""`glassworks corpus`, `glassworks tokenizer` and `glassworks data`: the pipeline's commands."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("corpus", no_args_is_help=True)
def corpus_group() -> None:
    """Regenerate a training corpus from raw sources, one recorded stage at a time.

    Built: `sources` (snapshot the raw inputs and check them against their listing) and
    `documents` (read WARC, JSONL and code trees into documents, nothing silently lost).
    Not built yet: extraction, filters, dedup and the recipes.
    """


@corpus_group.command("sources")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("data"),
              show_default=True, help="Folder with the raw inputs and their SOURCES.md listing.")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Run directory; raw/ and manifests/ are written here.")
@click.option("--on-mismatch", type=click.Choice(["quarantine", "fail"]), default="quarantine", show_default=True,
              help="What to do with a file whose sha256 differs from its listing.")
def sources_command(data_dir: Path, workdir: Path, on_mismatch: str) -> None:
    """Snapshot the raw inputs of DATA_DIR into WORKDIR/raw and record the stage."""
    from glassworks.pipeline.sources import SourcesConfig, run_sources

    manifest = run_sources(SourcesConfig(data_dir=data_dir, on_mismatch=on_mismatch), workdir)
    counts = manifest["counts"]
    click.echo(f"sources: {counts['kept']} of {counts['in']} files kept, {counts['quarantined']} quarantined "
               f"-> {workdir / 'manifests' / (manifest['id'] + '.json')}")


@corpus_group.command("documents")
@click.option("--workdir", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True,
              help="Run directory holding raw/ (from `corpus sources`).")
@click.option("--tasks", type=click.IntRange(min=1), default=1, show_default=True,
              help="datatrove tasks per shape (files or repositories are split over them).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Tasks run at once.")
def documents_command(workdir: Path, tasks: int, workers: int) -> None:
    """Read WORKDIR/raw (WARC, JSONL, code trees) into JSONL documents, accounting for each."""
    from glassworks.pipeline.ingest import DocumentsConfig, run_documents

    manifest, per_shape = run_documents(DocumentsConfig(tasks=tasks, workers=workers), workdir)
    for shape, c in per_shape.items():
        click.echo(f"documents/{shape}: {c.get('kept', 0)} kept of {c.get('in', 0)}, "
                   f"{c.get('dropped', 0)} dropped, {c.get('quarantined', 0)} quarantined")
    click.echo(f"-> {workdir / 'manifests' / (manifest['id'] + '.json')}")


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
