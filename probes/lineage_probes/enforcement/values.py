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
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Set
from typing import Any
from urllib.parse import quote

MIN_LENGTH = 4
#: At most this many values are kept per request and policy (the rest taint the
#: request as a whole: blocked at request level, never let through).
MAX_VALUES = 256


def usable(value: Any) -> str | None:
    """A read value as text, or None when it is too short or not a scalar to look for."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value) if isinstance(value, str | int | float) else None
    return text if text is not None and len(text) >= MIN_LENGTH else None


def needles_of(values: Iterable[str]) -> frozenset[str]:
    """Every form in which a value may appear in a payload (lower-cased text)."""
    out: set[str] = set()
    for value in values:
        raw = value.encode("utf-8")
        out.add(value.lower())
        out.add(quote(value, safe="").lower())
        out.add(base64.b64encode(raw).decode("ascii").rstrip("=").lower())
        for algorithm in ("md5", "sha1", "sha256"):
            out.add(hashlib.new(algorithm, raw).hexdigest())
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
