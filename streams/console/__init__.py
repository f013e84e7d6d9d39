"""The Policy Zone console: a web page to explore lineage, review zones and watch violations.

The page's source is `console/` (npm); its build is committed in
`streams/console/static/`, so an installed package serves it without Node.
`register_console` adds the pages and JSON endpoints to an aiohttp app (the
worker's API app, or the standalone read-only app of `lineage console`).
"""

from __future__ import annotations

from streams.console.routes import Console, register_console

__all__ = ["Console", "register_console"]
