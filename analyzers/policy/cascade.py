"""What a reviewer sees before deciding: each zone asset's state, and a decision's cascade.

A zone asset is shown in one of the contract's `policy-zones` states:
`root` (carries a protected label), `denied` (a deny glob matches it: a
violation), `included` (confirmed by review), else `reached` (awaiting
review); an `excluded` asset is outside the zone by definition and is
listed from the reviews.

`preview` answers "what would these decisions do?" without writing
anything: the zone is computed with and without them, and the difference
is the cascade (an exclusion takes out everything reached only through the
excluded assets, an inclusion may let a weak edge into a confirmed asset
count as high).

>>> from analyzers.policy.graph import MemoryGraph
>>> from analyzers.policy.model import Edge
>>> g = MemoryGraph()
>>> _ = [g.upsert(Edge(a, b, "high")) for a, b in [("r", "x"), ("x", "y"), ("y", "ads")]]
>>> p = Policy.create("p", ["L"], ["ads"])
>>> cascade = preview(g, p, {"r": ["L"]}, {}, {"x": "exclude"})
>>> cascade.removed, cascade.resolved
(['ads', 'y'], ['ads'])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from analyzers.policy.model import EXCLUDE, Decision, GraphView, Policy
from analyzers.policy.zone import Zone, compute_zone

__all__ = ["Cascade", "MemberState", "member_state", "preview"]

MemberState = Literal["root", "denied", "included", "reached", "excluded"]


def member_state(zone: Zone, policy: Policy, asset: str) -> MemberState:
    """The state a page shows for `asset` (which must be in `zone`, or excluded)."""
    if asset not in zone:
        return "excluded"
    if asset in zone.roots:
        return "root"
    if policy.deny.matches(asset):
        return "denied"
    return "included" if zone.rules.included(asset) else "reached"


@dataclass(frozen=True)
class Cascade:
    """The effect of some decisions on one zone (nothing written)."""

    before: Zone
    after: Zone
    selected: tuple[str, ...]  #: the assets decided on, in the zone before
    removed: list[str]  #: other assets that leave the zone
    added: list[str]  #: assets that enter it (an inclusion can confirm a weak edge)
    resolved: list[str]  #: denied assets that leave it: violations resolved
    opened: list[str]  #: denied assets that enter it: new violations


def preview(
    graph: GraphView, policy: Policy, labels: Mapping[str, Iterable[str]],
    reviews: Mapping[str, Decision], changes: Mapping[str, Decision | None],
) -> Cascade:
    """The zone under `reviews` and under `reviews` updated by `changes` (None: clear)."""
    after_reviews = dict(reviews)
    for asset, decision in changes.items():
        if decision is None:
            after_reviews.pop(asset, None)
        else:
            after_reviews[asset] = decision
    before = compute_zone(graph, policy, labels, reviews)
    after = compute_zone(graph, policy, labels, after_reviews)
    old, new = set(before.nodes()), set(after.nodes())
    selected = tuple(sorted(a for a in changes if a in old))
    gone = old - new
    came = new - old
    return Cascade(
        before, after, selected,
        removed=sorted(gone - set(selected)),
        added=sorted(came),
        resolved=sorted(a for a in gone if policy.deny.matches(a)),
        opened=sorted(a for a in came if policy.deny.matches(a)),
    )


def excluded_assets(reviews: Mapping[str, Decision]) -> list[str]:
    """The assets a policy's reviews exclude, sorted."""
    return sorted(a for a, d in reviews.items() if d == EXCLUDE)
