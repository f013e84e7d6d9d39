"""A capture's payload as the matcher reads it: `payload_b64` decoded, else `payload` as JSON.

Probe events and `lineage match` documents carry a payload the same way: any
JSON value under `payload` (matched as its JSON text, so a string payload is
one top-level string leaf), or raw bytes, base64-encoded, under `payload_b64`.
Errors name the field, never the value.

>>> payload_bytes({"payload": {"loc": "Home"}}), payload_bytes({"payload_b64": "AHJhdw=="})
(b'{"loc":"Home"}', b'\\x00raw')
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

import orjson


class PayloadError(ValueError):
    """A capture's payload cannot be read; the message names the field only.

    `field` is the capture's field at fault (None: neither is there).
    """

    def __init__(self, field: str | None, problem: str) -> None:
        super().__init__(f"{field} {problem}" if field else problem)
        self.field = field
        self.problem = problem


def payload_bytes(capture: Mapping[str, object]) -> bytes:
    """The bytes to match of `capture` (`payload_b64` wins when both are there)."""
    if "payload_b64" in capture:
        encoded = capture["payload_b64"]
        if not isinstance(encoded, str):
            raise PayloadError("payload_b64", "must be a base64 string")
        try:
            return base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise PayloadError("payload_b64", "is not valid base64") from None
    if "payload" not in capture:
        raise PayloadError(None, "has neither payload nor payload_b64")
    try:
        return orjson.dumps(capture["payload"])
    except orjson.JSONEncodeError:
        raise PayloadError("payload", "cannot be serialized as JSON") from None
