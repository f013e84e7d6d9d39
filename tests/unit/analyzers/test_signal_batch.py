"""The Rust flow-signal decoder and fold against the Python validator and `fold`.

`decode_signal_batch` (Rust, with `decode_signal` for what it leaves) must
give every value the verdict and reason `decode_signal` gives, and fold the
valid ones exactly as grouping by `signal_key` and `fold` does, in the order
each observation first appears: over a fixed corpus (valid signals of every
shape, each field wrong in each way, odd unicode, huge numbers, duplicate
keys, invalid JSON) and generated batches.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matcher_rs
from analyzers.signal_batch import (
    decode_signal,
    decode_signal_batch,
    fold_in_python,
    folded_signals,
)
from analyzers.signals import ALL_KINDS, ORIGINS
from tests.json_text import Pairs, write

VALID: dict[str, Any] = {"v": 1, "src": "web://a/h#email", "dst": "db://x/t#email",
                         "kind": "EXACT_MATCH", "origin": "runtime", "ts": 1000}


def sig(**change: Any) -> bytes:
    body = {**VALID, **change}
    return write({k: v for k, v in body.items() if v is not DROP}).encode()


DROP = object()

CORPUS: list[bytes | None] = [
    sig(),
    sig(count=3, earliest=900),
    sig(count=2, earliest=1000),
    sig(transform="md5", masking=False, producer=None),
    sig(kind="IDENTITY", origin="sql", masking=True),
    sig(kind="OPENLINEAGE", origin="openlineage", producer="https://x/y"),
    sig(producer=""),
    sig(transform=""),
    sig(ts=-(2**63), earliest=2**63 - 1),
    sig(ts=-0),
    b'{"v":1,"src":"a","dst":"b","kind":"CONTAINS","origin":"runtime","ts":-0}',
    sig(other={"nested": [1, 2.5, None, Pairs([("a", 1), ("a", 2)])]}, extra="x"),
    # Each check, each way.
    sig(v=2), sig(v=1.0), sig(v=True), sig(v="1"), sig(v=None), sig(v=DROP),
    b'{"v":1e0,"src":"a","dst":"b","kind":"CONTAINS","origin":"runtime","ts":1}',
    sig(src=""), sig(src=None), sig(src=DROP), sig(src=["a"]), sig(dst=7), sig(dst=DROP),
    sig(kind="TELEPATHY"), sig(kind=None), sig(kind=DROP), sig(kind=["EXACT_MATCH"]),
    sig(kind="exact_match"),
    sig(origin="rumour"), sig(origin=DROP), sig(origin=1),
    sig(ts=DROP), sig(ts=None), sig(ts=1.5), sig(ts="1"), sig(ts=True), sig(ts=[1]),
    sig(count=0), sig(count=-1), sig(count="2"), sig(count=None), sig(count=False),
    sig(count=2.0), sig(earliest=None), sig(earliest=1.5), sig(earliest=True),
    sig(producer=5), sig(producer={}), sig(producer=False),
    sig(transform=5), sig(transform={}), sig(transform=["md5"]), sig(transform=True),
    sig(masking=None), sig(masking=0), sig(masking="true"), sig(masking=[]),
    sig(count=0, producer=5), sig(v=2, ts="x"), sig(kind="X", origin="Y"),
    # Integers beyond 64 bits (an int for Python up to 2**64 - 1, a float beyond).
    sig(ts=2**63), sig(ts=-(2**63) - 1), sig(count=2**64 - 1), sig(earliest=2**64),
    write({**VALID, "ts": 10**30}).encode(),
    write({**VALID, "count": 2**64 + 1, "v": 2}).encode(),
    # Duplicate keys: the last one wins in Python.
    b'{"v":1,"src":"a","dst":"b","kind":"CONTAINS","origin":"runtime","ts":1,"ts":2}',
    b'{"v":1,"src":"a","dst":"b","kind":"CONTAINS","origin":"runtime","ts":1,"kind":"NOPE"}',
    b'{"v":1,"src":"a","dst":"b","kind":"CONTAINS","origin":"runtime","ts":1,"x":1,"x":2}',
    # Odd unicode.
    b'{"v":1,"src":"\\ud83d\\ude00","dst":"\\u00e9\\u0000","kind":"EXACT\\u005fMATCH",'
    b'"origin":"runtime","ts":1,"transform":"\\n\\t\\"\\\\\\/"}',
    '{"v":1,"src":"日本","dst":"é","kind":"CONTAINS","origin":"runtime","ts":1}'.encode(),
    b'{"v":1,"src":"\\ud800","dst":"b","kind":"CONTAINS","origin":"runtime","ts":1}',
    b'{"v":1,"src":"\\udc00","dst":"b","kind":"CONTAINS","origin":"runtime","ts":1}',
    b'{"v":1,"src":"a\xff","dst":"b","kind":"CONTAINS","origin":"runtime","ts":1}',
    b'{"v":1,"src":"a\tb","dst":"b","kind":"CONTAINS","origin":"runtime","ts":1}',
    # Floats beyond f64 (invalid JSON for orjson), in a skipped field too.
    b'{"v":1,"src":"a","dst":"b","kind":"CONTAINS","origin":"runtime","ts":1,"x":1e400}',
    b'{"v":1,"src":"a","dst":"b","kind":"CONTAINS","origin":"runtime","ts":1,"x":[-1E+309]}',
    b'{"v":1,"src":"a","dst":"b","kind":"CONTAINS","origin":"runtime","ts":1,"x":1e-400}',
    # Invalid JSON and framing.
    None, b"", b" ", b"{", b"}", b"[]", b'"signal"', b"1", b"null", b"\xef\xbb\xbf{}",
    b'{"v":1,}', b'{"v":1} x', b'{"v":1}\n', b' \t\r\n{"v":1}', b"{'v':1}", b'{"v":01}',
    b'{"v":NaN}', b'{"v":-}', b'{"v":1.}', b'{"v":1,"x":[1,]}', b'{"v":1,"x":tru}',
    b'{"v":1,"x":' + b"[" * 300 + b"]" * 300 + b"}",
    b'{"v":1,"x":' + b"[" * 100 + b"]" * 100 + b"}",
]


def assert_same(values: list[bytes | None]) -> None:
    folds, dead = fold_in_python(values)
    batch = decode_signal_batch(values)
    assert batch.dead() == dead
    assert folded_signals(batch) == folds
    assert len(batch) == sum(len(members) for _, members in folds)


def test_corpus_verdicts_reasons_and_folds_equal_the_python_path() -> None:
    assert_same(CORPUS)
    for value in CORPUS:  # one at a time too: no state carried between values
        assert_same([value])


def test_common_signals_are_decided_in_rust() -> None:
    batch = matcher_rs.SignalBatch(CORPUS[:10], ALL_KINDS, ORIGINS)
    assert batch.undecided() == []
    assert len(batch) == 10


def test_the_python_path_now_refuses_what_would_break_the_fold() -> None:
    # Before, an object `transform` made `signal_key` raise (unhashable) and a
    # non-bool `masking` split one observation in two.
    assert decode_signal(sig(transform={})) == "signal: field 'transform' must be a string"
    assert decode_signal(sig(masking=0)) == "signal: field 'masking' must be true or false"
    assert decode_signal(sig(ts=2**63)) == "signal: field 'ts' is beyond 64 bits"


def test_settle_refuses_what_no_signal_can_be() -> None:
    batch = matcher_rs.SignalBatch([None], ALL_KINDS, ORIGINS)
    fields = ("a", "b", "CONTAINS", "runtime", 1, None, False, 1, None, None)
    with pytest.raises(ValueError, match="no such value"):
        batch.settle(1, "reason")
    with pytest.raises(ValueError, match="not a known kind"):
        batch.settle(0, ("a", "b", "TELEPATHY", *fields[3:]))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="10 fields"):
        batch.settle(0, fields[:9])  # type: ignore[arg-type]
    with pytest.raises(OverflowError):
        batch.settle(0, (*fields[:4], 2**63, *fields[5:]))  # type: ignore[arg-type]
    batch.settle(0, fields)
    assert batch.groups() == [(fields, [0])]


json_leaf = (st.none() | st.booleans() | st.integers() | st.text()
             | st.floats(allow_nan=False, allow_infinity=False))
json_value = st.recursive(
    json_leaf,
    lambda kids: st.lists(kids, max_size=3)
    | st.lists(st.tuples(st.sampled_from(["a", "é", "", "\x00"]), kids), max_size=3)
    .map(Pairs),
    max_leaves=8,
)
field_value = st.one_of(
    json_value, st.sampled_from([*ALL_KINDS[:3], *ORIGINS[:2], "x", ""]),
    st.integers(min_value=-(2**70), max_value=2**70), st.just(1), st.just(1.0), st.just(0),
)
FIELDS = [*VALID, "count", "earliest", "transform", "masking", "producer"]


@st.composite
def signal_values(draw: st.DrawFn) -> bytes:
    """A signal of a small vocabulary (so observations repeat), maybe broken."""
    pairs = Pairs([
        ("v", 1), ("src", draw(st.sampled_from(["a#x", "b#y"]))),
        ("dst", draw(st.sampled_from(["c#z", "d"]))),
        ("kind", draw(st.sampled_from(["EXACT_MATCH", "CONTAINS", "IDENTITY"]))),
        ("origin", draw(st.sampled_from(["runtime", "sql"]))),
        ("ts", draw(st.integers(-5, 50))),
    ])
    for key, value in (("count", st.integers(1, 4)), ("earliest", st.integers(-10, 60)),
                       ("transform", st.sampled_from([None, "md5", "lowercase"])),
                       ("masking", st.booleans()), ("producer", st.sampled_from([None, "p"]))):
        if draw(st.booleans()):
            pairs.append((key, draw(value)))
    if draw(st.integers(0, 4)) == 0:  # one field broken, dropped or repeated
        at = draw(st.integers(0, len(pairs) - 1))
        how = draw(st.integers(0, 2))
        if how == 0:
            pairs[at] = (pairs[at][0], draw(field_value))
        elif how == 1:
            del pairs[at]
        else:
            pairs.append((draw(st.sampled_from(FIELDS)), draw(field_value)))
    order = draw(st.permutations(range(len(pairs))))
    text = write(Pairs(pairs[i] for i in order), ascii_only=draw(st.booleans()),
                 space=draw(st.sampled_from(["", " ", "\n\t"])))
    raw = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 20)) == 0 and raw:  # a byte dropped or replaced
        at = draw(st.integers(0, len(raw) - 1))
        raw = raw[:at] + draw(st.sampled_from([b"", b"\xff", b"}", b'"', b"\\"])) + raw[at + 1:]
    return raw


@settings(max_examples=300, deadline=None)
@given(st.lists(signal_values() | st.sampled_from(CORPUS), max_size=40))
def test_generated_batches_equal_the_python_path(values: list[bytes | None]) -> None:
    assert_same(values)
