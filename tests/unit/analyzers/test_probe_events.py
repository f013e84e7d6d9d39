"""The Rust probe-event decoder against the Python validator: same verdicts, same reasons.

`decode_probe_values` (Rust, with the Python validator for what it leaves)
and `decode_probe_batch` (the probe join's: the events kept in Rust) must
equal `decode_probe_value` (the Python validator alone) on every value:
a fixed corpus of envelopes (valid, invalid in each way, odd unicode, huge
numbers, duplicate keys, invalid JSON) and generated ones.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matcher_rs
from analyzers.probe_events import decode_probe_batch, decode_probe_value, decode_probe_values
from tests.json_text import Pairs, write


def envelope(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"v": 1, "type": "probe", "trace_id": "t-1", "ts": 1000,
                            "role": "source", "asset": "web://svc/h", "service": "svc",
                            "payload": {"email": "alice@example.com", "n": 7}}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not DROP}


DROP = object()
VALID = envelope()

CORPUS: list[bytes | None] = [
    orjson.dumps(VALID),
    orjson.dumps(envelope(role="sink", payload="a log line", sample_rate=0.01)),
    orjson.dumps(envelope(payload=[1, -0.0, None, True, {"a": {"b": []}}])),
    orjson.dumps(envelope(payload={"i": 2**63 - 1, "j": -(2**63), "k": 2**64 - 1})),
    write(envelope(payload={"big": 2**64, "neg": -(2**63) - 1})).encode(),
    write(envelope(payload={"big": 10**40})).encode(),
    b'{"v":1,"type":"probe","trace_id":"t","ts":1,"role":"sink","asset":"a","payload":-0}',
    b'{"v":1,"type":"probe","trace_id":"t","ts":1,"role":"sink","asset":"a","payload":1e400}',
    b'{"v":1,"type":"probe","trace_id":"t","ts":1,"role":"sink","asset":"a","payload":1.50}',
    b'{"v":1,"type":"probe","trace_id":"t","ts":-0,"role":"sink","asset":"a","payload":{}}',
    b'{"v":1.0,"type":"probe","trace_id":"t","ts":1,"role":"sink","asset":"a","payload":{}}',
    b'{"v":1e0,"type":"probe","trace_id":"t","ts":1,"role":"sink","asset":"a","payload":{}}',
    b'{"v":true,"type":"probe"}',
    b'{"v":"1","type":"probe"}',
    b'{"v":2,"type":"probe"}',
    b'{"type":"probe"}',
    b'{"v":1}',
    b'{"v":1,"type":null}',
    b'{"v":1,"type":"sql"}',
    b'{"v":1,"type":"no-such-type"}',
    b'{"v":1,"type":"it\'s \\u00e9\\n"}',
    b'{"v":1,"type":"probe","ts":1.0}',
    b'{"v":1,"type":"probe","ts":true}',
    b'{"v":1,"type":"probe","ts":"1"}',
    b'{"v":1,"type":"probe","ts":18446744073709551615,"trace_id":"t","role":"sink",'
    b'"asset":"a","payload":1}',
    b'{"v":1,"type":"probe","ts":18446744073709551616}',
    b'{"v":1,"type":"probe","ts":1,"trace_id":""}',
    b'{"v":1,"type":"probe","ts":1,"trace_id":["t"]}',
    b'{"v":1,"type":"probe","ts":1,"trace_id":"t"}',
    b'{"v":1,"type":"probe","ts":1,"trace_id":"t","role":"SOURCE"}',
    b'{"v":1,"type":"probe","ts":1,"trace_id":"t","role":"sink","asset":null}',
    b'{"v":1,"type":"probe","ts":1,"trace_id":"t","role":"sink","asset":"a"}',
    b'{"v":1,"type":"probe","ts":1,"trace_id":"t","role":"sink","asset":"a","service":""}',
    b'{"v":1,"type":"probe","ts":1,"trace_id":"t","role":"sink","asset":"a","service":null,'
    b'"payload":{}}',
    b'{"v":1,"type":"probe","ts":1,"trace_id":"t","role":"sink","asset":"a",'
    b'"code_location":5,"payload":{}}',
    b'{"v":1,"type":"probe","ts":1,"trace_id":"t","role":"sink","asset":"a","payload_b64":"eA=="}',
    b'{"v":1,"type":"probe","ts":1,"trace_id":"t","role":"sink","asset":"a","payload_b64":"eA="}',
    b'{"v":1,"type":"probe","ts":1,"trace_id":"t","role":"sink","asset":"a","payload_b64":null}',
    b'{"v":1,"type":"probe","ts":1,"trace_id":"t","role":"sink","asset":"a","payload_b64":null,'
    b'"payload":{"a":1}}',
    b'{"v":1,"type":"probe","ts":1,"trace_id":"t","role":"sink","asset":"a","payload_b64":"",'
    b'"payload":{}}',
    b'{"v":1,"type":"probe","ts":1,"trace_id":"t","role":"sink","asset":"a","payload":null}',
    # Duplicate keys: the last one wins in Python, at the first one's place.
    b'{"v":1,"type":"probe","ts":1,"trace_id":"t","role":"sink","asset":"a","payload":{},'
    b'"role":"nope"}',
    b'{"v":1,"type":"probe","ts":1,"trace_id":"t","role":"sink","asset":"a",'
    b'"payload":{"a":1,"b":2,"a":3}}',
    b'{"v":1,"type":"probe","ts":1,"trace_id":"t","role":"sink","asset":"a","x":1,"x":2,'
    b'"payload":{}}',
    # Odd unicode: escapes, surrogate pairs, lone surrogates, control characters.
    b'{"v":1,"type":"probe","ts":1,"trace_id":"\\ud83d\\ude00","role":"sink","asset":"\\u00e9",'
    b'"payload":{"k\\u0000":"\\u0001\\u001f\\b\\f\\n\\r\\t\\"\\\\\\/\\u2028\\u007f"}}',
    b'{"v":1,"type":"probe","ts":1,"trace_id":"t","role":"sink","asset":"a",'
    b'"payload":"\\ud800"}',
    b'{"v":1,"type":"probe","ts":1,"trace_id":"\\udc00x","role":"sink","asset":"a","payload":1}',
    b'{"v":1,"type":"probe","ts":1,"trace_id":"t","role":"sink","asset":"a",'
    b'"payload":"\\ud83d\\u0041"}',
    '{"v":1,"type":"probe","ts":1,"trace_id":"日本","role":"sink","asset":"a","payload":"é"}'
    .encode(),
    b'{"v":1,"type":"probe","ts":1,"trace_id":"t","role":"sink","asset":"a","payload":"\xff"}',
    b'{"v":1,"type":"probe","ts":1,"trace_id":"t","role":"sink","asset":"a","payload":"a\tb"}',
    # Strings longer than the decoder's 16-byte vector steps, with the byte that ends
    # the plain run (non-ASCII, an escape, a control byte, invalid UTF-8) past them.
    *(b'{"v":1,"type":"probe","ts":1,"trace_id":"' + b"t" * n + tail + b'","role":"sink",'
      b'"asset":"' + b"a" * 40 + b'","payload":{"' + b"k" * n + tail + b'":"' + b"v" * 33
      + tail + b'"}}'
      for n in (15, 16, 17, 31, 32, 33)
      for tail in (b"", "é".encode(), b"\\n", b"\\u00e9x", b"\x01", b"\xc3", b"\t")),
    # Invalid JSON and framing.
    None, b"", b" ", b"{", b"}", b"[]", b'"probe"', b"1", b"null", b"\xef\xbb\xbf{}",
    b'{"v":1,}', b'{"v":1} x', b'{"v":1}\n', b' \t\r\n{"v":1}', b"{'v':1}", b'{"v":01}',
    b'{"v":NaN}', b'{"v":1,"type":"probe","ts":Infinity}', b'{"v":-}', b'{"v":1.}',
    # A float beyond f64 is invalid JSON for orjson, in a field the decoder skips too.
    b'{"v":1,"type":"probe","ts":1,"trace_id":"t","role":"sink","asset":"a","payload":1,'
    b'"sample_rate":1e400}',
    b'{"v":1,"type":"probe","ts":1,"trace_id":"t","role":"sink","asset":"a","payload":1,'
    b'"x":[{"y":-2.5E+999}]}', b'[1e400]', b'{"v":1e-400}',
    b'{"v":1,"type":"probe","ts":1,"trace_id":"t","role":"sink","asset":"a","payload":[1,]}',
    b'{"v":1,"type":"probe","ts":1,"trace_id":"t","role":"sink","asset":"a","payload":tru}',
    b'{"v":1,"type":"probe","ts":1,"trace_id":"t","role":"sink","asset":"a","payload":'
    + b"[" * 300 + b"]" * 300 + b"}",
    b'{"v":1,"type":"probe","ts":1,"trace_id":"t","role":"sink","asset":"a","payload":'
    + b"[" * 100 + b"]" * 100 + b"}",
]


def assert_same(values: list[bytes | None]) -> None:
    expected = [decode_probe_value(v) for v in values]
    assert decode_probe_values(values) == expected
    # The probe join's fused path (`ProbeBatch`: the events stay in Rust) as well:
    # the same dead-letter reasons, the same events and payload faults.
    batch = decode_probe_batch(values)
    assert batch.dead() == [(i, v, None) for i, v in enumerate(expected) if isinstance(v, str)]
    assert batch.valid() == [(i, tuple(v) if -(2**63) <= v[-1 if len(v) == 2 else 1] < 2**63
                              else None)  # a `ts` beyond 64 bits: held, bounded in Python
                             for i, v in enumerate(expected) if not isinstance(v, str)]
    assert len(batch) == len(batch.valid())


def test_corpus_verdicts_and_reasons_equal_the_python_validator() -> None:
    assert_same(CORPUS)
    for value in CORPUS:  # one at a time too: no state carried between values
        assert_same([value])


def test_common_events_are_decided_in_rust() -> None:
    decided = matcher_rs.decode_probe_events([CORPUS[0] or b"", CORPUS[1] or b"", CORPUS[3] or b""])
    assert all(isinstance(d, tuple) for d in decided)
    assert matcher_rs.decode_probe_events([b'{"v":1,"type":"probe"}'])[0] == (
        "probe: missing field 'ts'")


def test_values_must_be_bytes() -> None:
    with pytest.raises(TypeError):
        matcher_rs.decode_probe_events(["text"])  # type: ignore[list-item]


json_leaf = (st.none() | st.booleans() | st.integers() | st.text()
             | st.floats(allow_nan=False, allow_infinity=False))
json_value = st.recursive(
    json_leaf,
    lambda kids: st.lists(kids, max_size=4)
    | st.lists(st.tuples(st.sampled_from(["a", "b", "é", "", "\x00"]), kids), max_size=4)
    .map(Pairs),
    max_leaves=12,
)
field_value = st.one_of(
    json_value, st.sampled_from(["probe", "source", "sink", "sql", "x", ""]),
    st.integers(min_value=-(2**70), max_value=2**70), st.just(1), st.just(1.0),
)
FIELDS = ["v", "type", "ts", "trace_id", "role", "asset", "service", "code_location",
          "payload_b64", "payload", "sample_rate"]


@st.composite
def envelopes(draw: st.DrawFn) -> bytes:
    pairs = Pairs()
    for key, value in VALID.items():
        if draw(st.integers(0, 5)) == 0:
            value = draw(field_value)  # this field broken (or not)
        if draw(st.integers(0, 9)) != 0:
            pairs.append((key, value))
    for _ in range(draw(st.integers(0, 2))):
        pairs.append((draw(st.sampled_from(FIELDS)), draw(field_value)))
    order = draw(st.permutations(range(len(pairs))))
    text = write(Pairs(pairs[i] for i in order), ascii_only=draw(st.booleans()),
                 space=draw(st.sampled_from(["", " ", "\n\t"])))
    raw = text.encode("utf-8", "surrogatepass")
    cut = draw(st.integers(0, 20))
    if cut == 0 and raw:  # a byte dropped or replaced: mostly invalid JSON
        at = draw(st.integers(0, len(raw) - 1))
        raw = raw[:at] + draw(st.sampled_from([b"", b"\xff", b"}", b'"', b"\\"])) + raw[at + 1:]
    return raw


@settings(max_examples=400, deadline=None)
@given(st.lists(envelopes(), min_size=1, max_size=8))
def test_generated_envelopes_get_the_python_verdicts(values: list[bytes]) -> None:
    assert_same(list(values))


@settings(max_examples=200, deadline=None)
@given(json_value, st.booleans())
def test_any_payload_is_the_bytes_orjson_would_give(payload: Any, ascii_only: bool) -> None:
    raw = write(envelope(payload=payload), ascii_only=ascii_only).encode(
        "utf-8", "surrogatepass")
    assert_same([raw])
