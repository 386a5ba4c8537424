"""`glassworks corpus dedup IN_DIR OUT_DIR`: global dedup of JSONL(.gz) documents into sampling weights."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click


def sources_of(in_dir: Path) -> dict[str, Path]:
    """IN_DIR's sources: its immediate sub-folders (each one source, named after it), or
    IN_DIR itself, named after it, when it holds JSONL files directly.

    A recipe stage's output (``corpus/<recipe>/<stage>/``) therefore gives one source per
    recipe source (``web``, ``text``), and its ``dropped/`` and ``quarantine/`` folders
    are skipped, as they are inside every source.
    """
    from glassworks.errors import GlassworksError
    from glassworks.pipeline.dedup.files import PATTERNS, SKIPPED_FOLDERS

    if not in_dir.is_dir():
        raise GlassworksError(f"{in_dir}: input folder does not exist")
    if any(p.is_file() for pattern in PATTERNS for p in in_dir.glob(pattern)):
        return {in_dir.resolve().name: in_dir}
    folders = {p.name: p for p in sorted(in_dir.iterdir()) if p.is_dir() and p.name not in SKIPPED_FOLDERS}
    if not folders:
        raise GlassworksError(f"{in_dir}: no JSONL files and no source sub-folders")
    return folders


@click.command("dedup")
@click.argument("in_dir", type=click.Path(file_okay=False, path_type=Path))
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--threshold", type=click.FloatRange(0, 1, min_open=True), default=None,
              help="Jaccard similarity from which documents are near duplicates (default: the config's, 0.8).")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Dedup config YAML (shingles, bands x rows, span limits, weights, seed); see configs/dedup.yaml.")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Run directory for the manifest and scratch (default: OUT_DIR). OUT_DIR must lie inside it.")
@click.option("--tasks", type=click.IntRange(min=1), default=None, help="Override the config's signature/filter tasks.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Override how many tasks run at once.")
def dedup_command(in_dir: Path, out_dir: Path, threshold: float | None, config_path: Path | None,
                  workdir: Path | None, tasks: int | None, workers: int | None) -> None:
    """Global exact and near-duplicate removal over the sources in IN_DIR, into OUT_DIR.

    Kept documents go to OUT_DIR/kept/<source>/, removed ones to OUT_DIR/removed/<source>/
    with their reason; every document of a duplicate cluster carries the same
    metadata.dedup.cluster, and kept ones a sampling weight (metadata.dedup.weight).
    """
    from glassworks.config import load_config
    from glassworks.pipeline.dedup.config import DedupConfig
    from glassworks.pipeline.dedup.run import run_dedup

    config = load_config(config_path, DedupConfig) if config_path else DedupConfig()
    if threshold is not None:
        config = replace(config, lsh=replace(config.lsh, threshold=threshold))
    overrides = {k: v for k, v in {"tasks": tasks, "workers": workers}.items() if v is not None}
    config = replace(config, executor=replace(config.executor, **overrides))
    summary = run_dedup(config, sources_of(in_dir), out_dir, workdir or out_dir,
                        progress=lambda name: click.echo(f"  dedup.{name}: done", err=True))
    for source, s in summary["sources"].items():
        removed = ", ".join(f"{n} {reason}" for reason, n in s["removed"].items()) or "none removed"
        click.echo(f"{source}: {s['kept']} kept of {s['in']} ({removed}; {s['quarantined']} quarantined), "
                   f"weight sum {s['weight']['sum']:.1f}, {s['spans_removed']} spans cut")
    click.echo(f"-> {out_dir} (manifest {summary['manifest']}, histogram {summary['histogram']})")
