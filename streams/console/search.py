"""Find assets by name: a substring, or a glob in the deny globs' syntax.

A glob (`*` within one segment, `**` across, see docs/POLICY.md) scans only
the key range of its literal prefix (`hive://warehouse/default.ph*` reads
the assets from `hive://warehouse/default.ph`, not the whole store); a
substring (case-insensitive) scans every asset name. Either stops at a time
budget and says so, so a search never holds a worker's thread for long.

>>> is_glob("hive://w/*"), literal_prefix("hive://w/default.p*#x")
(True, 'hive://w/default.p')
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from analyzers.policy.globs import glob_to_regex
from state.graph.store import GraphStore


def is_glob(query: str) -> bool:
    return "*" in query


def literal_prefix(glob: str) -> str:
    return glob.partition("*")[0]


def _prefix_end(prefix: str) -> str | None:
    """The smallest name above every name starting with `prefix` (None: no bound)."""
    stripped = prefix.rstrip("\U0010ffff")
    if not stripped:
        return None
    return stripped[:-1] + chr(ord(stripped[-1]) + 1)


@dataclass
class SearchResult:
    query: str
    matches: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0  #: matching assets seen (all of them unless `partial`)
    partial: bool = False  #: the time budget stopped the scan

    def to_json(self) -> dict[str, Any]:
        return {"query": self.query, "total": self.total, "partial": self.partial,
                "assets": self.matches}


def search_assets(
    graph: GraphStore, query: str, *, limit: int = 50, time_budget_s: float = 2.0,
) -> SearchResult:
    """The first `limit` assets (by name) matching `query`, with their edge counts."""
    result = SearchResult(query)
    query = query.strip()
    if not query:
        return result
    if is_glob(query):
        pattern = re.compile(glob_to_regex(query))
        start = literal_prefix(query)
        names = graph.assets(start, _prefix_end(start))

        def hit(name: str) -> bool:
            return pattern.fullmatch(name) is not None
    else:
        needle = query.casefold()
        names = graph.assets()

        def hit(name: str) -> bool:
            return needle in name.casefold()
    deadline = time.monotonic() + time_budget_s
    for i, name in enumerate(names):
        if i % 1024 == 0 and time.monotonic() > deadline:
            result.partial = True
            break
        if not hit(name):
            continue
        result.total += 1
        if len(result.matches) < limit:
            result.matches.append({
                "uri": name,
                "downstream": len(graph.direct_edges(name, "downstream")),
                "upstream": len(graph.direct_edges(name, "upstream")),
            })
    return result
