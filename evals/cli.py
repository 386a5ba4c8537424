"""`glassworks eval`: the evaluation area's command group."""

from __future__ import annotations

import click


@click.group("eval", no_args_is_help=True)
def eval_group() -> None:
    """Evaluate checkpoints offline with lm-eval and the shipped held-out suites.

    Not built yet in this version.
    """
