"""Precise mode (`match: value`): does a sink's payload carry a value the request read?

The pipeline's matcher semantics, cut down to what a decision in the request
needs: a value read from a zone field is found in a sink payload verbatim,
inside a longer string, or through a transform (lower-case, URL or base64
encoding, MD5/SHA-1/SHA-256 hex). Values shorter than `MIN_LENGTH` are not
evidence (as the matcher's `min_length`). The values stay in the request's
memory; nothing here is logged or sent.

>>> needles = needles_of(["Valparaiso"])
>>> carries({"segment": "valparaiso"}, needles), carries({"segment": "generic"}, needles)
(True, False)
>>> import hashlib
>>> carries(hashlib.sha256(b"Valparaiso").hexdigest(), needles)
True

A read that is not rows (a route's inputs, a consumed message, a cache read)
gives a JSON-like payload; `zone_values` takes the leaves under the zone's
fields, named as the pipeline names them (keys joined with `.`, list
positions as `[]`):

>>> zone_values({"user": {"city": "Valparaiso", "id": 7}, "tags": ["a"]}, frozenset({"user.city"}))
('user.city', ['Valparaiso'])
>>> zone_values({"note": "hi"}, frozenset({"user.city"}))
(None, [])
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Set
from typing import Any
from urllib.parse import quote

MIN_LENGTH = 4
#: At most this many values are kept per request and policy (the rest taint the
#: request as a whole: blocked at request level, never let through).
MAX_VALUES = 256
#: Deeper than this a payload's leaves are not looked at (the matcher's flattening stops too).
_MAX_DEPTH = 64
#: Text that `quote(text, safe="")` returns unchanged.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*").fullmatch


def usable(value: Any) -> str | None:
    """A read value as text, or None when it is too short or not a scalar to look for."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value) if isinstance(value, str | int | float) else None
    return text if text is not None and len(text) >= MIN_LENGTH else None


def leaves(payload: Any, path: str = "", depth: int = 0) -> Iterator[tuple[str, Any]]:
    """(path, scalar) for each leaf of a JSON-like payload."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(payload, dict):
        for key, value in payload.items():
            yield from leaves(value, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(payload, list | tuple):
        for value in payload:
            yield from leaves(value, f"{path}[]", depth + 1)
    else:
        yield path, payload


def _under(path: str, zone_fields: Set[str]) -> str | None:
    """The zone field `path` is or lies below (`a.b` under `a`, `a[].b` under `a[]`), or None."""
    if path in zone_fields:
        return path
    for cut, char in enumerate(path):
        if char in ".[" and path[:cut] in zone_fields:
            return path[:cut]
    return None


def _top_level(zone_fields: Set[str]) -> bool:
    """Whether every zone field is a plain top-level name (no `.` or `[]` in it)."""
    return not any("." in f or "[" in f for f in zone_fields)


def _zone_leaves(payload: Any, zone_fields: Set[str] | None) -> Iterator[tuple[str, Any]]:
    """The leaves `zone_values` must look at: all of them, or, for a dict whose keys are
    plain names and zone fields that are too, only those under a zone field (a leaf
    below another key has a path no such field can be or lie above)."""
    if zone_fields is None or not isinstance(payload, dict) or not _top_level(zone_fields) \
            or any(not isinstance(k, str) or "." in k or "[" in k for k in payload):
        yield from leaves(payload)
        return
    for key, value in payload.items():
        if key in zone_fields:
            yield from leaves(value, key, 1)


def zone_values(payload: Any, zone_fields: Set[str] | None) -> tuple[str | None, list[str]]:
    """The first zone field `payload` holds (None: none; "" for the whole payload when
    `zone_fields` is None, the asset itself being in the zone) and the usable values of
    every leaf under a zone field, at most `MAX_VALUES + 1` (more: too many to keep)."""
    hit: str | None = None
    found: list[str] = []
    for path, value in _zone_leaves(payload, zone_fields):
        field = "" if zone_fields is None else _under(path, zone_fields)
        if field is None:
            continue
        if hit is None:
            hit = field
        text = usable(value)
        if text is not None:
            found.append(text)
            if len(found) > MAX_VALUES:
                break
    return hit, found


def needles_of(values: Iterable[str]) -> frozenset[str]:
    """Every form in which a value may appear in a payload (lower-cased text)."""
    out: set[str] = set()
    for value in values:
        raw = value.encode("utf-8")
        out.add(value.lower())
        if not _UNRESERVED(value):  # else URL encoding leaves it as it is
            out.add(quote(value, safe="").lower())
        out.add(base64.b64encode(raw).decode("ascii").rstrip("=").lower())
        out.add(hashlib.md5(raw).hexdigest())
        out.add(hashlib.sha1(raw).hexdigest())
        out.add(hashlib.sha256(raw).hexdigest())
    return frozenset(out)


def _text(payload: Any) -> str:
    if isinstance(payload, bytes | bytearray):
        return bytes(payload).decode("utf-8", "replace")
    if isinstance(payload, str):
        return payload
    return json.dumps(payload, default=str, ensure_ascii=False)


def carries(payload: Any, needles: Set[str]) -> bool:
    """Whether the payload holds one of the needles (compared lower-cased)."""
    if not needles:
        return False
    text = _text(payload).lower()
    return any(needle in text for needle in needles)
