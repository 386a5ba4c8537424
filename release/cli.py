"""`glassworks release`: the release area's command group."""

from __future__ import annotations

import click


@click.group("release", no_args_is_help=True)
def release_group() -> None:
    """Assemble a release bundle and classify it under the Model Openness Framework.

    Not built yet in this version (classify, build and publish arrive with the release area).
    """
