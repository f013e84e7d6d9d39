"""A capture's payload bytes, shared by the probe join and `lineage match`."""

from __future__ import annotations

import doctest

import pytest

from analyzers import payloads
from analyzers.payloads import PayloadError, payload_bytes


def test_doctests() -> None:
    assert doctest.testmod(payloads).failed == 0


@pytest.mark.parametrize(
    ("capture", "message"),
    [
        ({"payload_b64": 7}, "payload_b64 must be a base64 string"),
        ({"payload_b64": "not base64!"}, "payload_b64 is not valid base64"),
        ({"asset": "a://x"}, "has neither payload nor payload_b64"),
        ({"payload": {1, 2}}, "payload cannot be serialized as JSON"),
    ],
)
def test_errors_name_the_field_not_the_value(capture: dict[str, object], message: str) -> None:
    with pytest.raises(PayloadError) as info:
        payload_bytes(capture)
    assert str(info.value) == message


def test_payload_b64_wins_over_payload() -> None:
    assert payload_bytes({"payload": "x", "payload_b64": "eQ=="}) == b"y"
