"""`glassworks corpus`: the corpus commands. `tokenizer` and `data` live in ``tokens/cli.py``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click


@click.group("corpus", no_args_is_help=True)
def corpus_group() -> None:
    """Regenerate a training corpus from raw sources, one recorded stage at a time.

    `run RECIPE` runs a whole recipe (configs/slimpajama.yaml, dclm.yaml, stack.yaml): the
    `sources` and `documents` stages, then the recipe's own stages, each recorded.
    `sources` and `documents` also run alone; `steps` lists what a recipe can use.
    """


@corpus_group.group("sources", invoke_without_command=True)
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("data"),
              show_default=True, help="Folder with the raw inputs and their listing.")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Run directory; raw/ and manifests/ are written here (required to run the stage).")
@click.option("--on-mismatch", type=click.Choice(["quarantine", "fail"]), default="quarantine", show_default=True,
              help="What to do with a file whose sha256 differs from its listing.")
@click.option("--listing", default="SOURCES.md", show_default=True,
              help="The listing inside DATA_DIR: a Markdown table, or the JSONL `sources scan` writes.")
@click.option("--in-place", is_flag=True, help="Verify and record the raw files where they lie; copy nothing.")
@click.pass_context
def sources_command(ctx: click.Context, data_dir: Path, workdir: Path | None, on_mismatch: str, listing: str,
                    in_place: bool) -> None:
    """Check the raw inputs of DATA_DIR against their listing and snapshot them into WORKDIR/raw
    (or, with --in-place, record them where they lie); `sources scan` writes the listing."""
    if ctx.invoked_subcommand is not None:
        return
    if workdir is None:
        raise click.UsageError("--workdir is required to run the sources stage")
    from glassworks.pipeline.sources import SourcesConfig, run_sources

    config = SourcesConfig(data_dir=data_dir, listing=listing, on_mismatch=on_mismatch, copy=not in_place)
    manifest = run_sources(config, workdir)
    counts = manifest["counts"]
    click.echo(f"sources: {counts['kept']} of {counts['in']} files kept{' in place' if in_place else ''}, "
               f"{counts['quarantined']} quarantined -> {workdir / 'manifests' / (manifest['id'] + '.json')}")


@sources_command.command("scan")
@click.argument("dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The JSONL listing to write (default: SOURCES.jsonl in the one DIR, or in their common parent).")
@click.option("--markdown", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the listing as the Markdown table SOURCES.md uses.")
def sources_scan_command(dirs: tuple[Path, ...], out: Path | None, markdown: Path | None) -> None:
    """Hash every file under DIRS into a listing: path, bytes, sha256, and the licence where a
    REUSE.toml or a licence file beside the data says it. `corpus sources --listing` and a
    recipe's raw.listing read it."""
    import os

    from glassworks.pipeline.sources import scan_sources

    base = dirs[0] if len(dirs) == 1 else Path(os.path.commonpath([d.resolve() for d in dirs]))
    out = out or base / "SOURCES.jsonl"
    rows = scan_sources(list(dirs), out, markdown)
    known = sum(1 for r in rows if "licence" in r or "licence_file" in r)
    click.echo(f"sources scan: {len(rows)} files, {sum(r['bytes'] for r in rows)} bytes, licence known for "
               f"{known} -> {out}" + (f" and {markdown}" if markdown else ""))


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


@corpus_group.command("run")
@click.argument("recipe", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Run directory: raw/, documents/, corpus/<recipe>/, manifests/, reports/.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Raw inputs with their SOURCES.md (default: the recipe's raw.data_dir).")
@click.option("--executor", type=click.Choice(["local", "ray", "slurm"]), default=None, help="Override the recipe's executor.")
@click.option("--tasks", type=click.IntRange(min=1), default=None, help="Override the number of tasks per stage.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Override how many tasks run at once.")
@click.option("--render-only", is_flag=True, help="With --executor slurm: write the sbatch scripts, submit nothing.")
def run_command(recipe: Path, workdir: Path, data_dir: Path | None, executor: str | None, tasks: int | None,
                workers: int | None, render_only: bool) -> None:
    """Regenerate the corpus of RECIPE (a YAML in configs/) into WORKDIR, recording every stage.

    Re-running the same command after a crash resumes: finished tasks are skipped. With
    --executor slurm the stages are submitted as chained array jobs; when they are done,
    the same command with --executor local records the stages (their tasks are complete).
    """
    from glassworks.pipeline.recipe import check_recipe_file, run_recipe
    from glassworks.pipeline.summary import summary_chart, summary_table

    config = check_recipe_file(recipe)
    overrides = {k: v for k, v in {"kind": executor, "tasks": tasks, "workers": workers}.items() if v is not None}
    config = replace(config, executor=replace(config.executor, **overrides))
    if data_dir is not None:
        config = replace(config, raw=replace(config.raw, data_dir=data_dir))

    if config.executor.kind == "slurm":
        from glassworks.pipeline.slurm import slurm_jobs

        for script in slurm_jobs(config, workdir, origin=str(recipe), submit=not render_only):
            click.echo(f"{'wrote' if render_only else 'submitted'} {script}")
        return
    if render_only:
        raise click.UsageError("--render-only applies to --executor slurm")

    from tqdm import tqdm

    jobs = sum(sum(1 for s in config.sources if not stage.sources or s.name in stage.sources) for stage in config.stages)
    bar = tqdm(total=jobs, desc=config.name, unit="stage", disable=None)  # a bar on a terminal, lines in a log

    def progress(stage: str, source: str, counts: dict) -> None:
        line = f"{config.name}.{stage} [{source}]: {counts.get('kept', 0)} kept of {counts.get('in', 0)}"
        bar.set_postfix_str(line, refresh=False)
        bar.update(1)
        if bar.disable:
            click.echo(f"  {line}", err=True)

    with bar:
        results = run_recipe(config, workdir, origin=str(recipe), progress=progress)
    click.echo(summary_table(config.name, results))
    chart = summary_chart(config.name, results, workdir / "reports" / f"{config.name}-stages.png")
    click.echo(f"chart: {chart}")


@corpus_group.command("steps")
def steps_command() -> None:
    """List the steps a recipe can use, with their parameters."""
    import dataclasses

    from glassworks.pipeline.steps import STEPS

    for name, step in sorted(STEPS.items()):
        params = ", ".join(f"{f.name}" for f in dataclasses.fields(step.params)) or "-"
        click.echo(f"{name:32} {step.doc}  [params: {params}]")


def _register_quality_commands() -> None:
    from glassworks.pipeline.quality.cli import quality_model_command, train_quality_command

    corpus_group.add_command(train_quality_command)
    corpus_group.add_command(quality_model_command)


_register_quality_commands()


def _register_dedup_command() -> None:
    from glassworks.pipeline.dedup.cli import dedup_command

    corpus_group.add_command(dedup_command)


_register_dedup_command()
