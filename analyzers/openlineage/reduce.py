"""One validated OpenLineage event -> its `RunPart` (names resolved, lineage read).

Every dataset is named by its canonical name (`naming.canonical_name`: its
symlinks TABLE identifier if it has one), and every column-lineage reference
to one of the event's datasets, under either of its names, resolves to it.
A `DatasetEvent`'s dataset is read as an output with no inputs: its
`columnLineage` facet (if any) still says where its fields come from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from analyzers.openlineage.model import ColumnEdge, Dataset, RunPart
from analyzers.openlineage.naming import canonical_name, dataset_asset, field_asset, field_name
from analyzers.openlineage.transformations import kinds_of
from analyzers.openlineage.validate import event_time_ms

Names = dict[tuple[str, str], tuple[str, str]]


def _schema_fields(fields: Iterable[Mapping[str, Any]], prefix: str = "") -> list[str]:
    out: list[str] = []
    for item in fields:
        name = prefix + str(item["name"])
        out.append(name)
        if item.get("fields"):
            out += _schema_fields(item["fields"], name + ".")
    return out


def _facets(dataset: Mapping[str, Any]) -> Mapping[str, Any]:
    facets = dataset.get("facets")
    return facets if isinstance(facets, dict) else {}


def _dataset(raw: Mapping[str, Any], names: Names) -> Dataset:
    namespace, name = names[(raw["namespace"], raw["name"])]
    schema = _facets(raw).get("schema")
    fields: tuple[str, ...] = ()
    if isinstance(schema, dict) and schema.get("fields"):
        fields = tuple(dict.fromkeys(field_name(namespace, f)
                                     for f in _schema_fields(schema["fields"])))
    return Dataset(namespace, name, dataset_asset(namespace, name), fields)


def _names(datasets: Iterable[Mapping[str, Any]]) -> Names:
    """(namespace, name) -> canonical (namespace, name), for every name an event uses."""
    names: Names = {}
    for raw in datasets:
        canonical = canonical_name(raw)
        names[(raw["namespace"], raw["name"])] = canonical
        symlinks = _facets(raw).get("symlinks")
        for ident in (symlinks or {}).get("identifiers") or ():
            names.setdefault((ident["namespace"], ident["name"]), canonical)
    return names


def _source(ref: Mapping[str, Any], names: Names) -> str:
    namespace, name = names.get((ref["namespace"], ref["name"]), (ref["namespace"], ref["name"]))
    return field_asset(namespace, name, ref["field"])


def _column_edges(output: Dataset, facet: Mapping[str, Any], names: Names) -> list[ColumnEdge]:
    edges: list[ColumnEdge] = []
    targets: list[str] = []
    for target, entry in facet["fields"].items():
        dst = f"{output.asset}#{field_name(output.namespace, target)}"
        targets.append(dst)
        legacy = entry.get("transformationType")
        for ref in entry["inputFields"]:
            src = _source(ref, names)
            for kind, masking in kinds_of(ref, legacy if isinstance(legacy, str) else None):
                edges.append(ColumnEdge(src, dst, kind, masking))
    # Dataset-wide dependencies (filters, joins, grouping) reach every output field.
    for field in output.fields:
        dst = f"{output.asset}#{field}"
        if dst not in targets:
            targets.append(dst)
    for ref in facet.get("dataset") or ():
        src = _source(ref, names)
        for kind, masking in kinds_of(ref):
            for dst in targets or [output.asset]:
                edges.append(ColumnEdge(src, dst, kind, masking))
    return edges


def reduce_event(event: Mapping[str, Any], kind: str) -> RunPart:
    """The `RunPart` of a validated event of `kind` (see `validate.kind_of`)."""
    if kind == "DatasetEvent":
        raw_inputs: list[Mapping[str, Any]] = []
        raw_outputs: list[Mapping[str, Any]] = [event["dataset"]]
    else:
        raw_inputs = event.get("inputs") or []
        raw_outputs = event.get("outputs") or []
    names = _names((*raw_inputs, *raw_outputs))
    part = RunPart(producer=str(event["producer"]), ts=event_time_ms(event["eventTime"]))
    for raw in raw_inputs:
        dataset = _dataset(raw, names)
        part.inputs[dataset.asset] = dataset
    for raw in raw_outputs:
        dataset = _dataset(raw, names)
        part.outputs[dataset.asset] = dataset
        lineage = _facets(raw).get("columnLineage")
        if isinstance(lineage, dict):
            part.columns += _column_edges(dataset, lineage, names)
            part.lineage_outputs.add(dataset.asset)
    job = event.get("job") or {}
    sql = (job.get("facets") or {}).get("sql")
    if isinstance(sql, dict):
        part.sql = sql["query"]
        part.dialect = sql.get("dialect")
    return part
