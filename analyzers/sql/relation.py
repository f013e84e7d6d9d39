"""What a relation carries: its columns in order and the entries that feed each.

An *entry* is ``(table_key, column, kind, masking)``; ``kind`` is a direct kind
(IDENTITY / TRANSFORMATION / AGGREGATION) or an indirect subtype (JOIN,
FILTER, ...).

>>> rel = Relation(names=["a"], by_pos=[{("db.t", "a", "IDENTITY", False)}])
>>> rel.position("a"), rel.complete
(0, True)
"""

from __future__ import annotations

from dataclasses import dataclass, field

Entry = tuple[str, str, str, bool]


@dataclass(slots=True)
class Relation:
    """The lineage of a relation: its columns in order and what feeds each.

    ``by_pos[i]`` holds the entries of column ``names[i]`` (direct and
    column-level indirect ones); ``indirect`` holds relation-wide entries
    (filters, joins, grouping) that touch every column. ``star_tables`` are
    base tables whose ``*`` could not be expanded: an unknown column is taken
    to come from them. ``inputs`` are the base tables read (for temp views).
    """

    names: list[str] = field(default_factory=list)
    by_pos: list[set[Entry]] = field(default_factory=list)
    indirect: set[Entry] = field(default_factory=set)
    star_tables: tuple[str, ...] = ()
    inputs: frozenset[str] = frozenset()
    _index: dict[str, int] | None = None

    def position(self, name: str) -> int | None:
        if self._index is None:
            index: dict[str, int] = {}
            for i, n in enumerate(self.names):
                index.setdefault(n, i)
            self._index = index
        return self._index.get(name)

    @property
    def complete(self) -> bool:
        return not self.star_tables

    def entries(self, i: int) -> set[Entry]:
        """Everything that feeds column ``i``: its own entries and the relation-wide ones."""
        return self.by_pos[i] | self.indirect
