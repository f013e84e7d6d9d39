"""OpenLineage column-lineage transformations <-> our signal kinds.

OpenLineage's `transformations` (`type`, `subtype`, `masking`) are the very
vocabulary the SQL analyzer speaks (docs/SQL.md), so the map is one to one;
only what the spec leaves open needs a rule: an unknown DIRECT subtype is a
`TRANSFORMATION`, an unknown INDIRECT one a `FILTER` (every INDIRECT kind
weighs the same), and the deprecated field-level `transformationType`
(`IDENTITY` / `MASKED`) is read when no `transformations` are given.

>>> kinds_of({"transformations": [{"type": "DIRECT", "subtype": "AGGREGATION", "masking": True}]})
[('AGGREGATION', True)]
>>> kinds_of({}, legacy="MASKED")
[('TRANSFORMATION', True)]
>>> transformation_of("JOIN", False)
{'type': 'INDIRECT', 'subtype': 'JOIN', 'masking': False}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analyzers.signals import SQL_DIRECT, SQL_INDIRECT

DEFAULT_DIRECT = "TRANSFORMATION"
DEFAULT_INDIRECT = "FILTER"


def _kind(transformation: Mapping[str, Any]) -> tuple[str, bool]:
    kind_type = str(transformation.get("type", "")).upper()
    subtype = str(transformation.get("subtype") or "").upper()
    masking = transformation.get("masking") is True
    if kind_type == "INDIRECT":
        return (subtype if subtype in SQL_INDIRECT else DEFAULT_INDIRECT), masking
    return (subtype if subtype in SQL_DIRECT else DEFAULT_DIRECT), masking


def kinds_of(input_field: Mapping[str, Any], legacy: str | None = None) -> list[tuple[str, bool]]:
    """(kind, masking) of each transformation of one `inputFields` entry (at least one)."""
    transformations = input_field.get("transformations")
    if transformations:
        return list(dict.fromkeys(_kind(t) for t in transformations))
    legacy = (legacy or "").upper()
    if legacy == "IDENTITY":
        return [("IDENTITY", False)]
    return [(DEFAULT_DIRECT, legacy == "MASKED")]


def transformation_of(kind: str, masking: bool) -> dict[str, Any]:
    """The OpenLineage transformation our `kind` stands for (export).

    `MASKED` (a masked flow whose subtype we no longer know) goes out as a
    masked DIRECT TRANSFORMATION; non-SQL kinds (runtime, config, static)
    as DIRECT with our kind as the subtype, so a reader keeps the detail.
    """
    if kind in SQL_INDIRECT:
        return {"type": "INDIRECT", "subtype": kind, "masking": masking}
    if kind == "MASKED":
        return {"type": "DIRECT", "subtype": "TRANSFORMATION", "masking": True}
    return {"type": "DIRECT", "subtype": kind, "masking": masking}
