"""analyzers.payload_match: the `lineage match` document logic."""

from __future__ import annotations

import base64
import doctest
from typing import Any

import pytest

import analyzers.payload_match as payload_match
from analyzers.payload_match import PayloadMatchError, match_document

CONTRACT_INPUT = {
    "sources": [
        {
            "asset": "web://photos-web/handlePhotoUpload",
            "payload": {"location": "Home, 123 Main St"},
        }
    ],
    "sinks": [
        {"asset": "scribe://logs/photo_uploaded", "payload": "uploaded at Home, 123 Main St"}
    ],
}
CONTRACT_OUTPUT = {
    "matches": [
        {
            "source": "web://photos-web/handlePhotoUpload#location",
            "sink": "scribe://logs/photo_uploaded",
            "kind": "CONTAINS",
            "transform": None,
        }
    ],
    "nomatch": [],
}


def test_contract_example() -> None:
    assert match_document(CONTRACT_INPUT) == CONTRACT_OUTPUT


def test_doctests() -> None:
    assert doctest.testmod(payload_match).failed == 0


def test_paths_transforms_and_nomatch() -> None:
    doc = {
        "sources": [
            {"asset": "web://a/in", "payload": {"user": {"email": "Alice@Example.com"}}},
            {"asset": "web://a/other", "payload": {"n": "unrelated-value"}},
        ],
        "sinks": [
            {"asset": "mysql://db/t.users", "payload": {"rows": [{"email": "alice@example.com"}]}},
        ],
    }
    out = match_document(doc)
    assert out["matches"] == [
        {
            "source": "web://a/in#user.email",
            "sink": "mysql://db/t.users#rows[].email",
            "kind": "EXACT_MATCH",
            "transform": "lowercase",
        }
    ]
    assert out["nomatch"] == [{"source": "web://a/other", "sink": "mysql://db/t.users"}]


def test_a_string_payload_holding_json_is_still_a_string() -> None:
    doc = {
        "sources": [{"asset": "web://a/in", "payload": '{"k": "secret-value"}'}],
        "sinks": [{"asset": "scribe://l", "payload": {"k": "secret-value"}}],
    }
    out = match_document(doc)
    # The source is one top-level string leaf: the sink's "k" leaf is a piece of it.
    assert out["matches"] == []


def test_payload_b64_is_raw_bytes() -> None:
    raw = b"\x00\x01binary secret-value\xff"
    doc = {
        "sources": [{"asset": "web://a/in", "payload": "secret-value"}],
        "sinks": [{"asset": "blob://b", "payload_b64": base64.b64encode(raw).decode()}],
    }
    out = match_document(doc)
    assert out["matches"][0]["sink"] == "blob://b"
    assert out["matches"][0]["kind"] == "CONTAINS"


def test_short_and_common_values_match_nothing() -> None:
    doc = {
        "sources": [{"asset": "web://a", "payload": {"c": "US", "b": True, "n": 1}}],
        "sinks": [{"asset": "scribe://l", "payload": {"c": "US", "b": True, "n": 1}}],
    }
    assert match_document(doc)["nomatch"] == [{"source": "web://a", "sink": "scribe://l"}]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "must be an object"),
        ({"sources": {}}, "sources must be a list"),
        ({"sources": ["x"]}, r"sources\[0\] must be an object"),
        ({"sinks": [{"payload": 1}]}, r"sinks\[0\].asset"),
        ({"sinks": [{"asset": "a"}]}, "neither payload"),
        ({"sinks": [{"asset": "a", "payload_b64": "%%%"}]}, "not valid base64"),
    ],
)
def test_bad_documents(doc: Any, message: str) -> None:
    with pytest.raises(PayloadMatchError, match=message):
        match_document(doc)


def test_errors_never_carry_payload_values() -> None:
    doc = {"sinks": [{"asset": "a", "payload_b64": "top-secret-value!"}]}
    with pytest.raises(PayloadMatchError) as info:
        match_document(doc)
    assert "top-secret" not in str(info.value)
