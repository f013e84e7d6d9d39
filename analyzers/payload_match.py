"""Payload matching of one request document, as `lineage match` prints it.

The document names each capture by its asset and holds its payload (any JSON
value) or `payload_b64` (raw bytes, for binary data)::

    {"sources": [{"asset": ..., "payload": ...}], "sinks": [...]}

Payload values are serialized as JSON text (so a string payload, even one
that holds JSON, is one top-level string leaf) and matched by `matcher_rs`.
Errors name the position of a bad capture, never a payload value.

>>> doc = {"sources": [{"asset": "web://photos-web/handlePhotoUpload",
...                     "payload": {"location": "Home, 123 Main St"}}],
...        "sinks": [{"asset": "scribe://logs/photo_uploaded",
...                   "payload": "uploaded at Home, 123 Main St"}]}
>>> match_document(doc)  # doctest: +NORMALIZE_WHITESPACE
{'matches': [{'source': 'web://photos-web/handlePhotoUpload#location',
              'sink': 'scribe://logs/photo_uploaded', 'kind': 'CONTAINS', 'transform': None}],
 'nomatch': []}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matcher_rs
from analyzers.payloads import PayloadError, payload_bytes
from analyzers.runtime import field_asset


class PayloadMatchError(ValueError):
    """The request document is not shaped as `lineage match` expects."""


def _capture(side: str, index: int, item: Any) -> tuple[str, bytes]:
    where = f"{side}[{index}]"
    if not isinstance(item, dict):
        raise PayloadMatchError(f"{where} must be an object with asset and payload")
    asset = item.get("asset")
    if not isinstance(asset, str) or not asset:
        raise PayloadMatchError(f"{where}.asset must be a non-empty string")
    try:
        return asset, payload_bytes(item)
    except PayloadError as exc:
        at = f"{where}.{exc.field}" if exc.field else where
        raise PayloadMatchError(f"{at} {exc.problem}") from None


def _captures(doc: dict[str, Any], side: str) -> list[tuple[str, bytes]]:
    items = doc.get(side, [])
    if not isinstance(items, list):
        raise PayloadMatchError(f"{side} must be a list")
    return [_capture(side, i, item) for i, item in enumerate(items)]


def match_document(
    doc: Any,
    *,
    min_length: int = matcher_rs.DEFAULT_MIN_LENGTH,
    transforms: Sequence[str] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Match one request document; the `lineage match` output.

    Matches are one per (source field, sink field, kind, transform), in the
    matcher's order. `nomatch` lists (source asset, sink asset) pairs whose
    captures share no value, unless another capture pair of the same assets
    matched.

    Raises:
        PayloadMatchError: The document is not shaped as expected.
    """
    if not isinstance(doc, dict):
        raise PayloadMatchError("the document must be an object with sources and sinks")
    sources = _captures(doc, "sources")
    sinks = _captures(doc, "sinks")
    try:
        [result] = matcher_rs.match_requests(
            [([p for _, p in sources], [p for _, p in sinks])],
            min_length=min_length,
            transforms=transforms,
        )
    except ValueError as exc:  # an unknown transform name
        raise PayloadMatchError(str(exc)) from None
    matches: dict[tuple[str, str, str, str | None], None] = {}
    matched_assets: set[tuple[str, str]] = set()
    for si, spath, ki, kpath, kind, transform in result.matches:
        src, dst = sources[si][0], sinks[ki][0]
        matches[(field_asset(src, spath), field_asset(dst, kpath), kind, transform)] = None
        matched_assets.add((src, dst))
    nomatch: dict[tuple[str, str], None] = {}
    for si, ki in result.nomatch:
        pair = (sources[si][0], sinks[ki][0])
        if pair not in matched_assets:
            nomatch[pair] = None
    return {
        "matches": [
            {"source": s, "sink": k, "kind": kind, "transform": t} for s, k, kind, t in matches
        ],
        "nomatch": [{"source": s, "sink": k} for s, k in nomatch],
    }
