"""What the policy monitor reads, turned into `PolicyZones` calls.

Shared by the worker's monitor (streams/policy/monitor.py) and the offline
`lineage zone` command: records of `asset-labels`, `policies` and `reviews`
(compacted; a `None` value is a tombstone that deletes its key) become
`PolicyInput`s, and `StoreGraphView` lets the pure zone logic read a
`state.graph.GraphStore`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from analyzers.events import InvalidEvent, decode_event, validate_event
from analyzers.policy import Decision, Policy, PolicyError, PolicyZones
from state.graph import EdgeRef, GraphChange, GraphStore

#: The topics the monitor reads besides `lineage-graph`, by contract name.
INPUT_TOPICS = ("asset-labels", "policies", "reviews")

Kind = Literal["label", "policy", "review"]
_KINDS: dict[str, Kind] = {"asset-labels": "label", "policies": "policy", "reviews": "review"}


class StoreGraphView:
    """The `GraphView` of analyzers.policy over a graph store (the replica)."""

    def __init__(self, graph: GraphStore) -> None:
        self.graph = graph

    def out_edges(self, node: str) -> list[EdgeRef]:
        return self.graph.direct_edges(node, "downstream")

    def field_out_edges(self, table: str) -> Iterator[EdgeRef]:
        for field in self.graph.fields(table, "downstream"):
            yield from self.graph.direct_edges(field, "downstream")


@dataclass(frozen=True, slots=True)
class PolicyInput:
    """One usable record of an input topic; `value` None is a deletion.

    `value` is the labels (label), the `Policy` (policy) or the decision
    (review); `policy_id` is set for policies and reviews, `asset` for labels
    and reviews.
    """

    kind: Kind
    policy_id: str
    asset: str
    value: Any
    ts: int

    def apply(self, zones: PolicyZones) -> list[dict[str, Any]]:
        """Feed this record to `zones`; the violation events it causes."""
        if self.kind == "label":
            return zones.on_label(self.asset, self.value, ts=self.ts)
        if self.kind == "policy":
            return zones.on_policy(self.policy_id, self.value, ts=self.ts)
        return zones.on_review(self.policy_id, self.asset, self.value, ts=self.ts)


def parse_input(topic: str, key: bytes | None, value: bytes | None, ts: int) -> PolicyInput:
    """A record of `topic` (a contract name) as a `PolicyInput`; raises `InvalidEvent`.

    A tombstone is identified by its key alone (`asset`, `policy_id`,
    `policy_id|asset`); an event by its own fields, which must agree with
    the key when there is one (the key is what a later tombstone deletes).
    `ts` is the record's timestamp, used for tombstones (events carry `ts`).

    >>> parse_input("reviews", b"p|hive://w/t", None, 5).asset
    'hive://w/t'
    """
    kind = _KINDS[topic]
    if value is None:
        if not key:
            raise InvalidEvent("tombstone without a key")
        text = key.decode("utf-8", errors="replace")
        if kind == "label":
            return PolicyInput(kind, "", text, None, ts)
        if kind == "policy":
            return PolicyInput(kind, text, "", None, ts)
        policy_id, sep, asset = text.partition("|")
        if not sep or not policy_id or not asset:
            raise InvalidEvent("review tombstone: key must be 'policy_id|asset'")
        return PolicyInput(kind, policy_id, asset, None, ts)
    event = decode_event(value)
    spec = validate_event(event, expected_topic=topic)
    if key is not None and key.decode("utf-8", errors="replace") != spec.key_of(event):
        raise InvalidEvent(
            f"{kind}: record key differs from the event's {'|'.join(spec.key_fields)}")
    event_ts = int(event["ts"])
    if kind == "label":
        return PolicyInput(kind, "", event["asset"], list(event["labels"]), event_ts)
    if kind == "policy":
        try:
            policy = Policy.from_event(event)
        except PolicyError as exc:
            raise InvalidEvent(str(exc)) from None
        return PolicyInput(kind, policy.policy_id, "", policy, event_ts)
    decision: Decision = event["decision"]
    return PolicyInput(kind, event["policy_id"], event["asset"], decision, event_ts)


def load_inputs(zones: PolicyZones, inputs: Iterable[PolicyInput]) -> None:
    """Give `zones` the latest state of each key in bulk (no computing; then rebuild)."""
    labels: dict[str, list[str]] = {}
    policies: list[Policy] = []
    reviews: list[tuple[str, str, Decision]] = []
    for item in inputs:
        if item.value is None:
            continue  # latest is a deletion: nothing to load
        if item.kind == "label":
            labels[item.asset] = item.value
        elif item.kind == "policy":
            policies.append(item.value)
        else:
            reviews.append((item.policy_id, item.asset, item.value))
    zones.load(labels=labels, policies=policies, reviews=reviews)


def net_changes(changes: Sequence[GraphChange]) -> list[GraphChange]:
    """One change per edge for a batch: the first `before`, the last `after`.

    A store applies a whole batch before listeners run, so an edge upserted
    then deleted in one batch is absent from the graph already; feeding the
    monitor its net change keeps "the graph holds the change" true.
    """
    first: dict[str, GraphChange] = {}
    last: dict[str, GraphChange] = {}
    for change in changes:
        first.setdefault(change.edge_id, change)
        last[change.edge_id] = change
    net = []
    for edge_id, change in first.items():
        end = last[edge_id]
        if change.before is None and end.after is None:
            continue  # appeared and went within the batch
        if change.before == end.after:
            continue
        net.append(GraphChange(edge_id, change.before, end.after, end.version))
    return net
