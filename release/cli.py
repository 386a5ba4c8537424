"""`glassworks release`: the release area's command group.

``classify`` imports nothing heavier than PyYAML, jsonschema and the SPDX licence list, so
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
    """MOF class and per-class progress of MOF model descriptions (model.yml).

    A file that cannot be read or parsed is explained, not fatal: its line says why and it
    is Unclassified; the command then exits 1 after the other files.
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
        click.echo(f"{path}: {result.label} (progress {_progress_text(result.progress)})")
        for line in (*result.problems, *result.schema_errors):
            click.echo(f"  problem: {line}")
        for line in result.warnings:
            click.echo(f"  warning: {line}")
        step = result.next_class()
        if step is not None and result.readable:
            for line in result.gaps(step):
                click.echo(f"  for Class {ROMAN[step]}: {line}")
    if unreadable:
        raise GlassworksError(f"{unreadable} of {len(model_yml)} description(s) could not be read (explained above)")
