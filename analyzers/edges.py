"""Edge merge: fold flow signals into edges, score them, emit graph deltas.

Pure: no Kafka, no state store. The edge-merge agent keeps one `EdgeState`
per `edge_id` (bytes via `to_bytes`/`from_bytes`) and calls

    new_state, delta = merge(old_state, signal)   # delta: dict | None

then stores `new_state` and, when `delta` is not None, sends it to
`lineage-graph` keyed by `delta["edge_id"]`. Static-only candidates are
checked with `static_expired(state, watermark, verification_ms)` and
retracted with `retract(state)`.

The confidence table (bands, per-kind weights, score formula) is documented
in docs/CONFIDENCE.md; `KIND_RULES` below is that table.

Idempotence: the merge is not idempotent per signal. Under at-least-once
delivery a redelivered signal counts twice in `evidence` and may raise the
score one step early. It cannot change an edge's confidence band beyond what
its kinds allow (bands depend on which kinds were seen, not how often), the
score saturates, and versions only ever rise, so a duplicate never corrupts
an edge: the compacted topic's latest delta per key is still a valid edge.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from analyzers.signals import SQL_KINDS, FlowSignal
from vocab import CONFIDENCE_RANK, HIGH, LOW, MEDIUM, EdgeState
from vocab.edge_state import frozen_counts

# -- the confidence table -----------------------------------------------------

#: Score range of each band: a score is clipped into its edge's band.
BAND_RANGE: Mapping[str, tuple[float, float]] = MappingProxyType(
    {LOW: (0.0, 0.39), MEDIUM: (0.40, 0.69), HIGH: (0.70, 1.0)}
)


@dataclass(frozen=True, slots=True)
class KindRule:
    """One row of the confidence table."""

    band: str  #: best confidence this kind alone can give
    weight: float  #: p: the probability one such signal alone is a real flow
    evidence: str  #: the contract's evidence counter it counts under


KIND_RULES: Mapping[str, KindRule] = MappingProxyType({
    # runtime payload matching
    "EXACT_MATCH": KindRule(HIGH, 0.6, "runtime_exact"),
    "CONTAINS": KindRule(HIGH, 0.5, "runtime_contains"),
    "NO_MATCH": KindRule(LOW, 0.05, "runtime_nomatch"),
    # SQL column lineage (OpenLineage DIRECT subtypes)
    "IDENTITY": KindRule(HIGH, 0.6, "sql"),
    "TRANSFORMATION": KindRule(MEDIUM, 0.4, "sql"),
    "AGGREGATION": KindRule(LOW, 0.2, "sql"),
    # any SQL signal with masking=True (a hash on the way), whatever its subtype
    "MASKED": KindRule(LOW, 0.2, "sql"),
    # SQL INDIRECT subtypes: the source influences, but is not copied into, the target
    "JOIN": KindRule(LOW, 0.1, "sql"),
    "FILTER": KindRule(LOW, 0.1, "sql"),
    "GROUP_BY": KindRule(LOW, 0.1, "sql"),
    "SORT": KindRule(LOW, 0.1, "sql"),
    "WINDOW": KindRule(LOW, 0.1, "sql"),
    "CONDITIONAL": KindRule(LOW, 0.1, "sql"),
    # ML platform configs
    "CONFIG": KindRule(HIGH, 0.6, "config"),
    # static analysis: a proposal, not an observation
    "STATIC": KindRule(LOW, 0.1, "static"),
    # OpenLineage: a job read its inputs and wrote its outputs, no column detail
    # (the table-level SQL signal's band and weight)
    "OPENLINEAGE": KindRule(MEDIUM, 0.4, "openlineage"),
})

#: Count-key suffix of a kind reported through OpenLineage (column lineage, or
#: the SQL of a `sql` job facet): the kind's band and weight, counted under
#: the `openlineage` evidence counter instead of its own.
VIA_OPENLINEAGE = "@openlineage"

#: Signal kinds outside the contract's list, folded into a contract kind.
#: `TABLE` (a table-level flow from an sql_io read/write join: the job read T
#: and wrote U, how is unknown) counts as a generic DIRECT transformation.
KIND_ALIASES: Mapping[str, str] = MappingProxyType({"TABLE": "TRANSFORMATION"})

EVIDENCE_KEYS = ("runtime_exact", "runtime_contains", "runtime_nomatch", "sql", "config", "static",
                 "openlineage")
_SQL_SIGNAL_KINDS = frozenset((*SQL_KINDS, *KIND_ALIASES))


def effective_kind(signal: FlowSignal) -> str:
    """The kind a signal counts as: its own, `MASKED` for a masked SQL signal.

    Raises ValueError for a kind that is not in the table (a bug upstream).
    """
    kind = signal.kind
    if signal.masking and kind in _SQL_SIGNAL_KINDS:
        return "MASKED"
    kind = KIND_ALIASES.get(kind, kind)
    if kind not in KIND_RULES:
        raise ValueError(f"unknown flow signal kind {kind[:40]!r}")
    return kind


def count_key(signal: FlowSignal) -> str:
    """The key a signal counts under in `EdgeState.counts`: its effective kind,
    with `VIA_OPENLINEAGE` appended when OpenLineage reported it."""
    kind = effective_kind(signal)
    if signal.origin == "openlineage" and KIND_RULES[kind].evidence != "openlineage":
        return kind + VIA_OPENLINEAGE
    return kind


def kind_of_key(key: str) -> str:
    """The effective kind of a count key (`IDENTITY@openlineage` -> `IDENTITY`)."""
    return key.partition("@")[0]


def _evidence_of_key(key: str) -> str:
    if key.endswith(VIA_OPENLINEAGE):
        return "openlineage"
    return KIND_RULES[key].evidence


# -- the edge state -----------------------------------------------------------
# The record and its codec are `vocab.EdgeState`; what its counts mean is here.


def evidence_of(state: EdgeState) -> dict[str, int]:
    """The contract's evidence counters of an edge (per-kind counts folded by `KIND_RULES`)."""
    out = dict.fromkeys(EVIDENCE_KEYS, 0)
    for key, n in state.counts.items():
        out[_evidence_of_key(key)] += n
    return out


# -- folding and scoring ------------------------------------------------------


def score_of(counts: Mapping[str, int]) -> tuple[str, float]:
    """Confidence band and score of per-kind evidence counts.

    band  = the best band over the kinds seen (none seen: low).
    raw   = 1 - prod over kinds of (1 - p_kind) ** n_kind   (noisy-OR)
    score = raw clipped into the band's range, rounded to 2 decimals.
    """
    band = LOW
    log_miss = 0.0
    for kind, n in counts.items():
        if n <= 0:
            continue
        rule = KIND_RULES[kind_of_key(kind)]
        if CONFIDENCE_RANK[rule.band] > CONFIDENCE_RANK[band]:
            band = rule.band
        log_miss += n * math.log1p(-rule.weight)
    raw = -math.expm1(log_miss)  # 1 - exp(log_miss), accurate near 0
    lo, hi = BAND_RANGE[band]
    return band, round(min(max(raw, lo), hi), 2)


def confidence(state: EdgeState) -> tuple[str, float]:
    """(band, score) of an edge from its evidence: see docs/CONFIDENCE.md."""
    return score_of(state.counts)


def apply_signal(state: EdgeState | None, signal: FlowSignal) -> EdgeState:
    """Fold one signal into an edge (None: a new edge). The version is not touched.

    A tombstoned (retracted) edge is re-created by any signal but `STATIC`: a
    static proposal already had its verification window, so repeating it
    (an analyzer re-run) only counts, and the edge stays deleted.
    """
    kind = count_key(signal)
    first_ts = signal.first_ts
    if state is None:
        state = EdgeState(src=signal.src, dst=signal.dst, first_seen=first_ts,
                          last_seen=signal.ts)
    elif (state.src, state.dst) != (signal.src, signal.dst):
        raise ValueError("signal does not belong to this edge")
    counts = dict(state.counts)
    counts[kind] = counts.get(kind, 0) + signal.count
    band, score = score_of(counts)
    # Every field given: the constructor, not `dataclasses.replace` (a few times
    # cheaper, and this runs once per signal).
    return EdgeState(src=state.src, dst=state.dst, counts=frozen_counts(counts),
                     first_seen=min(state.first_seen, first_ts),
                     last_seen=max(state.last_seen, signal.ts), version=state.version,
                     confidence=band, score=score, deleted=state.deleted and kind == "STATIC")


def _upsert(state: EdgeState, version: int) -> dict[str, Any]:
    return {
        "v": 1, "op": "upsert", "edge_id": state.edge_id, "src": state.src, "dst": state.dst,
        "confidence": state.confidence, "score": state.score, "kinds": sorted(state.kinds),
        "evidence": evidence_of(state), "first_seen": state.first_seen,
        "last_seen": state.last_seen, "version": version, "counts": dict(state.counts),
    }


def delta_for(old: EdgeState | None, new: EdgeState) -> dict[str, Any] | None:
    """The `lineage-graph` upsert due after `old` became `new`, or None.

    Due when the edge appears (no old state, or old was retracted) or its
    confidence, kinds or score changed. Its version is `old.version + 1`
    (1 for a new edge): store `new` with that version, as `merge` does.
    """
    if new.deleted:
        return None
    if (
        old is not None
        and not old.deleted
        and old.confidence == new.confidence
        and old.score == new.score
        and old.kinds == new.kinds
    ):
        return None
    return _upsert(new, (old.version if old is not None else 0) + 1)


def merge(old: EdgeState | None, signal: FlowSignal) -> tuple[EdgeState, dict[str, Any] | None]:
    """Fold a signal; the new state (version bumped iff a delta is due) and the delta."""
    new = apply_signal(old, signal)
    delta = delta_for(old, new)
    if delta is not None:
        new = EdgeState(src=new.src, dst=new.dst, counts=new.counts,
                        first_seen=new.first_seen, last_seen=new.last_seen,
                        version=delta["version"], confidence=new.confidence, score=new.score,
                        deleted=new.deleted)
    return new, delta


# -- static verification ------------------------------------------------------


def static_expired(state: EdgeState, watermark_ms: int, verification_ms: int) -> bool:
    """True when a live, static-only edge has waited past its verification window."""
    return (
        not state.deleted
        and state.static_only
        and watermark_ms > state.first_seen + verification_ms
    )


def retract(state: EdgeState) -> tuple[EdgeState, dict[str, Any]]:
    """Tombstone an edge: the new state and its `op: "delete"` delta (version + 1)."""
    if state.deleted:
        raise ValueError("edge is already retracted")
    version = state.version + 1
    delta = {"v": 1, "op": "delete", "edge_id": state.edge_id, "src": state.src,
             "dst": state.dst, "version": version, "counts": dict(state.counts),
             "first_seen": state.first_seen, "last_seen": state.last_seen}
    return replace(state, deleted=True, version=version), delta


# -- restoring from the graph -------------------------------------------------

#: The kind each evidence counter stands for when a delta has no `counts`
#: (deltas written before `counts` existed): exact for the runtime, config and
#: static counters; `sql` and `openlineage` may mix kinds, so their totals are
#: read as the first kind of the delta's `kinds` that counts under them.
_KIND_OF_EVIDENCE: Mapping[str, str] = MappingProxyType({
    "runtime_exact": "EXACT_MATCH", "runtime_contains": "CONTAINS",
    "runtime_nomatch": "NO_MATCH", "config": "CONFIG", "static": "STATIC",
    "sql": "TRANSFORMATION", "openlineage": "OPENLINEAGE",
})


def _counts_of_delta(delta: Mapping[str, Any]) -> dict[str, int]:
    counts = delta.get("counts")
    if isinstance(counts, dict):
        return {str(k): int(n) for k, n in counts.items()}
    kinds = [k for k in delta.get("kinds") or () if k in KIND_RULES]
    out: dict[str, int] = {}
    for evidence, n in (delta.get("evidence") or {}).items():
        if not n or evidence not in _KIND_OF_EVIDENCE:
            continue
        kind = next((k for k in kinds if KIND_RULES[k].evidence == evidence),
                    _KIND_OF_EVIDENCE[evidence])
        out[kind] = out.get(kind, 0) + int(n)
    return out


def state_of_delta(delta: Mapping[str, Any]) -> EdgeState:
    """The edge state a `lineage-graph` delta was sent from: how a worker that takes
    over a `flow-signals` partition gets its edges back, versions included.

    Exact for deltas with `counts` (confidence, score, version, seen times
    are the delta's); evidence folded since the edge's last delta (signals
    that changed nothing a subscriber sees) is not in the topic and restarts
    from the delta's counts. Raises KeyError/ValueError/TypeError on a
    delta that is not one.
    """
    deleted = delta["op"] == "delete"
    counts = frozen_counts(_counts_of_delta(delta))
    if deleted:
        band, score = score_of(counts)
    else:
        band, score = str(delta["confidence"]), float(delta["score"])
    return EdgeState(
        src=str(delta["src"]), dst=str(delta["dst"]), counts=counts,
        first_seen=int(delta.get("first_seen", 0)), last_seen=int(delta.get("last_seen", 0)),
        version=int(delta["version"]), confidence=band, score=score, deleted=deleted,
    )
