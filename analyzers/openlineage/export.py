"""Graph edges -> OpenLineage `JobEvent`s (spec 2-0-2), one per destination dataset.

Each destination dataset D gets a `JobEvent` (job `lineage-stream` /
D's asset) whose output is D with a `schema` facet (its fields seen as
targets), a `columnLineage` facet (each field's sources, our kinds as
`transformations`) and a `lineageStream_evidence` facet (confidence, score,
kinds, evidence counts per edge); its inputs are the source datasets, with
the fields they feed as their `schema`. Edges OpenLineage cannot put in that
one facet go in sibling events of the same D, so that reading them back
(`reduce.py`) gives the same edges:

- `T#f -> D` (a field into the dataset as a whole): job `D (dataset)`, the
  field in `columnLineage.dataset`, D with no schema facet;
- `T -> D` (table level): job `D (tables)`, T an input, D without
  `columnLineage`.

A table-level source into a field (`T -> D#f`) has no OpenLineage form (an
input field needs a field); it is kept in the evidence facet of D's event
and counted in `ExportReport.unrepresentable`.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from analyzers.openlineage.naming import split_asset
from analyzers.openlineage.transformations import transformation_of

SPEC_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
SCHEMA_FACET_URL = "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json"
LINEAGE_FACET_URL = "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json"
EVIDENCE_FACET_URL = (
    "https://lineage-stream.dev/spec/facets/1-0-0/LineageStreamEvidenceDatasetFacet.json")
EVIDENCE_FACET = "lineageStream_evidence"
#: The `producer` of every event and facet we write.
PRODUCER = "https://lineage-stream.dev/openlineage"
JOB_NAMESPACE = "lineage-stream"


@dataclass
class ExportReport:
    events: list[dict[str, Any]] = field(default_factory=list)
    edges: int = 0
    unrepresentable: int = 0


def iso_time(ms: int) -> str:
    """Epoch milliseconds as the ISO 8601 UTC `eventTime`."""
    when = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _facet(url: str, definition: str, **body: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": f"{url}#/$defs/{definition}", **body}


def _schema(fields: Iterable[str]) -> dict[str, Any]:
    return _facet(SCHEMA_FACET_URL, "SchemaDatasetFacet",
                  fields=[{"name": f} for f in sorted(set(fields))])


def _transformations(edge: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [transformation_of(kind, False) for kind in edge.get("kinds") or ["TRANSFORMATION"]]


def _evidence(edges: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    return _facet(EVIDENCE_FACET_URL, "LineageStreamEvidenceDatasetFacet", edges=[
        {"source": e["src"], "target": e["dst"], "confidence": e["confidence"],
         "score": e["score"], "kinds": list(e.get("kinds") or []),
         "evidence": dict(e.get("evidence") or {}),
         "first_seen": e.get("first_seen", 0), "last_seen": e.get("last_seen", 0)}
        for e in edges])


def _input_field(asset: str, edge: Mapping[str, Any]) -> dict[str, Any]:
    namespace, name, field_ = split_asset(asset)
    return {"namespace": namespace, "name": name, "field": field_,
            "transformations": _transformations(edge)}


def _inputs(edges: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    fields: dict[str, set[str]] = defaultdict(set)
    for edge in edges:
        table, _, field_ = edge["src"].partition("#")
        fields[table]
        if field_:
            fields[table].add(field_)
    inputs = []
    for table in sorted(fields):
        namespace, name, _ = split_asset(table)
        dataset: dict[str, Any] = {"namespace": namespace, "name": name}
        if fields[table]:
            dataset["facets"] = {"schema": _schema(fields[table])}
        inputs.append(dataset)
    return inputs


def _event(job: str, edges: list[Mapping[str, Any]], output: dict[str, Any]) -> dict[str, Any]:
    return {
        "eventTime": iso_time(max(int(e.get("last_seen") or 0) for e in edges)),
        "producer": PRODUCER,
        "schemaURL": f"{SPEC_URL}#/$defs/JobEvent",
        "job": {"namespace": JOB_NAMESPACE, "name": job},
        "inputs": _inputs(edges),
        "outputs": [output],
    }


def _output(table: str, facets: dict[str, Any]) -> dict[str, Any]:
    namespace, name, _ = split_asset(table)
    return {"namespace": namespace, "name": name, "facets": facets}


#: The job name suffixes of a destination's events (see the module docstring).
VARIANTS = ("", " (dataset)", " (tables)")


def table_events(table: str, edges: Iterable[Mapping[str, Any]], *,
                 with_empty: bool = False) -> tuple[list[dict[str, Any]], int]:
    """The events of one destination dataset, and how many edges had no OpenLineage form.

    `with_empty` adds an event with no inputs for each variant that has no
    edges (left after a delete), so that a consumer drops what it had.
    """
    group = sorted(edges, key=lambda e: (e["dst"], e["src"]))
    to_fields = [e for e in group if "#" in e["dst"] and "#" in e["src"]]
    blind = [e for e in group if "#" in e["dst"] and "#" not in e["src"]]
    to_table = [e for e in group if "#" not in e["dst"] and "#" in e["src"]]
    tables = [e for e in group if "#" not in e["dst"] and "#" not in e["src"]]
    events: dict[str, dict[str, Any]] = {}
    if to_fields or blind:
        columns: dict[str, dict[str, Any]] = {}
        for edge in to_fields:
            target = edge["dst"].partition("#")[2]
            columns.setdefault(target, {"inputFields": []})["inputFields"].append(
                _input_field(edge["src"], edge))
        facets = {
            "schema": _schema(e["dst"].partition("#")[2] for e in [*to_fields, *blind]),
            "columnLineage": _facet(LINEAGE_FACET_URL, "ColumnLineageDatasetFacet",
                                    fields=columns),
            EVIDENCE_FACET: _evidence([*to_fields, *blind]),
        }
        events[""] = _event(table, to_fields or blind, _output(table, facets))
    if to_table:
        facets = {
            "columnLineage": _facet(LINEAGE_FACET_URL, "ColumnLineageDatasetFacet", fields={},
                                    dataset=[_input_field(e["src"], e) for e in to_table]),
            EVIDENCE_FACET: _evidence(to_table),
        }
        events[" (dataset)"] = _event(f"{table} (dataset)", to_table, _output(table, facets))
    if tables:
        facets = {EVIDENCE_FACET: _evidence(tables)}
        events[" (tables)"] = _event(f"{table} (tables)", tables, _output(table, facets))
    if with_empty:
        for variant in VARIANTS:
            if variant not in events:
                events[variant] = _empty_event(table + variant, table, group)
    return [events[v] for v in VARIANTS if v in events], len(blind)


def _empty_event(job: str, table: str, edges: list[Mapping[str, Any]]) -> dict[str, Any]:
    last = max((int(e.get("last_seen") or 0) for e in edges), default=0)
    event = _event(job, [{"src": table, "last_seen": last}], _output(table, {}))
    event["inputs"] = []
    return event


def graph_events(edges: Iterable[Mapping[str, Any]]) -> ExportReport:
    """The graph's live edges (as `lineage-graph` upserts) as OpenLineage JobEvents."""
    by_table: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    report = ExportReport()
    for edge in edges:
        by_table[edge["dst"].partition("#")[0]].append(edge)
        report.edges += 1
    for table in sorted(by_table):
        events, blind = table_events(table, by_table[table])
        report.events += events
        report.unrepresentable += blind
    return report


TAGS_FACET_URL = "https://openlineage.io/spec/facets/1-0-0/TagsDatasetFacet.json"
DATASET_SPEC = f"{SPEC_URL}#/$defs/DatasetEvent"


def violation_tags_event(table: str, violations: Iterable[Mapping[str, Any]],
                         ts: int) -> dict[str, Any]:
    """A DatasetEvent tagging `table` with its open policy violations (none: no tags).

    One tag per open violation: key `privacy_violation`, value the policy id,
    `field` the sink's field when the sink is a field.
    """
    tags = []
    for violation in sorted(violations, key=lambda v: (v["policy_id"], v["sink"])):
        if violation.get("status") != "open":
            continue
        tag = {"key": "privacy_violation", "value": violation["policy_id"],
               "source": "lineage-stream"}
        field_ = violation["sink"].partition("#")[2]
        if field_:
            tag["field"] = field_
        tags.append(tag)
    namespace, name, _ = split_asset(table)
    return {
        "eventTime": iso_time(ts), "producer": PRODUCER, "schemaURL": DATASET_SPEC,
        "dataset": {"namespace": namespace, "name": name, "facets": {
            "tags": _facet(TAGS_FACET_URL, "TagsDatasetFacet", tags=tags)}},
    }
