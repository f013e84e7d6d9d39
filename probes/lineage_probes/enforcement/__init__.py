"""Enforcement: policies that block a protected flow in the request, before the write.

The policy monitor publishes each policy's zone on `policy-zones`; the
probes follow it and `policies` (`feed.py`), taint a request that reads a
zone asset (`Trace.taint`, carried to the next service by the
`x-lineage-taint` header), and at each sink `Enforcer.check_sink` decides:
`log` mode records an `enforcement-events` record, `enforce` mode raises
`FlowBlocked` before the write. docs/ENFORCEMENT.md.
"""

from __future__ import annotations

from lineage_probes.enforcement.blocked import FlowBlocked
from lineage_probes.enforcement.enforcer import Enforcer
from lineage_probes.enforcement.index import PolicyRule, ZoneIndex

__all__ = ["Enforcer", "FlowBlocked", "PolicyRule", "ZoneIndex"]
