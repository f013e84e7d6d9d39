"""The root `lineage` group; each command family registers itself here.

The families of `streams.cli.commands` are built in. Optional families living
outside `streams/` (the load test in `loadtest/`) register through the
`lineage.commands` entry point group in pyproject.toml, so `streams/` never
imports them. Both are imported only when used (`LazyGroup`).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

import click

from streams.cli.commands import BUILTIN

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

#: The entry point group of optional command families.
COMMAND_GROUP = "lineage.commands"


def _load_target(target: str) -> click.Command:
    module, _, attribute = target.partition(":")
    command = getattr(import_module(module), attribute)
    if not isinstance(command, click.Command):
        raise TypeError(f"{target} is not a click command")
    return command


class LazyGroup(click.Group):
    """A group whose subcommands are imported when first asked for."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._targets: dict[str, str] = dict(BUILTIN)
        self._plugin_entries: dict[str, EntryPoint] | None = None

    @property
    def _plugins(self) -> dict[str, EntryPoint]:
        """Installed command families, read once and only when a name is not built in."""
        if self._plugin_entries is None:
            from importlib.metadata import entry_points

            self._plugin_entries = {e.name: e for e in entry_points(group=COMMAND_GROUP)}
        return self._plugin_entries

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._targets, *self._plugins})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            if cmd_name in self._targets:
                self.add_command(_load_target(self._targets[cmd_name]), name=cmd_name)
            elif cmd_name in self._plugins:
                self.add_command(self._plugins[cmd_name].load(), name=cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lineage-stream")
def main() -> None:
    """Privacy-aware data lineage at stream speed."""
