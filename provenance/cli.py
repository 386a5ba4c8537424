"""`glassworks audit`: check what a run or a release claims about itself."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from glassworks.errors import GlassworksError


def parse_roots(values: tuple[str, ...]) -> dict[str, Path]:
    roots = {}
    for value in values:
        name, sep, where = value.partition("=")
        if not sep or not name or not where:
            raise click.BadParameter(f"expected NAME=DIR, got {value!r}", param_hint="--root")
        roots[name] = Path(where)
    return roots


def _passphrase(env: str | None) -> bytes | None:
    if not env:
        return None
    value = os.environ.get(env)
    if not value:
        raise GlassworksError(f"--passphrase-env {env}: the environment variable is not set or empty")
    return value.encode("utf-8")


class _InOrder(click.Group):
    """Lists the commands in the order an auditor uses them, not alphabetically."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


@click.group("audit", cls=_InOrder, no_args_is_help=True)
def audit_group() -> None:
    """Verify, sign and regenerate what a run or a release bundle claims.

    Every stage writes a manifest under manifests/; `audit verify` recomputes every hash,
    walks the links between stages, checks the counts, and for a bundle ties every manifest
    to the shipped code and the MOF description to the files, and a bundle must carry a
    signature by a key the auditor names. `audit keygen` and `audit sign` make an EC key and
    sign with it: an in-toto/SLSA statement and an OpenSSF model_signing signature (which
    `model_signing verify` checks alone); `audit regenerate` re-runs the data stages from the
    raw inputs and compares every output hash.
    """


@audit_group.command("verify")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with every finding.")
@click.option("--root", "roots", multiple=True, metavar="NAME=DIR",
              help="Where an external root lives (e.g. data=./data), so its recorded inputs are re-hashed too.")
@click.option("--unchecked-root", "unchecked", multiple=True, metavar="NAME",
              help="Accept the recorded files of an external root without re-hashing them (reported as skipped).")
@click.option("--trusted-key", "trusted_keys", multiple=True, type=click.Path(exists=True, dir_okay=False),
              metavar="PUB", help="Public key (PEM) of the maintainer; a signature by any other key fails.")
@click.option("--trusted-fingerprint", "fingerprints", multiple=True, metavar="SHA256:HEX",
              help="The maintainer's key by fingerprint, as `audit keygen` printed it.")
@click.option("--trusted-identity", "identities", multiple=True, metavar="IDENTITY",
              help="For a Sigstore keyless signature: the signer's identity (e-mail or workflow URI).")
@click.option("--oidc-issuer", default=None, metavar="URL", help="The OIDC issuer of --trusted-identity.")
@click.option("--allow-unsigned", is_flag=True,
              help="Check a bundle's integrity without a trusted signature (its authenticity is then NOT checked).")
@click.option("--repo", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Your own clone of the code: each code archive in a bundle must be exactly its commit's tree.")
@click.option("--strict", is_flag=True, help="Warnings fail too (unsigned bundle, unpinned key, dirty code).")
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write audit.md, audit.html and lineage.png into this folder.")
@click.option("-v", "--verbose", is_flag=True, help="List passing and skipped checks too, not only failures and warnings.")
@click.pass_context
def verify_command(ctx: click.Context, path: Path, as_json: bool, roots: tuple[str, ...], unchecked: tuple[str, ...],
                   trusted_keys: tuple[str, ...], fingerprints: tuple[str, ...], identities: tuple[str, ...],
                   oidc_issuer: str | None, allow_unsigned: bool, repo: Path | None, strict: bool,
                   report_dir: Path | None, verbose: bool) -> None:
    """Recompute every hash and link recorded under PATH (a run directory or a bundle).

    A bundle (model.yml + manifests/) is also checked for: every manifest's code identity
    against the shipped git archive, the files model.yml names, the checkpoints, and the
    signature in attestation/, which must verify with the maintainer's key (--trusted-key or
    --trusted-fingerprint) unless --allow-unsigned is given. Exits 0 only when every check
    passes; otherwise prints each failing file or record, with the manifest that made the
    claim, and exits 1.
    """
    from glassworks.provenance.signing import TrustedKeys
    from glassworks.provenance.verify import FAIL, WARN, verify_run

    trusted = TrustedKeys.from_args(trusted_keys, fingerprints, identities, oidc_issuer)
    if allow_unsigned and trusted.pinned:
        raise click.UsageError("--allow-unsigned contradicts a trusted key or identity: give one or the other")
    report = verify_run(path, roots=parse_roots(roots), unchecked_roots=unchecked, trusted=trusted, strict=strict,
                        repo=repo, allow_unsigned=allow_unsigned)
    if report_dir is not None:
        from glassworks.provenance.report import write_report

        written = write_report(report, report_dir)
    if as_json:
        click.echo(json.dumps(report.as_json(), sort_keys=True))
    else:
        if report.headline():
            click.echo(report.headline())
        for finding in report.findings:
            if verbose or finding.status in (FAIL, WARN):
                click.echo(finding.line())
        click.echo(report.summary())
        if report_dir is not None:
            click.echo(f"report: {written.markdown}  {written.html}  {written.picture}")
    ctx.exit(0 if report.ok else 1)


@audit_group.command("keygen")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for <name>.key (private, mode 0600) and <name>.pub.")
@click.option("--name", default="signing", show_default=True, help="File name stem of the key pair.")
@click.option("--passphrase-env", metavar="VAR", default=None,
              help="Encrypt the private key with the passphrase in this environment variable.")
def keygen_command(out_dir: Path, name: str, passphrase_env: str | None) -> None:
    """Make an EC P-256 key pair for signing releases (the glassworks attestation and the
    model_signing signature); prints the public key's fingerprint."""
    from glassworks.provenance.signing import generate_keypair

    private, public, fp = generate_keypair(out_dir, name, _passphrase(passphrase_env))
    click.echo(f"private key: {private} (keep it secret)")
    click.echo(f"public key:  {public}")
    click.echo(f"fingerprint: {fp}  (publish it; auditors pin it with --trusted-fingerprint)")


@audit_group.command("sign")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--key", "key_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="The private key from `audit keygen` (an EC key).")
@click.option("--passphrase-env", metavar="VAR", default=None, help="Environment variable holding the key's passphrase.")
@click.option("--keyless", is_flag=True,
              help="Sign through Sigstore with your OIDC identity instead of a key (needs the network).")
@click.option("--repository", metavar="URL", default=None,
              help="Public URL of the code repository (default: release.repository of model.yml).")
def sign_command(path: Path, key_path: Path | None, passphrase_env: str | None, keyless: bool,
                 repository: str | None) -> None:
    """Sign PATH (a bundle or a run directory): every file and manifest, in an in-toto
    Statement v1 with a SLSA provenance predicate (a DSSE envelope), and an OpenSSF
    model_signing signature over every file, under PATH/attestation/."""
    from glassworks.provenance.attest import sign_tree
    from glassworks.provenance.signing import load_private_key

    if keyless == (key_path is not None):
        raise click.UsageError("give --key KEY or --keyless")
    key = None if keyless else load_private_key(key_path, _passphrase(passphrase_env))
    result = sign_tree(path, key, repository=repository, keyless=keyless)
    click.echo(f"signed {result.subjects} files with {result.signer}")
    if result.envelope:
        click.echo(f"envelope:   {result.envelope}")
    click.echo(f"statement:  {result.statement}")
    if result.public_key:
        click.echo(f"key:        {result.public_key}")
    click.echo(f"model_signing: {result.model_signature}")


@audit_group.command("regenerate")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="An empty or new folder to regenerate into.")
@click.option("--root", "roots", multiple=True, metavar="NAME=DIR",
              help="Where the raw inputs live (data=DIR); default for a bundle: the data/ of its code archive.")
@click.option("--recipe-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Folder that {recipe} paths in stage configs point to (default: configs/ of the code).")
@click.option("--train-steps", type=click.IntRange(min=0), default=None, metavar="N",
              help="Also re-train on the CPU up to the first released checkpoint at or past step N and compare "
                   "its weights (and every earlier released checkpoint) bit for bit.")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="torch CPU threads for --train-steps (the record leaves the runtime out; the demo trains on 1).")
@click.option("--workers", type=int, default=1, show_default=True, help="Tasks run at once (outputs do not depend on it).")
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for regenerate.md and regenerate.html (default: WORKDIR/report).")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as one JSON object.")
@click.pass_context
def regenerate_command(ctx: click.Context, path: Path, workdir: Path, roots: tuple[str, ...], recipe_dir: Path | None,
                       train_steps: int | None, threads: int, workers: int, report_dir: Path | None,
                       as_json: bool) -> None:
    """Rebuild every data stage recorded in PATH's manifests from the raw inputs (corpus, global
    dedup, held-out suite, tokenizer, phase mixtures and token shards), optionally training too,
    and compare every output hash with the record. Every other recorded file is listed as
    verified (shipped) or unchecked, with the reason. Exits 0 only when every rebuilt file
    matches; otherwise names the first stage and file that diverge."""
    from glassworks.provenance.regenerate import regenerate
    from glassworks.provenance.report import write_regenerate_report

    result = regenerate(path, workdir, roots=parse_roots(roots), recipe_dir=recipe_dir, workers=workers,
                        train_steps=train_steps, threads=threads)
    written = write_regenerate_report(result, report_dir or workdir / "report")
    if as_json:
        click.echo(json.dumps({**result.as_json(), "report": [str(written.markdown), str(written.html)]}, sort_keys=True))
    else:
        lines = result.lines()
        for line in lines[:-1]:
            click.echo(line)
        click.echo(f"report: {written.markdown}  {written.html}")
        click.echo(lines[-1])  # the verdict comes last
    ctx.exit(0 if result.ok else 1)
