"""Check an OpenLineage event (spec 2-0-x) before it is used: one-line reasons.

Hand-written rather than a JSON-schema validator: it runs on every event of
the HTTP intake and the `openlineage-events` agent, checks only what the
mapping relies on (plus `schemaURL`, `eventTime`, `producer`), and says in
one line which field is wrong, never quoting a value. Unknown facets pass
(kept and ignored); a known facet of the wrong shape is an error. Caps bound
what one event may hold.

>>> kind_of({"schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
...          "eventTime": "2024-01-01T00:00:00Z", "producer": "https://x",
...          "run": {"runId": "3b452093-782c-4ef2-9c0c-aafe2aa6f34d"},
...          "job": {"namespace": "n", "name": "j"}})
'RunEvent'
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

from analyzers.events import InvalidEvent

#: Spec versions taken: 2-0-x (the JSON schema's `$id` and what clients put in `schemaURL`).
SCHEMA_URL = re.compile(r"^https?://openlineage\.io/spec/2-0-\d+/OpenLineage\.json(#.*)?$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}(-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}$")
EVENT_TYPES = frozenset({"START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"})

#: Caps on one event: datasets (inputs + outputs), column-lineage input
#: references, schema fields per dataset.
MAX_DATASETS = 1_000
MAX_LINEAGE_REFS = 50_000
MAX_SCHEMA_FIELDS = 5_000


def _bad(reason: str) -> InvalidEvent:
    return InvalidEvent(f"openlineage: {reason}")


def _str(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _object(where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(f"{where} must be an object")
    return value


def _list(where: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise _bad(f"{where} must be an array")
    return value


def _name_pair(where: str, value: Any) -> None:
    obj = _object(where, value)
    for key in ("namespace", "name"):
        if not _str(obj.get(key)):
            raise _bad(f"{where}.{key} must be a non-empty string")


def decode(raw: bytes | str | None) -> Any:
    """Parse a body or message; the reason names the position, not the text."""
    if raw is None or raw in (b"", ""):
        raise _bad("empty message")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _bad(f"not valid JSON (at char {exc.pos})") from None


def event_time_ms(value: Any) -> int:
    """`eventTime` (ISO 8601 with a zone) as epoch milliseconds."""
    if not isinstance(value, str):
        raise _bad("field 'eventTime' must be an ISO 8601 date-time string")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise _bad("field 'eventTime' is not an ISO 8601 date-time") from None
    if when.tzinfo is None:
        raise _bad("field 'eventTime' must carry a time zone")
    return int(when.timestamp() * 1000)


def kind_of(event: Any) -> str:
    """Validate `event`; return `RunEvent`, `JobEvent` or `DatasetEvent`. Raises InvalidEvent."""
    if not isinstance(event, dict):
        raise _bad("event is not a JSON object")
    url = event.get("schemaURL")
    if not isinstance(url, str) or not SCHEMA_URL.match(url):
        raise _bad("field 'schemaURL' must be https://openlineage.io/spec/2-0-N/OpenLineage.json")
    event_time_ms(event.get("eventTime"))
    if not _str(event.get("producer")):
        raise _bad("field 'producer' must be a non-empty string (a URI)")
    if "run" in event or "eventType" in event:
        kind = "RunEvent"
        run = _object("field 'run'", event.get("run"))
        if "runId" not in run:
            raise _bad("RunEvent: missing field 'run.runId'")
        if not isinstance(run["runId"], str) or not _UUID.match(run["runId"]):
            raise _bad("RunEvent: field 'run.runId' must be a UUID string")
        _facets("run.facets", run.get("facets"), {})
        event_type = event.get("eventType")
        if event_type is not None and event_type not in EVENT_TYPES:
            allowed = ", ".join(sorted(EVENT_TYPES))
            raise _bad(f"RunEvent: field 'eventType' must be one of {allowed}")
    elif "job" in event:
        kind = "JobEvent"
    elif "dataset" in event:
        _name_pair("field 'dataset'", event["dataset"])
        _dataset_facets("dataset", event["dataset"])
        return "DatasetEvent"
    else:
        raise _bad("event has none of 'run', 'job' or 'dataset'")
    _name_pair(f"{kind}: field 'job'", event.get("job"))
    _facets("job.facets", event["job"].get("facets"), _JOB_FACETS)
    _datasets(event)
    return kind


def _datasets(event: dict[str, Any]) -> None:
    total = 0
    refs = 0
    for side, extra in (("inputs", "inputFacets"), ("outputs", "outputFacets")):
        items = event.get(side)
        if items is None:
            continue
        items = _list(f"field {side!r}", items)
        total += len(items)
        if total > MAX_DATASETS:
            raise _bad(f"more than {MAX_DATASETS} datasets in one event (inputs + outputs)")
        for i, dataset in enumerate(items):
            where = f"{side}[{i}]"
            _name_pair(where, dataset)
            refs += _dataset_facets(where, dataset)
            _facets(f"{where}.{extra}", dataset.get(extra), {})
    if refs > MAX_LINEAGE_REFS:
        raise _bad(f"more than {MAX_LINEAGE_REFS} column-lineage input fields in one event")


def _dataset_facets(where: str, dataset: dict[str, Any]) -> int:
    """Check a dataset's facets; return how many column-lineage input fields it has."""
    facets = _facets(f"{where}.facets", dataset.get("facets"), _DATASET_FACETS)
    lineage = facets.get("columnLineage")
    if not isinstance(lineage, dict):
        return 0
    refs = len(lineage.get("dataset") or ())
    for entry in lineage["fields"].values():
        refs += len(entry["inputFields"])
    return refs


def _facets(where: str, value: Any, known: dict[str, Callable[[str, Any], None]]) -> dict[str, Any]:
    if value is None:
        return {}
    facets = _object(where, value)
    for name, facet in facets.items():
        _object(f"facet '{where}.{name}'", facet)
        check = known.get(name)
        if check is not None:
            check(f"facet '{where}.{name}'", facet)
    return facets


def _input_field(where: str, value: Any) -> None:
    obj = _object(where, value)
    for key in ("namespace", "name", "field"):
        if not _str(obj.get(key)):
            raise _bad(f"{where}.{key} must be a non-empty string")
    transformations = obj.get("transformations")
    if transformations is not None:
        for j, item in enumerate(_list(f"{where}.transformations", transformations)):
            t = _object(f"{where}.transformations[{j}]", item)
            if not isinstance(t.get("type"), str):
                raise _bad(f"{where}.transformations[{j}].type must be a string")
            if "masking" in t and not isinstance(t["masking"], bool):
                raise _bad(f"{where}.transformations[{j}].masking must be a boolean")


def _column_lineage(where: str, facet: dict[str, Any]) -> None:
    fields = _object(f"{where}.fields", facet.get("fields"))
    for name, entry in fields.items():
        at = f"{where}.fields[{name[:40]!r}]"
        inputs = _list(f"{at}.inputFields", _object(at, entry).get("inputFields"))
        for i, ref in enumerate(inputs):
            _input_field(f"{at}.inputFields[{i}]", ref)
    for i, ref in enumerate(_list(f"{where}.dataset", facet.get("dataset") or [])):
        _input_field(f"{where}.dataset[{i}]", ref)


def _schema_fields(where: str, fields: Any, depth: int = 0) -> int:
    count = 0
    for i, item in enumerate(_list(where, fields)):
        obj = _object(f"{where}[{i}]", item)
        if not _str(obj.get("name")):
            raise _bad(f"{where}[{i}].name must be a non-empty string")
        count += 1
        if "fields" in obj and depth < 8:
            count += _schema_fields(f"{where}[{i}].fields", obj["fields"], depth + 1)
    return count


def _schema(where: str, facet: dict[str, Any]) -> None:
    if "fields" in facet and _schema_fields(f"{where}.fields", facet["fields"]) > MAX_SCHEMA_FIELDS:
        raise _bad(f"{where} lists more than {MAX_SCHEMA_FIELDS} fields")


def _symlinks(where: str, facet: dict[str, Any]) -> None:
    for i, ident in enumerate(_list(f"{where}.identifiers", facet.get("identifiers") or [])):
        _name_pair(f"{where}.identifiers[{i}]", ident)
        if not isinstance(ident.get("type"), str):
            raise _bad(f"{where}.identifiers[{i}].type must be a string")


def _sql(where: str, facet: dict[str, Any]) -> None:
    if not isinstance(facet.get("query"), str):
        raise _bad(f"{where}.query must be a string")
    if "dialect" in facet and not isinstance(facet["dialect"], str):
        raise _bad(f"{where}.dialect must be a string")


_DATASET_FACETS: dict[str, Callable[[str, Any], None]] = {
    "columnLineage": _column_lineage, "schema": _schema, "symlinks": _symlinks,
}
_JOB_FACETS: dict[str, Callable[[str, Any], None]] = {"sql": _sql}
