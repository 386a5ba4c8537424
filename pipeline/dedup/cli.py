"""`glassworks corpus dedup IN_DIR OUT_DIR` (or `--run RUN`): global dedup of JSONL(.gz) documents into sampling weights."""

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


def recipe_finals(run: Path, recipes: list[str] | None = None) -> dict[str, Path]:
    """Recipe name -> the output folder of its last stage in ``run``, read from the run's manifests.

    A recipe stage is recorded as ``<recipe>.<stage>`` with its output in
    ``corpus/<recipe>/<stage>/``; its last stage is the one no other stage of the recipe
    consumed (lists as upstream). ``recipes`` picks some of them (all when None).
    """
    from glassworks.errors import GlassworksError
    from glassworks.provenance.manifest import load_manifest

    stages: dict[str, dict[str, dict]] = {}
    for path in sorted((run / "manifests").glob("*.json")):
        manifest = load_manifest(path)
        name = manifest["stage"]["name"]
        recipe, _, stage = name.partition(".")
        if stage and (run / "corpus" / recipe / stage).is_dir():
            stages.setdefault(recipe, {})[manifest["id"]] = manifest
    if not stages:
        raise GlassworksError(f"{run}: no recipe stages recorded in {run / 'manifests'} (run `glassworks corpus run` first)")
    wanted = recipes if recipes else sorted(stages)
    finals = {}
    for recipe in wanted:
        if recipe not in stages:
            raise GlassworksError(f"{run}: no recipe {recipe!r} recorded here; recipes found: {', '.join(sorted(stages))}")
        used = {up for m in stages[recipe].values() for up in m.get("upstream", [])}
        last = sorted(m["stage"]["name"] for i, m in stages[recipe].items() if i not in used)
        if len(last) != 1:
            raise GlassworksError(f"{run}: recipe {recipe!r} has {len(last)} final stages ({', '.join(last)}); "
                                  "expected one (is a stage recorded twice?)")
        finals[recipe] = run / "corpus" / recipe / last[0].partition(".")[2]
    return finals


@click.command("dedup")
@click.argument("in_dir", type=click.Path(file_okay=False, path_type=Path), required=False)
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path), required=False)
@click.option("--run", "run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Take the last stage of every recipe in this run directory as the sources (one per recipe), "
                   "instead of IN_DIR; output to RUN/dedup unless OUT_DIR is given.")
@click.option("--recipes", default=None, help="With --run: only these recipes, comma-separated.")
@click.option("--threshold", type=click.FloatRange(0, 1, min_open=True), default=None,
              help="Jaccard similarity from which documents are near duplicates (default: the config's, 0.8).")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Dedup config YAML (shingles, bands x rows, span limits, weights, seed); see configs/dedup.yaml.")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Run directory for the manifest and scratch (default: OUT_DIR). OUT_DIR must lie inside it.")
@click.option("--tasks", type=click.IntRange(min=1), default=None, help="Override the config's signature/filter tasks.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Override how many tasks run at once.")
def dedup_command(in_dir: Path | None, out_dir: Path | None, run_dir: Path | None, recipes: str | None,
                  threshold: float | None, config_path: Path | None,
                  workdir: Path | None, tasks: int | None, workers: int | None) -> None:
    """Global exact and near-duplicate removal over the sources in IN_DIR, into OUT_DIR
    (or over the last stage of each recipe of a run: --run RUN [OUT_DIR]).

    Kept documents go to OUT_DIR/kept/<source>/, removed ones to OUT_DIR/removed/<source>/
    with their reason; every document of a duplicate cluster carries the same
    metadata.dedup.cluster, and kept ones a sampling weight (metadata.dedup.weight).
    A killed run started again with the same command resumes where it stopped.
    """
    from glassworks.config import load_config
    from glassworks.errors import GlassworksError

    if run_dir is not None:
        if out_dir is not None:
            raise GlassworksError("with --run, give at most one folder: OUT_DIR (default RUN/dedup)")
        out_dir = in_dir if in_dir is not None else run_dir / "dedup"
        names = [r.strip() for r in recipes.split(",") if r.strip()] if recipes else None
        sources = recipe_finals(run_dir, names)
        if workdir is None:
            workdir = run_dir if out_dir.resolve().is_relative_to(run_dir.resolve()) else out_dir
    else:
        if recipes is not None:
            raise GlassworksError("--recipes needs --run RUN")
        if in_dir is None or out_dir is None:
            raise GlassworksError("give IN_DIR and OUT_DIR, or --run RUN [OUT_DIR]")
        sources = sources_of(in_dir)
    from glassworks.pipeline.dedup.config import DedupConfig
    from glassworks.pipeline.dedup.run import run_dedup

    config = load_config(config_path, DedupConfig) if config_path else DedupConfig()
    if threshold is not None:
        config = replace(config, lsh=replace(config.lsh, threshold=threshold))
    overrides = {k: v for k, v in {"tasks": tasks, "workers": workers}.items() if v is not None}
    config = replace(config, executor=replace(config.executor, **overrides))
    summary = run_dedup(config, sources, out_dir, workdir or out_dir,
                        progress=lambda name, reused: click.echo(
                            f"  dedup.{name}: {'done before, kept' if reused else 'done'}", err=True))
    for source, s in summary["sources"].items():
        removed = ", ".join(f"{n} {reason}" for reason, n in s["removed"].items()) or "none removed"
        click.echo(f"{source}: {s['kept']} kept of {s['in']} ({removed}; {s['quarantined']} quarantined), "
                   f"weight sum {s['weight']['sum']:.1f}, {s['spans_removed']} spans cut"
                   + (f", {s['near_duplicate_paragraphs']} near-duplicate paragraphs" if "near_duplicate_paragraphs" in s else ""))
    click.echo(f"-> {out_dir} (manifest {summary['manifest']}, histogram {summary['histogram']})")
