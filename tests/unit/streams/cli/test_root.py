"""The root group: every command is reachable, and each is imported only when used."""

from __future__ import annotations

import subprocess
import sys

import click
from click.testing import CliRunner

from streams.cli.commands import BUILTIN
from streams.cli.root import main


def test_every_builtin_command_loads_under_its_name() -> None:
    ctx = click.Context(main)
    for name in BUILTIN:
        command = main.get_command(ctx, name)
        assert isinstance(command, click.Command), name


def test_help_lists_builtin_and_plugin_commands() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    listed = {line.split()[0] for line in result.output.split("Commands:")[1].splitlines()
              if line.strip()}
    assert set(BUILTIN) | {"loadtest"} <= listed


def test_an_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command" in result.output


def test_running_analyze_sql_imports_no_kafka_client_pyarrow_or_faust() -> None:
    probe = (  # nor what only a connection (asyncio, ssl) or a terminal (rich) needs
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from streams.cli.root import main\n"
        "r = CliRunner().invoke(main, ['analyze-sql', '--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "r = CliRunner().invoke(main, ['analyze-sql', '--log', '-', '--engine', 'spark'],\n"
        "                       input='SELECT a FROM t;\\n')\n"
        "assert r.exit_code == 0 and r.output.startswith('{\"line\":1,'), r.output\n"
        "heavy = ('pyarrow', 'faust', 'aiohttp', 'aiokafka', 'asyncio', 'ssl', 'rich.progress')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
