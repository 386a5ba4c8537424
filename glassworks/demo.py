"""`glassworks demo`: the main job on the embedded corpus, as far as it is built.

It runs each built stage into one run directory, verifies the directory with the same
check an auditor runs, and prints what it did and which stages of the full path
(corpus -> dedup -> tokenizer -> data -> train -> eval -> release) are not built yet.
It exits 0 only when everything it ran verifies.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import click

from glassworks.config import load_config
from glassworks.errors import GlassworksError
from glassworks.pipeline.ingest import DocumentsConfig
from glassworks.pipeline.sources import SourcesConfig

# The stages of the main job that this version cannot run yet, in data-flow order.
NOT_BUILT = (
    ("corpus", "HTML extraction, language ID, filters and recipes (SlimPajama, DCLM, Stack)"),
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

    sources: SourcesConfig = field(default_factory=SourcesConfig)
    documents: DocumentsConfig = field(default_factory=DocumentsConfig)


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
    from dataclasses import replace

    from glassworks.pipeline.ingest import run_documents
    from glassworks.pipeline.sources import run_sources
    from glassworks.provenance.verify import verify_run

    config = load_config(config_path or default_config_path(), DemoConfig)
    root = repo_root()
    data_dir = config.sources.data_dir if config.sources.data_dir.is_absolute() else root / config.sources.data_dir
    if not data_dir.is_dir():
        raise GlassworksError(f"{data_dir}: the embedded corpus is missing (run the demo from a glassworks checkout)")
    sources = replace(config.sources, data_dir=data_dir)
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    click.echo(f"glassworks demo -> {workdir.resolve()}")
    manifest = run_sources(sources, workdir)
    c = manifest["counts"]
    click.echo(f"  [sources]   {c['in']} raw files: {c['kept']} kept, {c['quarantined']} quarantined "
               f"({manifest['outputs']['bytes']:,} bytes snapshotted)")

    manifest, per_shape = run_documents(config.documents, workdir)
    c = manifest["counts"]
    shapes = ", ".join(f"{shape} {n.get('kept', 0)}" for shape, n in per_shape.items())
    dropped = ", ".join(f"{reason} {n}" for reason, n in c["dropped"].items()) or "none"
    click.echo(f"  [documents] {c['in']} records: {c['kept']} kept ({shapes}), dropped: {dropped}, "
               f"{c['quarantined']} quarantined")

    report = verify_run(workdir, roots={"data": data_dir})
    for finding in report.failures:
        click.echo(f"  {finding.line()}")
    click.echo(f"  [verify]    {report.summary()}")
    click.echo("  not built yet:")
    for stage, what in NOT_BUILT:
        click.echo(f"    - {stage}: {what}")
    click.echo(f"  manifests: {workdir / 'manifests'}")
    click.echo(f"done in {time.perf_counter() - started:.1f}s: " + ("verified" if report.ok else "VERIFY FAILED"))
    ctx.exit(0 if report.ok else 1)
