"""The `glassworks` command line.

Every area contributes its command group from its own ``cli`` module; those modules import
only click and glassworks' light core at top level, and load torch, datatrove or lm-eval
inside the commands that need them, so ``glassworks --help`` stays fast.

Errors: a usage error prints one line and exits 2; a ``GlassworksError`` (bad input, failed
check) prints one line and exits 1; no tracebacks for things the user can fix.
"""

from __future__ import annotations

import sys

import click

import glassworks
from glassworks.errors import GlassworksError


class OrderedGroup(click.Group):
    """Lists commands in the order of the data flow, not alphabetically."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


@click.group(cls=OrderedGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(glassworks.__version__, prog_name="glassworks")
def cli() -> None:
    """glassworks: regenerate a corpus, train a Mistral-style model, evaluate it and release
    it with a verifiable record of how every artifact was made (Model Openness Framework).

    Data flow: corpus -> tokenizer -> data -> train -> eval -> release, each stage writing a
    provenance manifest that `glassworks audit verify` checks. `glassworks demo` runs it all
    on the embedded corpus.
    """


def _register() -> None:
    from glassworks.demo import demo
    from glassworks.evals.cli import eval_command
    from glassworks.model.cli import export_group
    from glassworks.model.train.cli import train_command
    from glassworks.pipeline.cli import corpus_group
    from glassworks.pipeline.tokens.cli import data_group, tokenizer_group
    from glassworks.provenance.cli import audit_group
    from glassworks.release.cli import release_group

    for command in (corpus_group, tokenizer_group, data_group, train_command, export_group,
                    eval_command, release_group, audit_group, demo):
        cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the exit code instead of raising it."""
    try:
        rv = cli.main(args=argv, prog_name="glassworks", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:  # a bare group: show what it offers
        click.echo(exc.ctx.get_help() if exc.ctx else cli.get_help(click.Context(cli)))
        return 0
    except click.UsageError as exc:
        path = exc.ctx.command_path if exc.ctx else "glassworks"
        click.echo(f"{path}: error: {_one_line(exc.format_message())} (see '{path} --help')", err=True)
        return 2
    except click.Abort:
        click.echo("glassworks: aborted", err=True)
        return 130
    except click.ClickException as exc:
        click.echo(f"glassworks: error: {_one_line(exc.format_message())}", err=True)
        return exc.exit_code
    except GlassworksError as exc:
        click.echo(f"glassworks: error: {exc}", err=True)
        return 1
    except KeyboardInterrupt:
        click.echo("glassworks: interrupted", err=True)
        return 130
    return rv if isinstance(rv, int) else 0


def _one_line(message: str) -> str:
    return " ".join(message.split())


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
