"""Every command of the `lineage` CLI, in one list."""

from __future__ import annotations

import click

ALL: list[click.Command] = []
