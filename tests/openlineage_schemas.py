"""Validate against OpenLineage's published JSON schemas, vendored in tests/fixtures/openlineage.

Every schema (the spec, the facets, the project's own `lineageStream_evidence`
facet) is registered under its `$id`, so `$ref`s between them resolve
offline. `check_event(event)` validates an event against the spec and each
facet it carries whose schema is known; it returns the facet names checked.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

ROOT = Path(__file__).resolve().parents[1]
VENDORED = ROOT / "tests" / "fixtures" / "openlineage"
OWN = ROOT / "analyzers" / "openlineage" / "schemas"


@cache
def _schemas() -> dict[str, dict[str, Any]]:
    """`$id` -> schema, for every schema file we have."""
    files = [VENDORED / "OpenLineage.json", *sorted((VENDORED / "facets").glob("*.json")),
             *sorted(OWN.glob("*.json"))]
    loaded = [json.loads(p.read_text()) for p in files]
    return {s["$id"]: s for s in loaded}


@cache
def _registry() -> Registry:
    return Registry().with_resources(
        (sid, Resource.from_contents(schema)) for sid, schema in _schemas().items())


@cache
def _facet_schemas() -> dict[str, str]:
    """Facet name (e.g. `columnLineage`) -> the `$id` of the schema that defines it."""
    return {name: sid for sid, schema in _schemas().items()
            for name in schema.get("properties", {})}


def validator(schema_id: str) -> Draft202012Validator:
    return Draft202012Validator(_schemas()[schema_id], registry=_registry())


SPEC_ID = "https://openlineage.io/spec/2-0-2/OpenLineage.json"


def _facet_maps(event: dict[str, Any]) -> list[dict[str, Any]]:
    maps = [event.get("job", {}).get("facets") or {}, event.get("run", {}).get("facets") or {}]
    datasets = [*event.get("inputs", []), *event.get("outputs", [])]
    if "dataset" in event:
        datasets.append(event["dataset"])
    maps += [d.get("facets") or {} for d in datasets]
    return maps


def check_event(event: dict[str, Any]) -> set[str]:
    """Raise jsonschema.ValidationError unless `event` and its known facets are valid."""
    validator(SPEC_ID).validate(event)
    checked = set()
    known = _facet_schemas()
    for facets in _facet_maps(event):
        for name, facet in facets.items():
            if name in known:
                validator(known[name]).validate({name: facet})
                checked.add(name)
    return checked
