"""The shared vocabulary: asset and edge names, the confidence scale, the edge-state codec."""

from __future__ import annotations

import doctest

import pytest

import vocab
from vocab import (
    CONFIDENCE_RANK,
    CONFIDENCES,
    EdgeState,
    assets,
    confidence,
    edge_id,
    edge_state,
    rank_of,
    split_edge_id,
    split_field,
    table_of,
)


@pytest.mark.parametrize("module", [vocab, assets, confidence, edge_state])
def test_docstring_examples(module: object) -> None:
    failures, tried = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)  # type: ignore[arg-type]
    assert tried > 0 and failures == 0


def test_split_field_and_table_of() -> None:
    assert split_field("web://s/h#a.b[]") == ("web://s/h", "a.b[]")
    assert split_field("web://s/h") == ("web://s/h", None)
    assert split_field("t#a#b") == ("t", "a#b")  # the field is everything after the first #
    assert table_of("t#f") == "t" and table_of("t") == "t"


def test_edge_id_round_trip_and_bad_id() -> None:
    assert edge_id("a://x/t#f", "b://y/u") == "a://x/t#f -> b://y/u"
    assert split_edge_id(edge_id("a://x/t#f", "b://y/u")) == ("a://x/t#f", "b://y/u")
    with pytest.raises(ValueError, match="SRC -> DST"):
        split_edge_id("a://x/t")


def test_one_scale_weakest_first() -> None:
    assert CONFIDENCES == ("low", "medium", "high")
    assert [CONFIDENCE_RANK[c] for c in CONFIDENCES] == [0, 1, 2]
    assert sorted(["high", "low", "medium"], key=rank_of) == list(CONFIDENCES)
    assert rank_of("bogus") == 0


def test_edge_state_codec_keeps_every_field() -> None:
    state = EdgeState("a#x", "b#y", {"SORT": 2, "IDENTITY": 1}, first_seen=3,
                      last_seen=9, version=4, confidence="high", score=0.75, deleted=True)
    back = EdgeState.from_bytes(state.to_bytes())
    assert back == state
    assert list(back.counts) == ["IDENTITY", "SORT"]  # sorted
    zero = EdgeState("a#x", "b#y", {"STATIC": 0, "SORT": 1})
    assert dict(EdgeState.from_bytes(zero.to_bytes()).counts) == {"SORT": 1}  # zeros dropped
    assert back.kinds == frozenset({"IDENTITY", "SORT"}) and not back.static_only
