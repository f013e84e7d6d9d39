"""OpenLineage events for the unit tests, as plain dicts (the wire shape)."""

from __future__ import annotations

import copy
from typing import Any

SPEC = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
RUN_ID = "3b452093-782c-4ef2-9c0c-aafe2aa6f34d"
PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/integration/spark"
WH = "hive://warehouse"


def facet(**body: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": "https://openlineage.io/spec/facets/x.json",
            **body}


def schema(*names: str) -> dict[str, Any]:
    return facet(fields=[{"name": n, "type": "string"} for n in names])


def ref(name: str, field: str, kind: str = "DIRECT", subtype: str | None = "IDENTITY",
        masking: bool = False, namespace: str = WH) -> dict[str, Any]:
    t: dict[str, Any] = {"type": kind, "masking": masking}
    if subtype is not None:
        t["subtype"] = subtype
    return {"namespace": namespace, "name": name, "field": field, "transformations": [t]}


def dataset(name: str, namespace: str = WH, **facets: Any) -> dict[str, Any]:
    return {"namespace": namespace, "name": name, "facets": facets}


def run_event(event_type: str = "COMPLETE", *, inputs: list[dict[str, Any]] | None = None,
              outputs: list[dict[str, Any]] | None = None, sql: str | None = None,
              run_id: str = RUN_ID, time: str = "2026-01-01T00:00:00Z") -> dict[str, Any]:
    job: dict[str, Any] = {"namespace": "spark", "name": "job"}
    if sql is not None:
        job["facets"] = {"sql": facet(query=sql)}
    return {"schemaURL": SPEC, "eventTime": time, "producer": PRODUCER, "eventType": event_type,
            "run": {"runId": run_id}, "job": job, "inputs": inputs or [],
            "outputs": outputs or []}


def job_event(**kwargs: Any) -> dict[str, Any]:
    event = run_event(**kwargs)
    del event["run"], event["eventType"]
    event["schemaURL"] = event["schemaURL"].replace("RunEvent", "JobEvent")
    return event


def changed(event: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy with `a.b.0.c` set to `value` (deleted when value is ...)."""
    out = copy.deepcopy(event)
    *parents, last = path.split(".")
    node: Any = out
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is ...:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return out
