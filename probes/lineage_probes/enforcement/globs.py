"""Deny globs, the same syntax and semantics as the pipeline's (docs/POLICY.md).

`**` any characters (`/` and `#` included; `/**/` also a single `/`), `*`
within one segment (not `/`, not `#`), everything else literal. A field
`T#f` is denied when the glob matches it or its table `T`; a table `T` when
the glob matches it or the glob's part before its first `#` does (a write to
a table may write that field). tests/unit/probes/test_enforcement_globs.py
checks that both implementations agree.

>>> denies(compile_globs(["http://ads-service/**"]), "http://ads-service/v1/target")
True
>>> denies(compile_globs(["sqlite://demo.db/outbox#city"]), "sqlite://demo.db/outbox")
True
"""

from __future__ import annotations

import re
from collections.abc import Iterable

Compiled = tuple[tuple[re.Pattern[str], re.Pattern[str] | None], ...]


def _regex(glob: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(glob):
        if glob.startswith("/**/", i):
            out.append("/(?:.*/)?")
            i += 4
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/#]*")
            i += 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return re.compile("".join(out), re.DOTALL)


def compile_globs(globs: Iterable[str]) -> Compiled:
    return tuple((_regex(g), _regex(g.partition("#")[0]) if "#" in g else None)
                 for g in dict.fromkeys(globs))


def denies(compiled: Compiled, asset: str) -> bool:
    table, sep, _ = asset.partition("#")
    for full, table_part in compiled:
        if full.fullmatch(asset):
            return True
        if sep and full.fullmatch(table):
            return True
        if not sep and table_part is not None and table_part.fullmatch(asset):
            return True
    return False
