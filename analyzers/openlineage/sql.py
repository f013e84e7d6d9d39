"""A `sql` job facet -> column edges, through the SQL analyzer with the event's schemas.

The run's `schema` facets are the schema (so `SELECT *` expands and a
positional `INSERT` finds its columns). The analyzer names tables the way
the query spells them (`public.orders`); each is resolved onto the run's
dataset whose name ends with it (`shop.public.orders`), else named in the
first output's namespace. Analyzers are cached per schema (an LRU of cached
analyzers), so a job logged every few minutes is parsed once.
"""

from __future__ import annotations

from collections import OrderedDict

from analyzers.openlineage.model import ColumnEdge, Dataset, RunPart
from analyzers.openlineage.naming import SQL_SCHEMES, dataset_asset
from analyzers.sql import SqlAnalyzer

#: The analyzer's namespace: assets come out as `/table#column`, then resolved.
_NO_NAMESPACE = ""


def _short(name: str) -> str:
    """The last two parts of a dotted name: how a query usually spells a table."""
    return ".".join(name.lower().split(".")[-2:])


class SqlLineage:
    """Column edges of a run's SQL, with analyzers cached per schema."""

    def __init__(self, *, maxsize: int = 10_000, schemas: int = 64,
                 time_cap_s: float = 2.0) -> None:
        self.maxsize = maxsize
        self.schemas = schemas
        self.time_cap_s = time_cap_s
        self._analyzers: OrderedDict[tuple[tuple[str, tuple[str, ...]], ...], SqlAnalyzer] = (
            OrderedDict())
        self.errors = 0

    def _analyzer(self, datasets: list[Dataset]) -> SqlAnalyzer:
        schema = tuple(sorted({_short(d.name): d.fields for d in datasets if d.fields}.items()))
        analyzer = self._analyzers.get(schema)
        if analyzer is None:
            analyzer = SqlAnalyzer(schema=dict(schema), maxsize=self.maxsize,
                                   time_cap_s=self.time_cap_s)
            self._analyzers[schema] = analyzer
            while len(self._analyzers) > self.schemas:
                self._analyzers.popitem(last=False)
        else:
            self._analyzers.move_to_end(schema)
        return analyzer

    @property
    def hits(self) -> int:
        return sum(a.hits for a in self._analyzers.values())

    def edges(self, part: RunPart) -> tuple[list[ColumnEdge], set[str]]:
        """Column and table edges of `part.sql`, and the outputs the SQL wrote to."""
        assert part.sql is not None
        datasets = [*part.outputs.values(), *part.inputs.values()]
        home = next(iter(part.outputs.values()), None) or next(iter(part.inputs.values()), None)
        if home is None:
            return [], set()
        scheme = home.namespace.split(":", 1)[0].lower()
        engine = part.dialect or (scheme if scheme in SQL_SCHEMES else "spark")
        parts = home.name.lower().split(".")
        default_schema = parts[-2] if len(parts) >= 2 else None
        result = self._analyzer(datasets).analyze(
            part.sql, engine=engine, namespace=_NO_NAMESPACE, default_schema=default_schema)
        self.errors += len(result.errors)
        resolve = _Resolver(datasets, home.namespace)
        edges: list[ColumnEdge] = []
        written: set[str] = set()
        for statement in result.statements:
            if not statement.outputs:
                continue
            with_columns: set[tuple[str, str]] = set()
            for column in statement.columns:
                dst = resolve(column.target)
                for source in column.sources:
                    src = resolve(source.field)
                    edges.append(ColumnEdge(src, dst, source.subtype, source.masking))
                    with_columns.add((src.split("#")[0], dst.split("#")[0]))
            for raw_dst in statement.outputs:
                dst = resolve(raw_dst)
                written.add(dst)
                for raw_src in statement.inputs:
                    src = resolve(raw_src)
                    if src != dst and (src, dst) not in with_columns:
                        edges.append(ColumnEdge(src, dst, "OPENLINEAGE"))
        return edges, written


class _Resolver:
    """Analyzer asset (`/table#column`) -> the run's canonical asset."""

    def __init__(self, datasets: list[Dataset], home_namespace: str) -> None:
        self.datasets = datasets
        self.home = home_namespace
        self.tables: dict[str, str] = {}

    def table(self, key: str) -> str:
        found = self.tables.get(key)
        if found is None:
            for dataset in self.datasets:
                name = dataset.name.lower()
                if name == key or name.endswith("." + key) or key.endswith("." + name):
                    found = dataset.asset
                    break
            else:
                found = dataset_asset(self.home, key)
            self.tables[key] = found
        return found

    def __call__(self, asset: str) -> str:
        table, hash_, column = asset.lstrip("/").partition("#")
        return self.table(table) + (hash_ + column)
