"""The policy monitor's logic: zones kept up to date, violations diffed into events.

`PolicyZones` holds the labels, policies and reviews it was told about, one
`Zone` per policy, and the open violations. Each `on_*` method takes one
input change (the graph store must already reflect a graph change) and
returns the `policy-violations` events to send, keyed by `violation_key`:

- a sink entering a zone -> `open`;
- its path, confidence, label, source or `confirmed` changing -> `open`
  again with the new values (same `detected_at`);
- no path left (edge deleted or weakened, exclusion, label or policy gone,
  deny changed) -> `resolved`, repeating the last open values.

An input that changes nothing emits nothing, so redelivery is harmless.
`ts` of an event is the triggering input's `ts`; `detected_at` comes from
the injected `clock` (epoch ms), never from wall time here.

What each input recomputes (docs/POLICY.md, "Incremental"):

| input | work |
|---|---|
| edge upsert, not weaker | extend each zone that holds a node overlapping `src` |
| edge delete / weaker | rebuild only zones whose tree uses the edge |
| label gained | extend each policy protecting it from the new root |
| label lost / changed | rebuild the policies whose root it was |
| review exclude | rebuild that policy if the asset is in its zone |
| review include / removed | rebuild that policy |
| policy new / zone changed | build that policy |
| policy deny changed | re-check that policy's sinks |
| policy tombstone | resolve its open violations |
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from analyzers.policy.members import Member, zone_members
from analyzers.policy.model import (
    EXCLUDE,
    INCLUDE,
    Decision,
    EdgeView,
    GraphView,
    Policy,
    PolicyError,
    ViolationState,
    state_of_event,
    violation_event,
)
from analyzers.policy.zone import Hop, Zone, ZoneEntry, ZoneRules, label_for
from vocab import table_of

__all__ = ["PolicyZones"]

Event = dict[str, Any]


class PolicyZones:
    """Every policy's zone over one graph, and the violations they open."""

    def __init__(self, graph: GraphView, *, clock: Callable[[], int]) -> None:
        self.graph = graph
        self._clock = clock
        self._labels: dict[str, frozenset[str]] = {}
        self._by_label: dict[str, set[str]] = {}  # label -> assets carrying it
        self._policies: dict[str, Policy] = {}
        self._reviews: dict[str, dict[str, Decision]] = {}  # policy_id -> asset -> decision
        self._zones: dict[str, Zone] = {}
        # policy_id -> sink -> (state, detected_at) of the open violation
        self._open: dict[str, dict[str, tuple[ViolationState, int]]] = {}
        # policies whose zone membership may have changed since `take_touched`
        self._touched: set[str] = set()

    # -- inputs ------------------------------------------------------------
    def on_edge_upsert(self, edge: EdgeView, *, previous: EdgeView | None, ts: int) -> list[Event]:
        """An edge appeared or changed (`previous`: the edge before, None if new)."""
        events: list[Event] = []
        for policy_id, zone in self._zones.items():
            rules = zone.rules
            new_rank = rules.edge_rank(edge)
            if previous is not None:
                old_rank = rules.edge_rank(previous)
                if new_rank < old_rank and zone.uses_edge(
                    self.graph, edge.src, edge.dst, old_rank
                ):
                    events += self._rebuild(policy_id, ts)
                if new_rank <= old_rank:
                    continue  # no stronger: nothing to extend
            changed = zone.add_edge(self.graph, edge)
            if changed:
                events += self._diff(policy_id, changed, ts, extension=True)
        return events

    def on_edge_delete(self, edge: EdgeView, *, ts: int) -> list[Event]:
        """An edge was retracted (`edge`: the edge as it was before the delete)."""
        events: list[Event] = []
        for policy_id, zone in self._zones.items():
            if zone.uses_edge(self.graph, edge.src, edge.dst, zone.rules.edge_rank(edge)):
                events += self._rebuild(policy_id, ts)
        return events

    def on_edge_change(
        self, previous: EdgeView | None, current: EdgeView | None, *, ts: int
    ) -> list[Event]:
        """`on_edge_upsert` or `on_edge_delete`, from a store's before/after pair."""
        if current is not None:
            return self.on_edge_upsert(current, previous=previous, ts=ts)
        if previous is not None:
            return self.on_edge_delete(previous, ts=ts)
        return []

    def on_label(self, asset: str, labels: Iterable[str] | None, *, ts: int) -> list[Event]:
        """An `asset-labels` record; `labels` None (tombstone) or empty removes them."""
        old = self._labels.get(asset, frozenset())
        new = frozenset(labels or ())
        if old == new:
            return []
        self._set_labels(asset, new)
        events: list[Event] = []
        for policy_id, policy in self._policies.items():
            was, now = label_for(policy, old), label_for(policy, new)
            if was == now:
                continue
            zone = self._zones[policy_id]
            if was is None and now is not None:
                changed = zone.add_root(self.graph, asset, now)
                events += self._diff(policy_id, changed, ts, extension=True)
            elif was is not None and now is not None and asset in zone.roots:
                zone.roots[asset] = now  # same paths, another label on them
                events += self._diff(policy_id, set(), ts)
            elif asset in zone.roots:
                events += self._rebuild(policy_id, ts)
        return events

    def on_policy(self, policy_id: str, policy: Policy | None, *, ts: int) -> list[Event]:
        """A `policies` record; `policy` None is the tombstone of `policy_id`."""
        if policy is not None and policy.policy_id != policy_id:
            raise PolicyError("policy: 'policy_id' differs from the record key")
        old = self._policies.get(policy_id)
        if policy is None:
            if old is None:
                return []
            del self._policies[policy_id]
            del self._zones[policy_id]
            self._touched.add(policy_id)
            return self._resolve_all(policy_id, ts)
        if old is not None and old.same_as(policy):
            return []
        self._policies[policy_id] = policy
        if old is not None and old.same_zone_as(policy):
            return self._diff(policy_id, set(self._zones[policy_id].nodes()), ts)
        return self._rebuild(policy_id, ts)

    def on_review(
        self, policy_id: str, asset: str, decision: Decision | None, *, ts: int
    ) -> list[Event]:
        """A `reviews` record (key `policy_id|asset`); `decision` None is its tombstone.

        Reviews of a policy not (yet) known are kept and apply when it arrives.
        """
        if decision not in (INCLUDE, EXCLUDE, None):
            raise PolicyError("review: field 'decision' must be include or exclude")
        reviews = self._reviews.setdefault(policy_id, {})
        old = reviews.get(asset)
        if old == decision:
            return []
        self._touched.add(policy_id)  # exclusions are published members
        if decision is None:
            del reviews[asset]
        else:
            reviews[asset] = decision
        zone = self._zones.get(policy_id)
        if zone is None:
            return []
        if decision == EXCLUDE and old is None and not self._touches_zone(zone, asset):
            return []  # an asset outside the zone stays outside
        return self._rebuild(policy_id, ts)

    def restore(self, event: Mapping[str, Any]) -> None:
        """Seed the open violations from the `policy-violations` topic (latest per key)
        before the first input, so a restart re-emits nothing already open."""
        policy_id, sink = str(event["policy_id"]), str(event["sink"])
        if event.get("status") == "open":
            detected_at = int(event.get("detected_at", 0))
            self._open.setdefault(policy_id, {})[sink] = (state_of_event(event), detected_at)
        else:
            self._open.get(policy_id, {}).pop(sink, None)

    def load(
        self,
        *,
        labels: Mapping[str, Iterable[str]] = {},
        policies: Iterable[Policy] = (),
        reviews: Iterable[tuple[str, str, Decision]] = (),
    ) -> None:
        """Take state in bulk without computing (a restart); then call `rebuild_all`."""
        for asset, asset_labels in labels.items():
            self._set_labels(asset, frozenset(asset_labels))
        for policy in policies:
            self._policies[policy.policy_id] = policy
        for policy_id, asset, decision in reviews:
            self._reviews.setdefault(policy_id, {})[asset] = decision

    def rebuild_all(self, *, ts: int) -> list[Event]:
        """Build every zone from scratch and diff against the open violations."""
        events: list[Event] = []
        for policy_id in sorted(self._policies):
            events += self._rebuild(policy_id, ts)
        for policy_id in sorted(set(self._open) - set(self._policies)):
            events += self._resolve_all(policy_id, ts)
        return events

    # -- reading -----------------------------------------------------------
    def policies(self) -> dict[str, Policy]:
        return dict(self._policies)

    def zone(self, policy_id: str) -> Zone | None:
        return self._zones.get(policy_id)

    def explain(self, policy_id: str, asset: str) -> tuple[ZoneEntry, list[Hop]] | None:
        """Why `asset` is in `policy_id`'s zone: its entry and the edges of its path."""
        zone = self._zones.get(policy_id)
        entry = None if zone is None else zone.entry(asset)
        if zone is None or entry is None:
            return None
        hops = zone.explain(self.graph, asset)
        assert hops is not None
        return entry, hops

    def take_touched(self) -> set[str]:
        """The policies whose zone membership may have changed since the last call."""
        touched, self._touched = self._touched, set()
        return touched

    def members(self, policy_id: str) -> dict[str, Member]:
        """`policy_id`'s zone as `policy-zones` publishes it (empty: no such policy)."""
        policy = self._policies.get(policy_id)
        if policy is None:
            return {}
        return zone_members(policy, self._zones.get(policy_id),
                            self._reviews.get(policy_id, {}))

    def open_violations(self) -> dict[tuple[str, str], ViolationState]:
        """Every open violation, by `(policy_id, sink)`."""
        return {
            (policy_id, sink): state
            for policy_id, sinks in self._open.items()
            for sink, (state, _) in sinks.items()
        }

    # -- inside --------------------------------------------------------------
    def _set_labels(self, asset: str, labels: frozenset[str]) -> None:
        for label in self._labels.get(asset, ()):
            holders = self._by_label[label]
            holders.discard(asset)
            if not holders:
                del self._by_label[label]
        if labels:
            self._labels[asset] = labels
            for label in labels:
                self._by_label.setdefault(label, set()).add(asset)
        else:
            self._labels.pop(asset, None)

    def _roots(self, policy: Policy) -> dict[str, str]:
        roots: dict[str, str] = {}
        for label in policy.protects:
            for asset in self._by_label.get(label, ()):
                if asset not in roots or label < roots[asset]:
                    roots[asset] = label
        return roots

    @staticmethod
    def _touches_zone(zone: Zone, asset: str) -> bool:
        """Whether a review of `asset` can touch the zone (it or, a table, a field of it)."""
        if asset in zone:
            return True
        if "#" in asset:
            return False
        return any(table_of(node) == asset for node in zone.nodes())

    def _rebuild(self, policy_id: str, ts: int) -> list[Event]:
        policy = self._policies[policy_id]
        rules = ZoneRules(policy.min_rank, self._reviews.setdefault(policy_id, {}))
        zone = Zone.build(self.graph, policy_id, rules, self._roots(policy))
        self._zones[policy_id] = zone
        return self._diff(policy_id, set(zone.nodes()), ts)

    def _diff(
        self, policy_id: str, candidates: set[str], ts: int, *, extension: bool = False
    ) -> list[Event]:
        """Events for the sinks among `candidates` and the open ones of `policy_id`.

        After an `extension` (an edge or a root added: distances only shrink,
        nothing leaves), an open sink's path changes only if a node on it
        changed (its parent or level), so only those open sinks are re-derived.
        """
        policy, zone = self._policies[policy_id], self._zones[policy_id]
        self._touched.add(policy_id)
        opened = self._open.setdefault(policy_id, {})
        events: list[Event] = []
        if extension:
            touched = {
                sink for sink, (state, _) in opened.items() if not candidates.isdisjoint(state.path)
            }
        else:
            touched = set(opened)
        for sink in sorted(candidates | touched):
            entry = zone.entry(sink) if policy.deny.matches(sink) else None
            known = opened.get(sink)
            if entry is None:
                if known is not None:
                    del opened[sink]
                    events.append(self._event(policy_id, sink, known[0], "resolved", None, ts))
                continue
            state = ViolationState(
                entry.label, entry.source, entry.path, entry.confidence, entry.confirmed
            )
            if known is not None and known[0] == state:
                continue
            detected_at = self._clock() if known is None else known[1]
            opened[sink] = (state, detected_at)
            events.append(self._event(policy_id, sink, state, "open", detected_at, ts))
        if not opened:
            del self._open[policy_id]
        return events

    def _resolve_all(self, policy_id: str, ts: int) -> list[Event]:
        opened = self._open.pop(policy_id, {})
        return [
            self._event(policy_id, sink, state, "resolved", None, ts)
            for sink, (state, _) in sorted(opened.items())
        ]

    def _event(
        self,
        policy_id: str,
        sink: str,
        state: ViolationState,
        status: str,
        detected_at: int | None,
        ts: int,
    ) -> Event:
        return violation_event(
            policy_id,
            sink,
            state,
            status="open" if status == "open" else "resolved",
            detected_at=self._clock() if detected_at is None else detected_at,
            ts=ts,
        )

