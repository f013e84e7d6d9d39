"""Property test: the Rust matcher agrees with the pure-Python reference."""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.parse
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matcher_reference import flatten as ref_flatten
from matcher_reference import lowercase
from matcher_reference import match_request as ref_match

import matcher_rs

# A small alphabet, so that values collide, overlap and nest; the letters
# lower-case the same in Rust and Python.
ALPHABET = "abcAB 12é-/\"\\%"
NAMES = matcher_rs.transform_names()

words = st.text(alphabet=ALPHABET, min_size=1, max_size=10)
numbers = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.integers(min_value=2**64, max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
)
scalars = st.one_of(words, numbers, st.booleans(), st.none())
keys = st.text(alphabet="abk.", min_size=0, max_size=3)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)
    ),
    max_leaves=8,
)


def transformed(value: bytes, name: str | None) -> bytes:
    """The form of `value` that the matcher seeks under transform `name`."""
    if name is None:
        return value
    if name == "lowercase":
        return lowercase(value)
    if name == "url":
        return urllib.parse.quote(value, safe="").encode()
    if name == "base64":
        return base64.b64encode(value)
    if name.endswith("_base64"):
        return base64.b64encode(hashlib.new(name[: -len("_base64")], value).digest())
    return hashlib.new(name, value).hexdigest().encode()


@st.composite
def payloads(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["json", "json", "raw", "bytes"]))
    if kind == "json":
        return json.dumps(draw(json_values), ensure_ascii=draw(st.booleans())).encode()
    if kind == "raw":
        return draw(words).encode()
    return draw(st.binary(max_size=12))


@st.composite
def requests(draw: st.DrawFn, max_sources: int = 3) -> tuple[list[bytes], list[bytes]]:
    sources = draw(st.lists(payloads(), min_size=0, max_size=max_sources))
    values = [v for p in sources for _, v in ref_flatten(p)]
    sinks: list[bytes] = []
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        plant: bool = draw(st.booleans())
        if values and plant:
            # Plant a source value, maybe transformed, maybe inside more text.
            planted = transformed(
                draw(st.sampled_from(values)), draw(st.sampled_from([None, *NAMES]))
            )
            if draw(st.booleans()):
                planted = draw(words).encode() + planted + draw(words).encode()
            text = planted.decode("utf-8", errors="replace")
            shape = draw(st.sampled_from(["raw", "string", "object", "list"]))
            doc: Any = {
                "raw": text,
                "string": text,
                "object": {"a": {"b": text, "n": draw(numbers)}},
                "list": [draw(words), text],
            }[shape]
            if shape == "raw":
                sinks.append(planted)
            else:
                sinks.append(json.dumps(doc, ensure_ascii=draw(st.booleans())).encode())
        else:
            sinks.append(draw(payloads()))
    return sources, sinks


def check(
    request: tuple[list[bytes], list[bytes]],
    **options: Any,
) -> None:
    sources, sinks = request
    [got] = matcher_rs.match_requests([(sources, sinks)], **options)
    want = ref_match(sources, sinks, **options)
    assert not got.failed
    assert got.matches == want.matches
    assert got.nomatch == want.nomatch
    assert got.truncated == want.truncated


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests(), st.integers(min_value=1, max_value=6))
def test_agrees_with_reference(request: tuple[list[bytes], list[bytes]], min_length: int) -> None:
    check(request, min_length=min_length)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    requests(),
    st.lists(st.sampled_from(NAMES), unique=True),
    st.lists(words, max_size=3),
    st.integers(min_value=4, max_value=200),
)
def test_agrees_with_options(
    request: tuple[list[bytes], list[bytes]],
    transforms: list[str],
    stop_list: list[str],
    max_capture_bytes: int,
) -> None:
    check(
        request,
        min_length=2,
        transforms=transforms,
        stop_list=stop_list,
        max_capture_bytes=max_capture_bytes,
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests(max_sources=10))
def test_agrees_with_many_sources(request: tuple[list[bytes], list[bytes]]) -> None:
    check(request, min_length=1, stop_list=[])


@settings(max_examples=200, deadline=None)
@given(payloads())
def test_flatten_agrees_with_reference(payload: bytes) -> None:
    assert matcher_rs.flatten(payload) == ref_flatten(payload)
