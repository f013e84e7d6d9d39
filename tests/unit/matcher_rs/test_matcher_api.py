"""The Python surface of matcher_rs: examples, options, bad input."""

from __future__ import annotations

import threading

import pytest

import matcher_rs
from matcher_rs import match_requests


def one(sources: list[bytes], sinks: list[bytes], **options: object) -> matcher_rs.RequestResult:
    [result] = match_requests([(sources, sinks)], **options)  # type: ignore[arg-type]
    return result


def test_contract_example() -> None:
    r = one([b'{"location":"Home, 123 Main St"}'], [b'"uploaded at Home, 123 Main St"'])
    assert r.matches == [(0, "location", 0, "", "CONTAINS", None)]
    assert r.nomatch == []
    assert r.truncated == 0
    assert not r.failed


def test_exact_transform_and_nomatch() -> None:
    r = one(
        [b'{"email":"Alice@Example.com"}', b'{"zip":"94025-1234"}'],
        [b'{"to":"alice@example.com"}', b"nothing to see"],
    )
    assert r.matches == [(0, "email", 0, "to", "EXACT_MATCH", "lowercase")]
    assert r.nomatch == [(0, 1), (1, 0), (1, 1)]


def test_guards() -> None:
    r = one([b'{"c":"US","b":true,"n":1,"s":"null"}'], [b'{"x":"US true 1 null"}'])
    assert r.matches == []
    assert one([b'"US"'], [b'"US"'], min_length=2).matches == [(0, "", 0, "", "EXACT_MATCH", None)]
    stopped = one([b'"secret-ish"'], [b'"secret-ish"'], stop_list=["SECRET-ISH"])
    assert stopped.matches == []


def test_a_piece_of_a_source_value_is_not_a_match() -> None:
    assert one([b'"Home, 123 Main St"'], [b'"Main St"']).matches == []


def test_transforms_option() -> None:
    sink = [b'"SG9tZSwgMTIzIE1haW4gU3Q="']
    assert one([b'"Home, 123 Main St"'], sink).matches[0][5] == "base64"
    assert one([b'"Home, 123 Main St"'], sink, transforms=[]).matches == []
    with pytest.raises(ValueError, match="unknown transform"):
        one([b"x"], [b"y"], transforms=["rot13"])


@pytest.mark.parametrize(
    ("n_sources", "transforms", "sink_bytes", "searcher"),
    [
        (0, None, 0, "none"),
        (2, [], 0, "memmem"),
        # No sink has a run long enough to spell a digest: digests are not
        # sought, and the three values share their base64 needle.
        (3, None, 0, "memmem"),
        (3, None, 1_000_000, "hash"),
        (30, None, 0, "hash"),
    ],
)
def test_searcher_size_classes(
    n_sources: int, transforms: list[str] | None, sink_bytes: int, searcher: str
) -> None:
    sources = [f'"value-{i:04d}"'.encode() for i in range(n_sources)]
    sinks = [b'{"a":"xx value-0001 yy"}', b"z" * sink_bytes]
    r = one(sources, sinks, transforms=transforms)
    assert r.searcher == searcher
    if n_sources > 1:
        assert (1, "", 0, "a", "CONTAINS", None) in r.matches


def test_needles_too_short_to_anchor_use_teddy() -> None:
    sources = [f'"v{i}x"'.encode() for i in range(8)]
    r = one(sources, [b'{"a":"xx v3x yy"}'], min_length=3, transforms=[])
    assert r.searcher == "teddy"
    assert r.matches == [(3, "", 0, "a", "CONTAINS", None)]


def test_bad_input_never_raises_from_the_core() -> None:
    payloads = [b"", b"\xff\xfe\x00", b"{" * 10_000, b'{"a":"\\ud800"}', b"[1,2", b"\x00" * 64]
    r = one(payloads, payloads)
    assert not r.failed
    assert len(r.nomatch) + len({(m[0], m[2]) for m in r.matches}) == len(payloads) ** 2


def test_captures_over_the_cap_are_truncated_and_counted() -> None:
    big = b"x" * 100 + b"secretvalue"
    r = one([b"secretvalue"], [big], max_capture_bytes=50)
    assert r.truncated == 1
    assert r.matches == []
    assert one([b"secretvalue"], [big]).matches


def test_wrong_types_are_type_errors() -> None:
    with pytest.raises(TypeError):
        match_requests([(["not bytes"], [])])  # type: ignore[list-item]
    with pytest.raises((TypeError, ValueError)):
        match_requests([([b"a"],)])  # type: ignore[list-item]


def test_batch_results_in_order_and_repr_holds_no_values() -> None:
    requests = [([b'"alpha-value"'], [b'"alpha-value"']), ([b'"beta-value"'], [b'"other"'])]
    results = match_requests(requests)
    assert [len(r.matches) for r in results] == [1, 0]
    assert "alpha" not in repr(results[0])


def test_threads_share_the_matcher() -> None:
    requests = [
        ([b'{"k":"some-value-%d"}' % i], [b"log some-value-%d end" % i]) for i in range(500)
    ]
    out: list[int] = []

    def work() -> None:
        out.append(sum(len(r.matches) for r in match_requests(requests)))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == [500] * 4


def test_any_sequence_of_pairs_of_sequences_gives_the_same_results() -> None:
    class Payloads(list[bytes]):
        pass

    class Bytes(bytes):
        pass

    source, sink = b'{"k":"some-value"}', b"log some-value end"
    want = [(0, "k", 0, "", "CONTAINS", None)]
    shapes = [
        [([source], [sink])],
        (((source,), (sink,)),),
        [(Payloads([source]), Payloads([sink]))],
        [([Bytes(source)], [Bytes(sink)])],
    ]
    for requests in shapes:
        [r] = match_requests(requests)  # type: ignore[arg-type]
        assert r.matches == want


def test_lists_changed_by_another_thread_while_matching() -> None:
    # The GIL is released while a batch is matched: another thread may empty
    # the lists meanwhile; the payloads stay alive until the call returns.
    requests = [
        ([b'{"k":"some-value-%d"}' % i], [b"log some-value-%d end" % i * 50]) for i in range(2000)
    ]
    stop = threading.Event()

    def mutate() -> None:
        while not stop.is_set():
            for sources, sinks in requests:
                sinks[:] = [bytes(bytearray(s)) for s in sinks]
                sources[:] = [bytes(bytearray(s)) for s in sources]

    t = threading.Thread(target=mutate)
    t.start()
    try:
        for _ in range(5):
            results = match_requests(requests)
            assert all(r.matches for r in results)
    finally:
        stop.set()
        t.join()


def test_flatten_and_metadata() -> None:
    leaves = [("a.b", b"x"), ("c[]", b"1.5")]
    assert matcher_rs.flatten(b'{"a":{"b":"x"},"c":[1.50,true]}') == leaves
    assert matcher_rs.flatten(b'"{\\"a\\": 1}"') == [("", b'{"a": 1}')]
    assert "sha256" in matcher_rs.transform_names()
    assert "true" in matcher_rs.default_stop_list()
    assert matcher_rs.DEFAULT_MIN_LENGTH == 4
    assert matcher_rs.version().count(".") == 2
