"""Zone membership as a stream: each policy's zone as keyed `policy-zones` deltas.

The probes' enforcement (and anyone else) follows the zone without running
the zone logic: one compacted record per `policy_id|asset`, a `zone_member`
event while the asset is in the zone (or excluded by review), a tombstone
(`None`) once it is not. `MembershipLedger` remembers what was published, so
only changes go out and a restart that finds the same zone sends nothing.

>>> from analyzers.policy.graph import MemoryGraph
>>> from analyzers.policy.model import Edge, Policy
>>> from analyzers.policy.zone import compute_zone
>>> g = MemoryGraph()
>>> _ = g.upsert(Edge("a#x", "ads://b", "high"))
>>> p = Policy.create("p", ["L"], ["ads://*"])
>>> members = zone_members(p, compute_zone(g, p, {"a#x": ["L"]}), {})
>>> sorted((m.asset, m.state) for m in members.values())
[('a#x', 'root'), ('ads://b', 'denied')]
>>> ledger = MembershipLedger()
>>> [k for k, _ in ledger.update("p", members, ts=1)]
['p|a#x', 'p|ads://b']
>>> ledger.update("p", members, ts=2)
[]
>>> ledger.update("p", {}, ts=3)
[('p|a#x', None), ('p|ads://b', None)]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from analyzers.policy.model import EXCLUDE, Decision, Policy
from analyzers.policy.zone import Zone

__all__ = ["IN_ZONE_STATES", "Member", "MembershipLedger", "member_event", "member_key",
           "zone_members"]

#: Assets in these states carry the policy's protected data (the probes taint on them).
IN_ZONE_STATES = ("root", "reached", "included", "denied")


@dataclass(frozen=True, slots=True)
class Member:
    """One asset of a policy's zone as published (what a change of is a new record)."""

    asset: str
    state: str  #: root, reached, included, denied (in the zone) or excluded (by review)
    label: str | None
    confidence: str | None


def member_key(policy_id: str, asset: str) -> str:
    """The `policy-zones` key."""
    return f"{policy_id}|{asset}"


def zone_members(policy: Policy, zone: Zone | None,
                 reviews: Mapping[str, Decision]) -> dict[str, Member]:
    """Every published member of `policy`'s zone, by asset: the zone, then its exclusions."""
    members: dict[str, Member] = {}
    if zone is not None:
        for asset in zone.nodes():
            entry = zone.entry(asset)
            if entry is None:
                continue
            if asset in zone.roots:
                state = "root"
            elif entry.confirmed:
                state = "included"
            elif policy.deny.matches(asset):
                state = "denied"
            else:
                state = "reached"
            members[asset] = Member(asset, state, entry.label, entry.confidence)
    for asset, decision in reviews.items():
        if decision == EXCLUDE and asset not in members:
            members[asset] = Member(asset, "excluded", None, None)
    return members


def member_event(policy_id: str, member: Member, ts: int) -> dict[str, Any]:
    """A `policy-zones` event (docs/EVENTS.md)."""
    event: dict[str, Any] = {"v": 1, "type": "zone_member", "policy_id": policy_id,
                             "asset": member.asset, "state": member.state,
                             "labels": [member.label] if member.label else [], "ts": ts}
    if member.confidence is not None:
        event["confidence"] = member.confidence
    return event


class MembershipLedger:
    """What `policy-zones` holds, per policy; `update` returns the records to send."""

    def __init__(self) -> None:
        self._published: dict[str, dict[str, Member]] = {}

    def restore(self, event: Mapping[str, Any]) -> None:
        """Seed from a record read back from the topic (latest per key)."""
        policy_id, asset = str(event["policy_id"]), str(event["asset"])
        labels = event.get("labels") or []
        confidence = event.get("confidence")
        self._published.setdefault(policy_id, {})[asset] = Member(
            asset, str(event["state"]), str(labels[0]) if labels else None,
            None if confidence is None else str(confidence))

    def policies(self) -> list[str]:
        return list(self._published)

    def update(self, policy_id: str, members: Mapping[str, Member],
               *, ts: int) -> list[tuple[str, dict[str, Any] | None]]:
        """The (key, event or None) records that turn what was published into `members`."""
        old = self._published.get(policy_id, {})
        out: list[tuple[str, dict[str, Any] | None]] = []
        for asset in sorted(old.keys() | members.keys()):
            before, after = old.get(asset), members.get(asset)
            if before == after:
                continue
            key = member_key(policy_id, asset)
            out.append((key, None if after is None else member_event(policy_id, after, ts)))
        if members:
            self._published[policy_id] = dict(members)
        else:
            self._published.pop(policy_id, None)
        return out
