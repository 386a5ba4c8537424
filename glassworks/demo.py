"""`glassworks demo`: the main job on the embedded corpus, as far as it is built.

It runs each built stage into one run directory, verifies the directory with the same
check an auditor runs, and prints what it did and which stages of the full path
(corpus -> dedup -> tokenizer -> data -> train -> eval -> release) are not built yet.
It exits 0 only when everything it ran verifies.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import click

from glassworks.config import load_config
from glassworks.errors import GlassworksError

# The stages of the main job that this version cannot run yet, in data-flow order.
NOT_BUILT = (
    ("dedup", "global multi-granularity deduplication and sampling weights"),
    ("tokenizer", "SentencePiece BPE training and Hugging Face export"),
    ("data", "three phase mixtures and packed token shards"),
    ("train", "three-phase training of the tiny preset"),
    ("eval", "offline evaluation with lm-eval"),
    ("release", "bundle assembly and MOF classification"),
)


@dataclass(frozen=True)
class DemoConfig:
    """The demo's settings; relative paths are taken from the repository root."""

    data_dir: Path = Path("data")  # the embedded corpus and its SOURCES.md
    recipes: list[Path] = field(default_factory=lambda: [Path(f"configs/{name}.yaml") for name in (
        "slimpajama", "dclm", "stack")])  # corpus recipes to run, in order


def repo_root() -> Path:
    from glassworks.provenance.identity import source_root

    return source_root()


def default_config_path() -> Path:
    return repo_root() / "configs" / "demo.yaml"


@click.command("demo")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=Path("glassworks-demo"),
              show_default=True, help="Run directory for every stage's outputs and manifests.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Demo config (YAML); default: configs/demo.yaml of this checkout.")
@click.pass_context
def demo(ctx: click.Context, workdir: Path, config_path: Path | None) -> None:
    """Run the main job on the embedded corpus in data/, record it and verify it."""
    from glassworks.pipeline.recipe import check_recipe_file, run_recipe
    from glassworks.pipeline.summary import stage_totals, summary_chart, summary_table
    from glassworks.provenance.verify import verify_run

    config = load_config(config_path or default_config_path(), DemoConfig)
    root = repo_root()
    data_dir = config.data_dir if config.data_dir.is_absolute() else root / config.data_dir
    if not data_dir.is_dir():
        raise GlassworksError(f"{data_dir}: the embedded corpus is missing (run the demo from a glassworks checkout)")
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    click.echo(f"glassworks demo -> {workdir.resolve()}")

    charts = []
    for recipe_path in config.recipes:
        recipe_path = recipe_path if recipe_path.is_absolute() else root / recipe_path
        recipe = check_recipe_file(recipe_path)
        recipe = replace(recipe, raw=replace(recipe.raw, data_dir=data_dir))
        results = run_recipe(recipe, workdir, origin=str(recipe_path))
        last = stage_totals(results[-1])
        click.echo(f"\n[{recipe.name}] {len(results)} stages; {last['kept']} documents kept at the end")
        click.echo(summary_table(recipe.name, results))
        charts.append(summary_chart(recipe.name, results, workdir / "reports" / f"{recipe.name}-stages.png"))

    report = verify_run(workdir, roots={"data": data_dir})
    click.echo("")
    for finding in report.failures:
        click.echo(f"  {finding.line()}")
    click.echo(f"[verify] {report.summary()}")
    click.echo("not built yet:")
    for stage, what in NOT_BUILT:
        click.echo(f"  - {stage}: {what}")
    click.echo(f"manifests: {workdir / 'manifests'}")
    for chart in charts:
        click.echo(f"chart:     {chart}")
    click.echo(f"done in {time.perf_counter() - started:.1f}s: " + ("verified" if report.ok else "VERIFY FAILED"))
    ctx.exit(0 if report.ok else 1)
