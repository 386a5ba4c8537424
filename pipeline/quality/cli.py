"""Commands for the `glassworks corpus` group: train a quality classifier, rebuild the shipped one."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from glassworks.errors import GlassworksError


@click.command("train-quality")
@click.option("--positive", type=click.Path(path_type=Path), required=True,
              help="JSONL file, or folder of .jsonl[.gz], of reference documents (label __label__hq).")
@click.option("--negative", type=click.Path(path_type=Path), required=True,
              help="JSONL file, or folder of .jsonl[.gz], of crawl documents (label __label__cc).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Model file to write (fastText .bin, or .ftz with quantize: true).")
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="YAML training settings (QualityTrainConfig); DCLM's when left out "
                   "(2M buckets x dim 100: a file of about 800 MB).")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Run directory in which to record the stage's manifest.")
def train_quality_command(positive: Path, negative: Path, out: Path, config: Path | None, workdir: Path | None) -> None:
    """Train a DCLM-style fastText quality classifier: POSITIVE against NEGATIVE."""
    from glassworks.pipeline.quality.train import QualityTrainConfig, train_quality

    summary = train_quality(config or QualityTrainConfig(), positive, negative, out, workdir)
    _report(summary)


@click.command("quality-model")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("data"),
              show_default=True, help="The embedded corpus the demo classifier is trained from.")
@click.option("--check", is_flag=True,
              help="Rebuild into a temporary file and compare it with the shipped model instead of replacing it.")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Run directory in which to keep the training sets and record both stages.")
def quality_model_command(data_dir: Path, check: bool, workdir: Path | None) -> None:
    """Rebuild the tiny demo quality classifier shipped in glassworks/pipeline/quality/assets."""
    from glassworks.pipeline.quality.shipped import SHIPPED_MODEL, build_shipped_model
    from glassworks.provenance.hashing import sha256_file

    if not check:
        _report(build_shipped_model(data_dir, SHIPPED_MODEL, workdir))
        return
    if workdir is not None:
        raise click.UsageError("--check builds a throw-away model; it records nothing, so give no --workdir")
    with tempfile.TemporaryDirectory(prefix="glassworks-quality-check-") as tmp:
        summary = build_shipped_model(data_dir, Path(tmp) / SHIPPED_MODEL.name)
    _report(summary)
    shipped = sha256_file(SHIPPED_MODEL)[0] if SHIPPED_MODEL.is_file() else "missing"
    if summary["sha256"] != shipped:
        raise GlassworksError(f"{SHIPPED_MODEL}: rebuilt model differs (sha256 {summary['sha256'][:16]}, "
                              f"shipped {shipped[:16]}); a different fastText build can do this")
    click.echo(f"identical to {SHIPPED_MODEL}")


def _report(summary: dict) -> None:
    examples = summary["examples"]
    click.echo(f"quality model: {summary['model']} (sha256 {summary['sha256'][:16]}), trained on "
               f"{examples['positive']} hq and {examples['negative']} cc examples")
    for label in ("positive", "negative"):
        skipped = {**summary["dropped"][label], "malformed": len(summary["quarantined"][label])}
        if any(skipped.values()):
            click.echo(f"  {label}: left out {', '.join(f'{n} {why}' for why, n in skipped.items() if n)}")
    if "held_out" in summary:
        h = summary["held_out"]
        click.echo(f"  held out: {h['positives']} hq, {h['negatives']} cc; "
                   f"accuracy {h['accuracy']:.3f}, AUC {h['auc']:.3f}")
    if "manifest" in summary:
        click.echo(f"  manifest: {summary['manifest']}")
