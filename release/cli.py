"""`glassworks release`: the release area's command group.

``classify`` imports nothing heavier than PyYAML and jsonschema (and reads the MOT's vendored
licence lists), so
an auditor can run it on a laptop without torch; ``build`` loads what it needs inside.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from glassworks.errors import GlassworksError


@click.group("release", no_args_is_help=True)
def release_group() -> None:
    """Assemble a release bundle, classify it under the Model Openness Framework (MOF),
    check what the next class needs, and publish it."""


def _progress_text(progress: dict[int, float]) -> str:
    return ", ".join(f"{roman} {progress[k]:.1f}%" for k, roman in ((3, "III"), (2, "II"), (1, "I")))


@release_group.command("classify")
@click.argument("model_yml", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file, one per line, in order.")
def classify_command(model_yml: tuple[Path, ...], as_json: bool) -> None:
    """MOF class of model descriptions (model.yml) as the Model Openness Tool computes it,
    and the strict class, in which every licence must also suit its component's type.

    The MOT looks each licence up as one id from its own lists: an SPDX expression such as
    `MIT AND BSD-2-Clause` is not a licence to it. A file that cannot be read or parsed is
    explained, not fatal: its line says why and it is Unclassified; the command then exits 1
    after the other files.
    """
    from glassworks.release.mof import classify_file
    from glassworks.release.mof.components import ROMAN

    unreadable = 0
    for path in model_yml:
        result = classify_file(path)
        unreadable += not result.readable
        if as_json:
            click.echo(json.dumps(result.as_json(), ensure_ascii=False))
            continue
        click.echo(f"{path}: {result.label} (progress {_progress_text(result.progress)}); "
                   f"strict: {result.strict_label} (progress {_progress_text(result.strict_progress)})")
        for line in (*result.problems, *result.schema_errors):
            click.echo(f"  problem: {line}")
        for line in result.warnings:
            click.echo(f"  warning: {line}")
        if not result.readable:
            continue
        step = result.next_class()
        if step is not None:
            for line in result.gaps(step):
                click.echo(f"  for Class {ROMAN[step]}: {line}")
        strict_step = result.next_class(strict=True)
        if strict_step is not None and result.strict_class != result.mof_class:
            for line in result.gaps(strict_step, strict=True):
                click.echo(f"  strictly, for Class {ROMAN[strict_step]}: {line}")
    if unreadable:
        raise GlassworksError(f"{unreadable} of {len(model_yml)} description(s) could not be read (explained above)")


@release_group.command("build")
@click.argument("config_path", metavar="CONFIG", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--run", "run_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Run directory to release (default: run_dir of the config).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to write the bundle into, new or empty (default: out_dir of the config).")
def build_command(config_path: Path, run_dir: Path | None, out_dir: Path | None) -> None:
    """Assemble the release bundle of a run: code, corpus, checkpoints, cards, reports, model.yml."""
    from glassworks.config import load_config
    from glassworks.release.bundle import BundleConfig, build_bundle

    config = load_config(config_path, BundleConfig)
    run_dir = run_dir or config.run_dir
    if not run_dir.is_dir():
        raise GlassworksError(f"{run_dir}: run directory not found")
    result = build_bundle(config, run_dir, out_dir or config.out_dir)
    c = result.classification
    click.echo(f"bundle: {result.path} ({result.copied} files copied from the run, {result.written} written; "
               f"manifest {result.manifest_id})")
    click.echo(f"MOF: {c.label} (progress {_progress_text(c.progress)}); components: {', '.join(result.components)}")
    for line in result.warnings:
        click.echo(f"warning: {line}")
    step = c.next_class()
    if step is not None:
        from glassworks.release.mof.components import ROMAN

        for line in c.gaps(step):
            click.echo(f"for Class {ROMAN[step]}: {line}")


@release_group.command("check")
@click.argument("bundle", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of lines.")
def check_command(bundle: Path, as_json: bool) -> None:
    """Schema, MOF class and, for the next class up, what is missing (one line each).

    Exits 1 when model.yml does not validate or lists a component whose files are gone.
    """
    from glassworks.release.bundle.check import check_bundle

    report = check_bundle(bundle)
    if as_json:
        click.echo(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        for line in report.lines():
            click.echo(line)
        c = report.classification
        click.echo(f"strict (every licence type-appropriate): {c.strict_label} "
                   f"(progress {_progress_text(c.strict_progress)})")
        if not c.mot_accepts:
            for line in c.problems:
                click.echo(f"problem: {line}")
    if not report.ok:
        raise GlassworksError(f"{bundle}: release check failed")


@release_group.command("publish")
@click.argument("bundle", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--to", "target", required=True, metavar="DIR|URL|hf://ORG/NAME",
              help="A Hugging Face repository, a local folder (a git repository laid out as the Hub one), "
                   "or another fsspec URL (a plain copy).")
@click.option("--layout", type=click.Choice(["repo", "copy"]), default=None,
              help="repo: main plus one branch per intermediate checkpoint (default for the Hub and local "
                   "folders); copy: every bundle file at its path (default for other URLs).")
@click.option("--dry-run", is_flag=True, help="Print the exact plan and change nothing.")
@click.option("--trusted-key", "trusted_keys", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Public key (PEM) the bundle must be signed with; repeatable.")
@click.option("--trusted-fingerprint", "fingerprints", multiple=True, metavar="SHA256:HEX",
              help="Fingerprint of a key the bundle must be signed with (`audit keygen` prints it); repeatable.")
@click.option("--allow-unsigned", is_flag=True, help="Publish without checking the bundle's signature against a "
                                                     "trusted key; its checkouts then verify only with "
                                                     "`audit verify --allow-unsigned` unless it is signed.")
def publish_command(bundle: Path, target: str, layout: str | None, dry_run: bool, trusted_keys: tuple[str, ...],
                    fingerprints: tuple[str, ...], allow_unsigned: bool) -> None:
    """Publish a bundle that passes `release check` and `audit verify`. The Hub and a local
    folder get the same git layout: main holds the bundle without its intermediate checkpoints,
    each of which ships on a branch of its own (step1000-tokens4M) made from main;
    revisions.json says which, so every revision's checkout verifies."""
    from glassworks.release.bundle.publish import plan_publish, publish, refuse_unless_sound, staged

    from glassworks.provenance.signing import TrustedKeys

    if allow_unsigned and (trusted_keys or fingerprints):
        raise click.UsageError("--allow-unsigned with a trusted key: name the key, or allow unsigned, not both")
    refuse_unless_sound(bundle, allow_unsigned, TrustedKeys.from_args(trusted_keys, fingerprints))
    with staged() as staging:
        plan = plan_publish(bundle, target, staging, layout)
        for line in plan.lines():
            click.echo(line)
        if dry_run:
            click.echo(f"dry run: {len(plan.steps)} step(s) planned, nothing published")
            return
        publish(plan)
    if plan.layout == "repo" and not target.startswith("hf://"):
        revisions = sorted({s.target.rpartition("@")[2] for s in plan.steps if "@" in s.target})
        click.echo(f"git repository with revisions {', '.join(revisions)}: "
                   f"git clone --branch REVISION {target} CHECKOUT, then audit verify CHECKOUT")
    click.echo(f"published {bundle} -> {target}")
