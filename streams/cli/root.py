"""The root `lineage` group; each command family registers itself here."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lineage-stream")
def main() -> None:
    """Privacy-aware data lineage at stream speed."""


def _register() -> None:
    from streams.cli import commands

    for command in commands.ALL:
        main.add_command(command)


_register()
