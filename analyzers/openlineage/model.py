"""What one OpenLineage event says, reduced to what lineage needs: a `RunPart`.

Events of one run (START with inputs, COMPLETE with outputs, ...) are
reduced one by one and merged (`merge_parts`); the signals come from the
merged part. A part holds asset names, field names and the SQL text, never
a value, and round-trips through JSON for the run window in the state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class Dataset:
    """A dataset under its canonical name, with the fields its `schema` facet lists."""

    namespace: str
    name: str
    asset: str
    fields: tuple[str, ...] = ()

    def to_json(self) -> list[Any]:
        return [self.namespace, self.name, self.asset, list(self.fields)]

    @classmethod
    def from_json(cls, raw: list[Any]) -> Dataset:
        return cls(raw[0], raw[1], raw[2], tuple(raw[3]))


@dataclass(frozen=True, slots=True)
class ColumnEdge:
    """One column-lineage dependency: `src` field feeds `dst` (field or table), with a kind."""

    src: str
    dst: str
    kind: str
    masking: bool = False


@dataclass
class RunPart:
    """The lineage content of one event, or of a run's events merged."""

    producer: str
    ts: int
    inputs: dict[str, Dataset] = field(default_factory=dict)
    outputs: dict[str, Dataset] = field(default_factory=dict)
    columns: list[ColumnEdge] = field(default_factory=list)
    #: outputs (assets) that carried a `columnLineage` facet: their lineage is known.
    lineage_outputs: set[str] = field(default_factory=set)
    sql: str | None = None
    dialect: str | None = None

    def to_bytes(self) -> bytes:
        return orjson.dumps({
            "producer": self.producer, "ts": self.ts,
            "inputs": [d.to_json() for d in self.inputs.values()],
            "outputs": [d.to_json() for d in self.outputs.values()],
            "columns": [[c.src, c.dst, c.kind, c.masking] for c in self.columns],
            "lineage_outputs": sorted(self.lineage_outputs),
            "sql": self.sql, "dialect": self.dialect,
        })

    @classmethod
    def from_bytes(cls, raw: bytes) -> RunPart:
        body = orjson.loads(raw)
        inputs = [Dataset.from_json(d) for d in body["inputs"]]
        outputs = [Dataset.from_json(d) for d in body["outputs"]]
        return cls(
            producer=body["producer"], ts=body["ts"],
            inputs={d.asset: d for d in inputs}, outputs={d.asset: d for d in outputs},
            columns=[ColumnEdge(*c) for c in body["columns"]],
            lineage_outputs=set(body["lineage_outputs"]), sql=body["sql"], dialect=body["dialect"],
        )


def _merge_datasets(into: dict[str, Dataset], more: dict[str, Dataset]) -> None:
    for asset, dataset in more.items():
        seen = into.get(asset)
        if seen is None or (dataset.fields and not seen.fields):
            into[asset] = dataset
        elif dataset.fields and dataset.fields != seen.fields:
            fields = tuple(dict.fromkeys((*seen.fields, *dataset.fields)))
            into[asset] = Dataset(seen.namespace, seen.name, asset, fields)


def merge_parts(parts: list[RunPart]) -> RunPart:
    """One part from a run's parts, in order: datasets unioned, the latest SQL kept."""
    merged = RunPart(producer=parts[-1].producer, ts=max(p.ts for p in parts))
    seen_columns: set[ColumnEdge] = set()
    for part in parts:
        _merge_datasets(merged.inputs, part.inputs)
        _merge_datasets(merged.outputs, part.outputs)
        for column in part.columns:
            if column not in seen_columns:
                seen_columns.add(column)
                merged.columns.append(column)
        merged.lineage_outputs |= part.lineage_outputs
        if part.sql is not None:
            merged.sql, merged.dialect = part.sql, part.dialect
    return merged
