"""Edge merge: the confidence table, deltas and versions, static retraction, state bytes."""

from __future__ import annotations

import random
from functools import reduce

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analyzers.edges import (
    BAND_RANGE,
    EVIDENCE_KEYS,
    KIND_RULES,
    apply_signal,
    confidence,
    delta_for,
    effective_kind,
    evidence_of,
    merge,
    retract,
    static_expired,
)
from analyzers.signals import ALL_KINDS, SQL_INDIRECT, FlowSignal, Origin
from vocab import CONFIDENCE_RANK, EdgeState

SRC = "web://photos-web/handlePhotoUpload#location"
DST = "mysql://photos-db/photos.photos#location"
EDGE = f"{SRC} -> {DST}"
DAY = 86_400_000

_ORIGIN: dict[str, Origin] = {
    "EXACT_MATCH": "runtime", "CONTAINS": "runtime", "NO_MATCH": "runtime",
    "CONFIG": "config", "STATIC": "static", "OPENLINEAGE": "openlineage",
}


def sig(kind: str, ts: int = 1000, *, masking: bool = False) -> FlowSignal:
    return FlowSignal(SRC, DST, kind, _ORIGIN.get(kind, "sql"), ts, masking=masking)


def fold(*signals: FlowSignal) -> EdgeState:
    state: EdgeState | None = None
    for s in signals:
        state, _ = merge(state, s)
    assert state is not None
    return state


# -- the table, row by row ----------------------------------------------------

ROWS = [
    ("EXACT_MATCH", False, "high"),
    ("CONTAINS", False, "high"),
    ("NO_MATCH", False, "low"),
    ("IDENTITY", False, "high"),
    ("TRANSFORMATION", False, "medium"),
    ("AGGREGATION", False, "low"),
    ("MASKED", False, "low"),
    ("IDENTITY", True, "low"),
    ("TRANSFORMATION", True, "low"),
    ("AGGREGATION", True, "low"),
    *[(k, False, "low") for k in SQL_INDIRECT],
    ("CONFIG", False, "high"),
    ("STATIC", False, "low"),
    ("TABLE", False, "medium"),
]


@pytest.mark.parametrize(("kind", "masking", "band"), ROWS)
def test_one_signal_of_each_kind(kind: str, masking: bool, band: str) -> None:
    state = fold(sig(kind, masking=masking))
    got_band, score = confidence(state)
    assert got_band == band == state.confidence
    assert score == state.score
    lo, hi = BAND_RANGE[band]
    assert lo <= score <= hi


def test_every_contract_kind_has_a_row() -> None:
    assert set(KIND_RULES) == set(ALL_KINDS)
    assert {r.evidence for r in KIND_RULES.values()} == set(EVIDENCE_KEYS)


def test_masked_sql_counts_as_masked_only() -> None:
    state = fold(sig("TRANSFORMATION", masking=True), sig("JOIN", masking=True))
    assert state.kinds == {"MASKED"}
    assert evidence_of(state)["sql"] == 2
    assert effective_kind(sig("TRANSFORMATION", masking=True)) == "MASKED"


def test_masking_flag_is_ignored_outside_sql_kinds() -> None:
    assert effective_kind(sig("EXACT_MATCH", masking=True)) == "EXACT_MATCH"
    assert fold(sig("CONFIG", masking=True)).confidence == "high"


def test_unmasked_identity_beats_masked() -> None:
    state = fold(sig("IDENTITY", masking=True), sig("IDENTITY"))
    assert state.confidence == "high"
    assert state.kinds == {"IDENTITY", "MASKED"}


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown flow signal kind"):
        apply_signal(None, sig("TELEPATHY"))


@pytest.mark.parametrize(
    ("kinds", "band"),
    [
        (["STATIC", "EXACT_MATCH"], "high"),
        (["NO_MATCH", "CONFIG"], "high"),
        (["AGGREGATION", "TRANSFORMATION"], "medium"),
        (["JOIN", "FILTER", "STATIC", "NO_MATCH"], "low"),
        (["TRANSFORMATION", "CONTAINS"], "high"),
    ],
)
def test_edge_confidence_is_the_best_over_its_evidence(kinds: list[str], band: str) -> None:
    assert fold(*[sig(k) for k in kinds]).confidence == band


@pytest.mark.parametrize(("kind", "band"), [("NO_MATCH", "low"), ("STATIC", "low"),
                                             ("AGGREGATION", "low"),
                                             ("TRANSFORMATION", "medium")])
def test_evidence_never_lifts_an_edge_out_of_its_band(kind: str, band: str) -> None:
    state = fold(*[sig(kind, ts) for ts in range(500)])
    assert state.confidence == band
    assert state.score == BAND_RANGE[band][1]


def test_contract_example_shape() -> None:
    state, delta = merge(fold(sig("STATIC", 1737540000000),
                              *[sig("EXACT_MATCH", 1737540600123 + i) for i in range(11)]),
                         sig("EXACT_MATCH", 1737540655000))
    assert evidence_of(state) == {"runtime_exact": 12, "runtime_contains": 0,
                                  "runtime_nomatch": 0, "sql": 0, "config": 0, "static": 1,
                                  "openlineage": 0}
    assert state.kinds == {"EXACT_MATCH"}
    assert (state.confidence, state.score) == ("high", 1.0)
    assert (state.first_seen, state.last_seen) == (1737540000000, 1737540655000)
    assert delta is None  # saturated: the 12th match changes nothing a subscriber sees


# -- deltas and versions ------------------------------------------------------


def test_delta_on_appear_has_the_contract_shape() -> None:
    state, delta = merge(None, sig("EXACT_MATCH", 1737540600123))
    assert delta == {
        "v": 1, "op": "upsert", "edge_id": EDGE, "src": SRC, "dst": DST,
        "confidence": "high", "score": 0.7, "kinds": ["EXACT_MATCH"],
        "evidence": {"runtime_exact": 1, "runtime_contains": 0, "runtime_nomatch": 0,
                     "sql": 0, "config": 0, "static": 0, "openlineage": 0},
        "first_seen": 1737540600123, "last_seen": 1737540600123, "version": 1,
        "counts": {"EXACT_MATCH": 1},
    }
    assert state.version == 1
    assert orjson.loads(orjson.dumps(delta)) == delta


def test_delta_on_confidence_change() -> None:
    old = fold(sig("STATIC"))
    new, delta = merge(old, sig("CONTAINS", 2000))
    assert delta is not None
    assert (delta["confidence"], delta["kinds"], delta["version"]) == ("high", ["CONTAINS"], 2)
    assert delta["evidence"]["static"] == 1
    assert new.version == 2


def test_delta_on_score_change_only() -> None:
    old = fold(sig("EXACT_MATCH"))
    new, delta = merge(old, sig("EXACT_MATCH", 2000))
    assert delta is not None
    assert (old.confidence, sorted(old.kinds)) == (new.confidence, sorted(new.kinds))
    assert (old.score, new.score, delta["score"]) == (0.7, 0.84, 0.84)


def test_delta_on_kinds_change_only() -> None:
    old = fold(*[sig("EXACT_MATCH", t) for t in range(20)])
    assert (old.confidence, old.score) == ("high", 1.0)
    new, delta = merge(old, sig("NO_MATCH", 5000))
    assert (new.confidence, new.score) == ("high", 1.0)
    assert delta is not None
    assert delta["kinds"] == ["EXACT_MATCH", "NO_MATCH"]
    assert delta["version"] == old.version + 1 == new.version


def test_no_delta_when_nothing_visible_changes() -> None:
    old = fold(*[sig("IDENTITY", t) for t in range(20)])
    new, delta = merge(old, sig("IDENTITY", 99_999))
    assert delta is None
    assert new.version == old.version
    assert evidence_of(new)["sql"] == 21 and new.last_seen == 99_999  # still counted


def test_delta_for_gives_the_next_version() -> None:
    old = fold(sig("STATIC"), sig("EXACT_MATCH"))
    new = apply_signal(old, sig("EXACT_MATCH"))
    assert new.version == old.version  # apply_signal never bumps
    delta = delta_for(old, new)
    assert delta is not None and delta["version"] == old.version + 1
    assert delta_for(None, apply_signal(None, sig("CONFIG")))["version"] == 1  # type: ignore[index]


def test_signal_for_another_edge_is_rejected() -> None:
    with pytest.raises(ValueError, match="does not belong"):
        apply_signal(fold(sig("CONFIG")), FlowSignal(SRC, "x://other", "CONFIG", "config", 1))


def test_event_time_bounds_not_arrival_order() -> None:
    state = fold(sig("EXACT_MATCH", 500), sig("EXACT_MATCH", 100), sig("EXACT_MATCH", 300))
    assert (state.first_seen, state.last_seen) == (100, 500)


# -- static verification and retraction ---------------------------------------


def test_static_expiry() -> None:
    state = fold(sig("STATIC", 1000))
    assert not static_expired(state, 1000 + DAY, DAY)  # not yet past
    assert static_expired(state, 1001 + DAY, DAY)
    confirmed = fold(sig("STATIC", 1000), sig("NO_MATCH", 2000))
    assert not static_expired(confirmed, 10 * DAY, DAY)
    assert not static_expired(fold(sig("CONFIG", 1000)), 10 * DAY, DAY)


def test_retract() -> None:
    state = fold(sig("STATIC", 1000))
    tomb, delta = retract(state)
    assert delta == {"v": 1, "op": "delete", "edge_id": EDGE, "src": SRC, "dst": DST,
                     "version": 2, "counts": {"STATIC": 1}, "first_seen": 1000,
                     "last_seen": 1000}
    assert tomb.deleted and tomb.version == 2
    assert not static_expired(tomb, 10 * DAY, DAY)
    with pytest.raises(ValueError, match="already retracted"):
        retract(tomb)


def test_runtime_signal_recreates_a_retracted_edge() -> None:
    tomb, _ = retract(fold(sig("STATIC", 1000)))
    new, delta = merge(tomb, sig("EXACT_MATCH", 3 * DAY))
    assert delta is not None
    assert delta["op"] == "upsert" and delta["version"] == 3 == new.version
    assert delta["kinds"] == ["EXACT_MATCH"] and delta["confidence"] == "high"
    assert delta["evidence"]["static"] == 1 and delta["first_seen"] == 1000
    assert not new.deleted


def test_repeated_static_proposal_keeps_a_retracted_edge_deleted() -> None:
    tomb, _ = retract(fold(sig("STATIC", 1000)))
    new, delta = merge(tomb, sig("STATIC", 5 * DAY))
    assert delta is None
    assert new.deleted and new.version == tomb.version
    assert evidence_of(new)["static"] == 2


# -- state bytes --------------------------------------------------------------


@pytest.mark.parametrize("deleted", [False, True])
def test_state_round_trip(deleted: bool) -> None:
    state = fold(sig("STATIC", 5), sig("TRANSFORMATION", 7, masking=True), sig("JOIN", 9))
    if deleted:
        state, _ = retract(state)
    raw = state.to_bytes()
    assert isinstance(orjson.loads(raw), dict)
    back = EdgeState.from_bytes(raw)
    assert back == state
    assert back.kinds == state.kinds and evidence_of(back) == evidence_of(state)
    # the restored state merges like the original
    assert merge(back, sig("CONTAINS", 11)) == merge(state, sig("CONTAINS", 11))


# -- properties ---------------------------------------------------------------

signals = st.builds(
    sig, st.sampled_from([*ALL_KINDS, "TABLE"]), st.integers(0, 10**13), masking=st.booleans()
)


@given(st.lists(signals, min_size=1, max_size=60))
def test_score_is_monotone_bounded_and_in_band(seq: list[FlowSignal]) -> None:
    state: EdgeState | None = None
    deltas = 0
    for s in seq:
        new, delta = merge(state, s)
        assert 0.0 <= new.score <= 1.0
        lo, hi = BAND_RANGE[new.confidence]
        assert lo <= new.score <= hi
        assert new.score == round(new.score, 2)
        if state is not None:
            assert new.score >= state.score
            assert CONFIDENCE_RANK[new.confidence] >= CONFIDENCE_RANK[state.confidence]
            assert new.version >= state.version
        if delta is not None:
            deltas += 1
            assert delta["version"] == new.version == (state.version if state else 0) + 1
        state = new
    assert state is not None
    assert state.version == deltas
    assert sum(evidence_of(state).values()) == len(seq)


@given(st.lists(signals, max_size=30), signals)
def test_evidence_saturates_so_deltas_stop(prefix: list[FlowSignal], repeated: FlowSignal) -> None:
    state: EdgeState | None = None
    for s in prefix:
        state, _ = merge(state, s)
    tail = []
    for _ in range(120):
        state, delta = merge(state, repeated)
        tail.append(delta)
    assert all(d is None for d in tail[-20:])


@given(st.lists(signals, min_size=1, max_size=30), st.randoms(use_true_random=False))
def test_final_edge_does_not_depend_on_signal_order(
    seq: list[FlowSignal], rnd: random.Random
) -> None:
    shuffled = list(seq)
    rnd.shuffle(shuffled)

    def visible(state: EdgeState) -> tuple[object, ...]:
        return (dict(state.counts), state.kinds, state.confidence, state.score,
                state.first_seen, state.last_seen)

    a = reduce(apply_signal, seq, None)
    b = reduce(apply_signal, shuffled, None)
    assert a is not None and b is not None
    assert visible(a) == visible(b)


def ol(kind: str, ts: int = 1000, *, masking: bool = False) -> FlowSignal:
    return FlowSignal(SRC, DST, kind, "openlineage", ts, masking=masking, producer="https://p")


def test_openlineage_table_level_is_its_own_row() -> None:
    state = fold(ol("OPENLINEAGE"))
    assert (state.confidence, state.score, state.kinds) == ("medium", 0.4, {"OPENLINEAGE"})
    assert evidence_of(state)["openlineage"] == 1 and evidence_of(state)["sql"] == 0


def test_openlineage_column_kinds_keep_their_band_and_count_as_openlineage() -> None:
    state = fold(ol("IDENTITY"), sig("IDENTITY"), ol("TRANSFORMATION", masking=True))
    assert state.kinds == {"IDENTITY", "MASKED"}
    assert state.confidence == "high"
    assert (evidence_of(state)["openlineage"], evidence_of(state)["sql"]) == (2, 1)
    assert EdgeState.from_bytes(state.to_bytes()) == state
    # the band and score are those of the same kinds reported by the SQL analyzer
    assert (state.confidence, state.score) == (
        fold(sig("IDENTITY"), sig("IDENTITY"), sig("TRANSFORMATION", masking=True)).confidence,
        fold(sig("IDENTITY"), sig("IDENTITY"), sig("TRANSFORMATION", masking=True)).score)
