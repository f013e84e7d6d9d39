"""Typed results of the SQL analyzer and their JSON form (the contract's shape)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DIRECT = "DIRECT"
INDIRECT = "INDIRECT"


@dataclass(frozen=True, slots=True)
class SourceField:
    """One input field of a target column, with the kind of the edge."""

    field: str
    type: str
    subtype: str
    masking: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "type": self.type,
            "subtype": self.subtype,
            "masking": self.masking,
        }


@dataclass(frozen=True, slots=True)
class ColumnLineage:
    """A target column and every input field that feeds it."""

    target: str
    sources: tuple[SourceField, ...]

    def to_json(self, memo: dict[int, dict[str, Any]] | None = None) -> dict[str, Any]:
        return {"target": self.target, "sources": _sources_json(self.sources, memo)}


def _sources_json(
    sources: tuple[SourceField, ...], memo: dict[int, dict[str, Any]] | None
) -> list[dict[str, Any]]:
    """The JSON of ``sources``; ``memo`` shares one dict per field object among the columns
    of a result (a relation's filters and joins are in every column: most references)."""
    if memo is None:
        return [s.to_json() for s in sources]
    out = []
    for s in sources:
        d = memo.get(id(s))  # the result holds every field while its JSON is built
        if d is None:
            d = memo[id(s)] = s.to_json()
        out.append(d)
    return out


@dataclass(frozen=True, slots=True)
class DatasetLineage:
    """Input fields that touch a whole output dataset (every row and column of it).

    The relation-wide INDIRECT fields (filters, joins, grouping, sorting), as
    OpenLineage's column-lineage facet lists them in its ``dataset`` entry. They
    are also in each of the dataset's columns' ``sources``: an exporter writes
    them at either level.
    """

    target: str
    sources: tuple[SourceField, ...]

    def to_json(self, memo: dict[int, dict[str, Any]] | None = None) -> dict[str, Any]:
        return {"target": self.target, "sources": _sources_json(self.sources, memo)}


#: The reason of a table-level flow: a ``*`` over a table whose columns are unknown.
UNEXPANDED_STAR = "unexpanded_star"


@dataclass(frozen=True, slots=True)
class TableFlow:
    """A flow known only at table level: every column of ``source`` may reach ``target``.

    ``target`` is None for a bare SELECT (its result is not an asset).
    """

    source: str
    target: str | None
    reason: str = UNEXPANDED_STAR

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class StatementLineage:
    """The lineage of one statement of a script."""

    index: int
    kind: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    columns: tuple[ColumnLineage, ...]
    unresolved: tuple[str, ...] = ()
    dataset: tuple[DatasetLineage, ...] = ()
    table_level: tuple[TableFlow, ...] = ()

    def to_json(self, memo: dict[int, dict[str, Any]] | None = None) -> dict[str, Any]:
        if memo is None:
            memo = {}
        out: dict[str, Any] = {
            "index": self.index,
            "kind": self.kind,
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "columns": [c.to_json(memo) for c in self.columns],
        }
        if self.unresolved:
            out["unresolved"] = list(self.unresolved)
        if self.dataset:
            out["dataset"] = [d.to_json(memo) for d in self.dataset]
        if self.table_level:
            out["table_level"] = [t.to_json() for t in self.table_level]
        return out


@dataclass(frozen=True, slots=True)
class StatementError:
    """A statement that could not be analysed; the message carries no data values."""

    index: int
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "message": self.message}


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    """The lineage of a whole script: analysed statements and failed ones."""

    statements: tuple[StatementLineage, ...] = ()
    errors: tuple[StatementError, ...] = field(default=())
    #: Whether the result depends on literal values (file paths, an UNLOAD's query
    #: text): then the cache keys it by its exact text only, never by fingerprint.
    literal_dependent: bool = field(default=False, compare=False)
    #: Tables the script defined (``CREATE TABLE``) with their columns, by table key:
    #: what :class:`~analyzers.sql.schemas.SchemaCatalog` may learn. Not in the JSON.
    defined: tuple[tuple[str, tuple[str, ...]], ...] = field(default=(), compare=False)

    def to_json(self) -> dict[str, Any]:
        """The contract's shape; a field's dict may appear in several columns (encode it,
        do not change it)."""
        memo: dict[int, dict[str, Any]] = {}
        return {
            "statements": [s.to_json(memo) for s in self.statements],
            "errors": [e.to_json() for e in self.errors],
        }


def result_from_json(data: dict[str, Any]) -> AnalysisResult:
    """Rebuild an :class:`AnalysisResult` from its ``to_json()`` form (one object per
    distinct source field, as the analyzer shares them)."""
    fields: dict[tuple[str, str, str, bool], SourceField] = {}

    def sources(items: list[dict[str, Any]]) -> tuple[SourceField, ...]:
        out = []
        for f in items:
            key = (f["field"], f["type"], f["subtype"], f.get("masking", False))
            sf = fields.get(key)
            if sf is None:
                sf = fields[key] = SourceField(*key)
            out.append(sf)
        return tuple(out)

    statements = tuple(
        StatementLineage(
            index=s.get("index", i),
            kind=s["kind"],
            inputs=tuple(s["inputs"]),
            outputs=tuple(s["outputs"]),
            columns=tuple(ColumnLineage(c["target"], sources(c["sources"])) for c in s["columns"]),
            unresolved=tuple(s.get("unresolved", ())),
            dataset=tuple(
                DatasetLineage(d["target"], sources(d["sources"])) for d in s.get("dataset", ())
            ),
            table_level=tuple(TableFlow(**t) for t in s.get("table_level", ())),
        )
        for i, s in enumerate(data.get("statements", []))
    )
    errors = tuple(StatementError(e["index"], e["message"]) for e in data.get("errors", []))
    return AnalysisResult(statements, errors)
