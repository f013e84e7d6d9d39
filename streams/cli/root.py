"""The root `lineage` group; each command family registers itself here.

The families of `streams.cli.commands` are built in. Optional families living
outside `streams/` (the load test in `loadtest/`) register through the
`lineage.commands` entry point group in pyproject.toml, so `streams/` never
imports them.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import click

#: The entry point group of optional command families.
COMMAND_GROUP = "lineage.commands"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lineage-stream")
def main() -> None:
    """Privacy-aware data lineage at stream speed."""


def _register() -> None:
    from streams.cli import commands

    for command in commands.ALL:
        main.add_command(command)
    for entry in entry_points(group=COMMAND_GROUP):
        main.add_command(entry.load(), name=entry.name)


_register()
