"""Asset and edge names: `TABLE#field` assets, `SRC -> DST` edge ids.

An asset is a URI; a field of a table-level asset is `TABLE#field` (the field
is everything after the first `#`). An edge is keyed by the contract's edge id
`SRC -> DST`.

>>> split_field("hive://w/t#user_id"), split_field("hive://w/t")
(('hive://w/t', 'user_id'), ('hive://w/t', None))
>>> edge_id("a://x#f", "b://y")
'a://x#f -> b://y'
"""

from __future__ import annotations

#: What joins the two ends of an edge id.
EDGE_SEPARATOR = " -> "


def edge_id(src: str, dst: str) -> str:
    """The contract's edge key: `SRC -> DST`."""
    return f"{src}{EDGE_SEPARATOR}{dst}"


def split_edge_id(key: str) -> tuple[str, str]:
    """`(src, dst)` of an edge id, split at the first separator.

    An asset name may itself hold " -> " (a payload key may), so an edge id
    does not always name its ends unambiguously: the `src`/`dst` fields of a
    delta are the truth; this is for ids read alone.
    Raises ValueError when `key` holds no separator.
    """
    src, sep, dst = key.partition(EDGE_SEPARATOR)
    if not sep:
        raise ValueError("an edge id is 'SRC -> DST'")
    return src, dst


def split_field(asset: str) -> tuple[str, str | None]:
    """`(table, field)` of an asset: `("ns/t", "f")` for `ns/t#f`, `("ns/t", None)` for `ns/t`.

    The field is everything after the first `#`.
    """
    table, sep, field = asset.partition("#")
    return (table, field) if sep else (table, None)


def table_of(asset: str) -> str:
    """The table (or other container) of an asset: the part before `#` (itself without one)."""
    return asset.partition("#")[0]
