"""The `lineage` command line: one group, one module per command family."""

from __future__ import annotations

from streams.cli.root import main

__all__ = ["main"]
