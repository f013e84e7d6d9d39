"""Policy zones: where protected data reaches, and which deny globs it hits.

Pure: no Kafka, no Faust, no I/O. The policy monitor agent (streams/) keeps a
`PolicyZones` over the graph store and feeds it labels, policies, reviews and
graph changes; every `on_*` call returns the `policy-violations` events to
send. docs/POLICY.md describes the semantics.
"""

from __future__ import annotations

from analyzers.policy.globs import DenyGlob, DenySet, glob_to_regex
from analyzers.policy.graph import EdgeChange, MemoryGraph
from analyzers.policy.members import (
    IN_ZONE_STATES,
    Member,
    MembershipLedger,
    member_event,
    member_key,
    zone_members,
)
from analyzers.policy.model import (
    EXCLUDE,
    INCLUDE,
    Decision,
    Edge,
    EdgeView,
    Enforcement,
    GraphView,
    Policy,
    PolicyError,
    ViolationState,
    state_of_event,
    violation_event,
    violation_key,
)
from analyzers.policy.monitor import PolicyZones
from analyzers.policy.zone import (
    Hop,
    Zone,
    ZoneEntry,
    ZoneRules,
    compute_zone,
    edges_from,
    label_for,
    overlaps,
)

__all__ = [
    "EXCLUDE",
    "INCLUDE",
    "IN_ZONE_STATES",
    "Decision",
    "DenyGlob",
    "DenySet",
    "Edge",
    "EdgeChange",
    "EdgeView",
    "Enforcement",
    "GraphView",
    "Hop",
    "Member",
    "MembershipLedger",
    "MemoryGraph",
    "Policy",
    "PolicyError",
    "PolicyZones",
    "ViolationState",
    "Zone",
    "ZoneEntry",
    "ZoneRules",
    "compute_zone",
    "edges_from",
    "glob_to_regex",
    "label_for",
    "member_event",
    "member_key",
    "overlaps",
    "state_of_event",
    "violation_event",
    "violation_key",
    "zone_members",
]
