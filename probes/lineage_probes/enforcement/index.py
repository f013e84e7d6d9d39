"""What enforcement knows: the policies' rules and their zones, as one immutable snapshot.

`ZoneState` takes the records of `policies` and `policy-zones` (latest per
key, tombstones delete) in the feed's thread; `snapshot()` makes a
`ZoneIndex` that request threads read without a lock (a new one replaces
the old reference after each batch). Lookups are dict hits: the zone by
table (`taints`), and the policies whose deny globs match a sink asset,
compiled once per asset and kept (`denying`).

>>> state = ZoneState()
>>> state.apply_policy(b"p", b'{"policy_id":"p","deny":["http://ads/**"],"mode":"enforce"}')
>>> state.apply_member(b"p|db://app/users#city", b'{"state":"root"}')
>>> index = state.snapshot()
>>> index.taints("db://app/users", ["name", "city"])
[('p', 'db://app/users#city')]
>>> index.taints("db://app/users", ["name"]), index.denying("http://ads/v1")
([], ('p',))
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from lineage_probes.enforcement.globs import Compiled, compile_globs, denies

#: Sink kinds an `enforce` policy blocks when it names none (all but `log`).
DEFAULT_ENFORCE_ON = frozenset({"db", "http", "kafka", "cache"})
#: Member states that carry the policy's protected data.
IN_ZONE = frozenset({"root", "reached", "included", "denied"})
_DENY_CACHE_MAX = 10_000
_QUIET_MAX = 10_000


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """How the probes act on one policy."""

    policy_id: str
    mode: str = "log"
    enforce_on: frozenset[str] = DEFAULT_ENFORCE_ON
    fail_mode: str = "fail_open"
    match: str = "request"
    deny: Compiled = ()

    @classmethod
    def from_event(cls, policy_id: str, event: dict[str, object]) -> PolicyRule:
        kinds = event.get("enforce_on")
        deny = event.get("deny")
        return cls(
            policy_id,
            "enforce" if event.get("mode") == "enforce" else "log",
            frozenset(str(k) for k in kinds) if isinstance(kinds, list) else DEFAULT_ENFORCE_ON,
            "fail_closed" if event.get("fail_mode") == "fail_closed" else "fail_open",
            "value" if event.get("match") == "value" else "request",
            compile_globs(str(g) for g in deny) if isinstance(deny, list) else (),
        )

    def blocks(self, kind: str) -> bool:
        return self.mode == "enforce" and kind in self.enforce_on


class ZoneIndex:
    """An immutable view of the rules and zones, read by every request."""

    def __init__(self, rules: dict[str, PolicyRule],
                 by_table: dict[str, dict[str, frozenset[str] | None]]) -> None:
        self.rules = rules
        # table -> policy -> its fields in the zone (None: the table itself is)
        self.by_table = by_table
        # tables in the zone of a precise (`match: value`) policy: their reads keep values
        self.precise = frozenset(
            table for table, policies in by_table.items()
            if any(p in rules and rules[p].match == "value" for p in policies))
        self._deny: dict[str, tuple[str, ...]] = {}
        self._inputs: dict[str, list[tuple[str, str]]] = {}  # taints(table, None), kept
        # DB statements (a hook's key: the database and the statement text) this
        # index has nothing to do with: neither a read of a zone table nor a write
        # to a sink a policy denies. Filled by `dbcapture.Guard` once the zones
        # were read; a hook finding its statement here skips every other check.
        # `writes`: writes to a sink a policy denies (checked only for a tainted
        # request while the zones are fresh); `loud`: every statement found not
        # quiet (not judged again).
        self.quiet: set[object] = set()
        self.writes: set[object] = set()
        self.loud: set[object] = set()

    def taints(self, table: str, fields: Iterable[str] | None) -> list[tuple[str, str]]:
        """The policies whose zone holds what a read of `table` (these fields) returns.

        `fields` None: not known (a request's inputs); any zone field of the
        asset but its `response...` fields counts.
        """
        policies = self.by_table.get(table)
        if not policies:
            return []
        if fields is None:
            known = self._inputs.get(table)
            if known is not None:
                return known
        found = []
        for policy_id, zone_fields in policies.items():
            if zone_fields is None:
                found.append((policy_id, table))
                continue
            if fields is None:
                hit = next((f for f in sorted(zone_fields) if not f.startswith("response")),
                           None)
            else:
                hit = next((f for f in fields if f in zone_fields), None)
            if hit is not None:
                found.append((policy_id, f"{table}#{hit}"))
        if fields is None and len(self._inputs) < _DENY_CACHE_MAX:
            self._inputs[table] = found  # the same for every read with fields unknown
        return found

    def denying(self, asset: str) -> tuple[str, ...]:
        """The policies whose deny globs match `asset` (matched once per asset, then kept)."""
        found = self._deny.get(asset)
        if found is None:
            found = tuple(p for p, rule in self.rules.items() if denies(rule.deny, asset))
            if len(self._deny) < _DENY_CACHE_MAX:
                self._deny[asset] = found
        return found

    def judged(self, key: object, verdict: str) -> None:
        """Remember a statement's verdict, `quiet`, `write` (to a denied sink) or `loud`;
        never in `EMPTY`, the stand-in before any read."""
        if self is EMPTY or len(self.loud) + len(self.quiet) >= _QUIET_MAX:
            return
        if verdict == "quiet":
            self.quiet.add(key)
            return
        if verdict == "write":
            self.writes.add(key)
        self.loud.add(key)


EMPTY = ZoneIndex({}, {})


class ZoneState:
    """The latest record per key of `policies` and `policy-zones` (the feed's side)."""

    def __init__(self) -> None:
        self.rules: dict[str, PolicyRule] = {}
        self.members: dict[tuple[str, str], bool] = {}  # (policy, asset) -> in the zone

    def apply_policy(self, key: bytes | None, value: bytes | None) -> None:
        if not key:
            return
        policy_id = key.decode("utf-8", "replace")
        event = _object(value)
        if event is None:
            self.rules.pop(policy_id, None)
        else:
            self.rules[policy_id] = PolicyRule.from_event(policy_id, event)

    def apply_member(self, key: bytes | None, value: bytes | None) -> None:
        if not key:
            return
        policy_id, sep, asset = key.decode("utf-8", "replace").partition("|")
        if not sep:
            return
        event = _object(value)
        if event is None or event.get("state") not in IN_ZONE:
            self.members.pop((policy_id, asset), None)
        else:
            self.members[(policy_id, asset)] = True

    def snapshot(self) -> ZoneIndex:
        grouped: dict[str, dict[str, set[str] | None]] = {}
        for policy_id, asset in self.members:
            table, sep, field = asset.partition("#")
            per_policy = grouped.setdefault(table, {})
            if not sep:
                per_policy[policy_id] = None
            elif policy_id not in per_policy:
                per_policy[policy_id] = {field}
            else:
                fields = per_policy[policy_id]
                if fields is not None:
                    fields.add(field)
        by_table = {table: {p: None if f is None else frozenset(f) for p, f in pols.items()}
                    for table, pols in grouped.items()}
        return ZoneIndex(dict(self.rules), by_table)


def _object(value: bytes | None) -> dict[str, object] | None:
    if value is None:
        return None
    try:
        event = json.loads(value)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None
