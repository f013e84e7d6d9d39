"""Templates: one analysis reused for the same statement over other tables.

Engines log the same job text against other tables: a daily table
(``events_20240101``), a per-job target (``report_job_123``), a shard. The
cache's template key (:func:`analyzers.sql.keys.template_key`) replaces
such table names (written after FROM, JOIN, INTO, TABLE, UPDATE or USING, with a
digit, not a word of the dialect) by placeholders, wherever the word occurs. Two
texts with the same key are then the same token sequence but for a one-to-one
renaming of those words, and the analysis of the second is the first's with its
table keys renamed, provided the words are opaque names to the parser and the
analyzer. A :class:`Probe` checks that on the first text's parse tree and
result, and a :class:`Template` is kept only when every point holds:

- every statement analysed without error, and no ``USE`` (it would change
  the default schema of the tables after it);
- every occurrence of a template word (outside comments and masked literals,
  also inside quotes) is an unquoted identifier in the parse tree, written the
  same way each time, and never a table's schema or catalog part: a table name,
  an alias, a column qualifier, a CTE name;
- no column name of the result and no part of an ``unresolved`` name is a
  template word (a renamed word would have to be renamed there too), no table
  key holds ``#``, and no template word is a known column of a table the
  text names (the analyzer compares names with those columns).

:meth:`Template.apply` renames for a new set of words when each renamed table
has the same known columns as the original (or neither is known) and no new
word is such a column; else the text is analysed afresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from analyzers.sql.keys import RESERVED, word_positions
from analyzers.sql.model import (
    AnalysisResult,
    ColumnLineage,
    DatasetLineage,
    SourceField,
    StatementLineage,
    TableFlow,
    result_from_json,
)
from analyzers.sql.naming import dialect_for, table_key_of

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlglot import exp

# sqlglot is imported where a dialect or a parse tree is looked at (reserved_words,
# Probe): a Template, kept across runs, is applied without it.


def reserved_words(engine: str) -> frozenset[str] | None:
    """Lower-case words the dialect's tokenizer or parser knows (keywords, functions, types).

    None for an unknown engine (no templates then).
    """
    if engine in RESERVED:
        return RESERVED[engine]
    from sqlglot import exp
    from sqlglot.dialects.dialect import Dialect

    try:
        dialect = Dialect.get_or_raise(dialect_for(engine))
    except ValueError:
        words = None
    else:
        names = set(dialect.tokenizer_class.KEYWORDS)
        names.update(dialect.parser_class.FUNCTIONS)
        names.update(dialect.parser_class.FUNCTION_PARSERS)
        names.update(exp.DataType.Type.__members__)
        words = frozenset(n.lower() for n in names)
    RESERVED[engine] = words
    return words


def _column_name(uri: str, namespace_len: int) -> str:
    """The column of ``NS/table#column`` or ``#column`` (table keys hold no ``#``)."""
    return uri[uri.find("#", 0 if uri[:1] == "#" else namespace_len) + 1 :]


@dataclass(frozen=True, slots=True)
class Template:
    """A checked analysis and how to rename it (see the module docstring)."""

    words: tuple[str, ...]
    # (table key without its last part, placeholder number, known columns) per renamed table
    tables: tuple[tuple[str, int, tuple[str, ...] | None], ...]
    result: AnalysisResult
    namespace: str
    # tables whose fields are sources; known columns of every table the script names
    source_tables: frozenset[str]
    columns: frozenset[str]

    def to_json(self) -> dict[str, Any]:
        """A JSON form, for a store kept across runs (:meth:`from_json` reads it)."""
        return {
            "words": list(self.words),
            "tables": [[p, n, None if k is None else list(k)] for p, n, k in self.tables],
            "result": self.result.to_json(),
            "namespace": self.namespace,
            "source_tables": sorted(self.source_tables),
            "columns": sorted(self.columns),
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> Template:
        return Template(
            words=tuple(data["words"]),
            tables=tuple((p, n, None if k is None else tuple(k)) for p, n, k in data["tables"]),
            result=result_from_json(data["result"]),
            namespace=data["namespace"],
            source_tables=frozenset(data["source_tables"]),
            columns=frozenset(data["columns"]),
        )

    def apply(
        self, words: tuple[str, ...], schema: Mapping[str, tuple[str, ...]]
    ) -> AnalysisResult | None:
        """The result for the same text over ``words``; None when it cannot be renamed."""
        if len(words) != len(self.words):
            return None
        for old, new in zip(self.words, words, strict=True):
            if old != new and new.lower() in self.columns:
                return None
        keys: dict[str, str] = {}
        for prefix, n, known in self.tables:
            old_key = prefix + self.words[n].lower()
            new_key = prefix + words[n].lower()
            if old_key != new_key:
                if schema.get(new_key) != known:
                    return None
                keys[old_key] = new_key
        return _rename(self, keys) if keys else self.result


def _rename(template: Template, keys: dict[str, str]) -> AnalysisResult:
    ns = template.namespace
    start = len(ns) + 1
    tables = {f"{ns}/{a}": f"{ns}/{b}" for a, b in keys.items()}
    prefixes = {f"{ns}/{a}#": f"{ns}/{b}#" for a, b in keys.items()}

    def field(uri: str) -> str:
        j = uri.find("#", start)
        new = prefixes.get(uri[: j + 1]) if j >= 0 else None
        return uri if new is None else new + uri[j + 1 :]

    # by object: the template's result holds each field, and shares one object per field
    # among its columns
    fields: dict[int, SourceField] = {}

    def source(s: SourceField) -> SourceField:
        new = fields.get(id(s))
        if new is None:
            new = fields[id(s)] = SourceField(field(s.field), s.type, s.subtype, s.masking)
        return new

    touch_sources = not template.source_tables.isdisjoint(keys)
    statements = []
    for st in template.result.statements:
        columns = []
        for c in st.columns:
            sources = c.sources
            if touch_sources:
                sources = tuple(sorted(map(source, sources), key=_source_order))
            columns.append(ColumnLineage(field(c.target), sources))
        dataset = tuple(
            DatasetLineage(
                tables.get(d.target, d.target),
                tuple(sorted(map(source, d.sources), key=_source_order))
                if touch_sources
                else d.sources,
            )
            for d in st.dataset
        )
        table_level = tuple(
            sorted(
                (
                    TableFlow(
                        tables.get(t.source, t.source),
                        tables.get(t.target, t.target) if t.target else None,
                        t.reason,
                    )
                    for t in st.table_level
                ),
                key=lambda t: (t.source, t.target or ""),
            )
        )
        statements.append(
            StatementLineage(
                st.index,
                st.kind,
                tuple(sorted([tables.get(u, u) for u in st.inputs])),
                tuple([tables.get(u, u) for u in st.outputs]),
                tuple(columns),
                st.unresolved,
                dataset,
                table_level,
            )
        )
    return AnalysisResult(statements=tuple(statements), errors=())


#: The documented order of a column's sources (a C-level key).
_source_order = attrgetter("field", "type", "subtype", "masking")


class Probe:
    """Checks one analysis for use as a template; pass :meth:`inspect` as ``on_parse``."""

    def __init__(
        self,
        sql: str,
        words: tuple[str, ...],
        default_schema: str | None,
        schema: Mapping[str, tuple[str, ...]],
    ) -> None:
        self.sql = sql
        self.words = words
        self.index = {w.lower(): n for n, w in enumerate(words)}
        self.default_schema = default_schema
        self.schema = schema
        self.ok = True
        self.positions: set[int] | None = None
        self.seen: set[int] = set()
        # (table key without its last part, placeholder number) -> known columns
        self.tables: dict[tuple[str, int], tuple[str, ...] | None] = {}
        # the known columns of every table the script names
        self.columns: set[str] = set()

    def inspect(self, stmt: exp.Expr) -> None:
        """Called with each parsed statement before it is analysed."""
        if self.ok:
            self.ok = self._check(stmt)

    def _check(self, stmt: exp.Expr) -> bool:
        from sqlglot import exp

        if isinstance(stmt, exp.Use):  # would change the default schema of later tables
            return False
        index = self.index
        if self.positions is None:
            self.positions = set(word_positions(self.sql, frozenset(index)))
        positions = self.positions
        words = self.words
        default_schema = self.default_schema
        for node in stmt.find_all(exp.Identifier, exp.Table):  # walk order, filtered in C
            if isinstance(node, exp.Identifier):
                name = node.this
                n = index.get(name.lower()) if isinstance(name, str) else None
                if n is None:
                    continue
                start = node.meta.get("start")
                if node.quoted or start not in positions or name != words[n]:
                    return False
                if isinstance(node.parent, exp.Table) and node.arg_key != "this":
                    return False
                self.seen.add(start)
            elif isinstance(node, exp.Table):
                key = table_key_of(node, default_schema)
                if "#" in key:
                    return False
                known = self.schema.get(key)
                if known:
                    self.columns.update(known)
                this = node.this
                name = this.this if isinstance(this, exp.Identifier) else None
                n = index.get(name.lower()) if isinstance(name, str) else None
                if n is not None:
                    self.tables[(key[: len(key) - len(node.name)], n)] = known
        return True

    def template(self, result: AnalysisResult, namespace: str) -> Template | None:
        """The template, or None when a check fails (see the module docstring)."""
        words = self.index
        if not self.ok or result.errors or not result.statements or self.seen != self.positions:
            return None
        if not words.keys().isdisjoint(self.columns):
            return None
        start = len(namespace) + 1
        source_tables: set[str] = set()
        for st in result.statements:
            for c in st.columns:
                if _column_name(c.target, start) in words:
                    return None
            # each distinct field once (a relation's filters are in every column)
            for f in {s.field for c in st.columns for s in c.sources}:
                j = f.find("#", start)
                if f[j + 1 :] in words:
                    return None
                source_tables.add(f[start:j])
            for name in st.unresolved:
                if any(part in words for part in name.split(".")):
                    return None
        return Template(
            words=self.words,
            tables=tuple((prefix, n, known) for (prefix, n), known in self.tables.items()),
            result=result,
            namespace=namespace,
            source_tables=frozenset(source_tables),
            columns=frozenset(self.columns),
        )
