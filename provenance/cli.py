"""`glassworks audit`: check what a run or a release claims about itself."""

from __future__ import annotations

import json
from pathlib import Path

import click


def parse_roots(values: tuple[str, ...]) -> dict[str, Path]:
    roots = {}
    for value in values:
        name, sep, where = value.partition("=")
        if not sep or not name or not where:
            raise click.BadParameter(f"expected NAME=DIR, got {value!r}", param_hint="--root")
        roots[name] = Path(where)
    return roots


@click.group("audit", no_args_is_help=True)
def audit_group() -> None:
    """Verify provenance: hashes, manifest links and accounting of a run or bundle.

    Every stage writes a manifest under RUN_DIR/manifests/; `audit verify` recomputes every
    recorded hash and walks the links between stages. Signing, in-toto export, corpus
    regeneration and the audit report are not built yet.
    """


@audit_group.command("verify")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with every finding.")
@click.option("--root", "roots", multiple=True, metavar="NAME=DIR",
              help="Where an external root lives (e.g. data=./data), so its recorded inputs are re-hashed too.")
@click.option("--unchecked-root", "unchecked", multiple=True, metavar="NAME",
              help="Accept the recorded files of an external root without re-hashing them (reported as skipped).")
@click.option("-v", "--verbose", is_flag=True, help="List passing and skipped checks too, not only failures and warnings.")
@click.pass_context
def verify_command(ctx: click.Context, path: Path, as_json: bool, roots: tuple[str, ...], unchecked: tuple[str, ...],
                   verbose: bool) -> None:
    """Recompute every hash and link recorded under PATH (a run directory or a bundle).

    Exits 0 only when every check passes; otherwise prints each failing file or record,
    with the manifest that made the claim, and exits 1.
    """
    from glassworks.provenance.verify import FAIL, WARN, verify_run

    report = verify_run(path, roots=parse_roots(roots), unchecked_roots=unchecked)
    if as_json:
        click.echo(json.dumps(report.as_json(), sort_keys=True))
    else:
        for finding in report.findings:
            if verbose or finding.status in (FAIL, WARN):
                click.echo(finding.line())
        click.echo(report.summary())
    ctx.exit(0 if report.ok else 1)
