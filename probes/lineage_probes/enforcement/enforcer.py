"""The decisions: taint at the read doors, check at the sink doors, record each decision.

Every request is checked, sampled or not. A read of a zone asset adds the
policy to `Trace.taint` (policy -> the asset read); an inbound
`x-lineage-taint` header adds the caller's policies (`inherited`). At a
sink, an untainted request with the zones available returns at once; a
tainted one looks up the policies denying the sink asset (`ZoneIndex.denying`,
a dict hit after the first time) and, for each it is tainted with: `log`
mode records a `logged` event and lets the write go, `enforce` mode (for a
kind in `enforce_on`) records `blocked` and raises `FlowBlocked` before the
write. When the zones cannot be read: `fail_open` policies let writes go
(counted, warned once), `fail_closed` ones block every write to a sink they
deny; before the zones were ever read, the process default
(`LINEAGE_PROBE_ENFORCE_FAIL`) applies to every sink of the blocking kinds.

Events carry names only: policy, mode, decision, sink, kind, source asset,
service, trace id, code location. Never a value.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from lineage_probes import codeloc, counters
from lineage_probes.config import ProbeConfig
from lineage_probes.context import Trace
from lineage_probes.emitter import Emitter
from lineage_probes.enforcement.blocked import FlowBlocked
from lineage_probes.enforcement.feed import ZoneSource
from lineage_probes.enforcement.index import DEFAULT_ENFORCE_ON, PolicyRule
from lineage_probes.enforcement.values import (
    MAX_VALUES,
    carries,
    needles_of,
    usable,
    zone_values,
)

log = logging.getLogger("lineage_probes.enforcement")

#: The header (HTTP) and Kafka header that carry a request's taint to the next service.
TAINT_HEADER = "x-lineage-taint"
INHERITED = "inherited"
#: A sink whose payload the hook could not give: precise policies judge it at request level.
UNKNOWN: Any = object()


class Deferred:
    """A payload or code location that costs something to build (a log record's fields,
    a statement's bound parameters, a route's inputs, a stack walk): made only when a
    decision needs it, so a tainted request's write to a sink no policy denies, or a
    read no precise policy judges by its values, never builds it."""

    __slots__ = ("_made", "_make", "_value")

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._made = False
        self._value: Any = None

    def get(self) -> Any:
        if not self._made:
            self._value = self._make()
            self._made = True
        return self._value


def _given(value: Any) -> Any:
    return value.get() if isinstance(value, Deferred) else value
#: What a DB read must collect for precise policies: policy -> (zone asset, column positions).
ValuePlan = dict[str, tuple[str, list[int]]]


class Enforcer:
    def __init__(self, cfg: ProbeConfig, source: ZoneSource, emitter: Emitter) -> None:
        self.cfg = cfg
        self.source = source
        self.emitter = emitter
        self.topic = f"{cfg.topic_prefix}enforcement-events"
        self._warned = False

    # -- taint ---------------------------------------------------------------

    def zones_hold_anything(self) -> bool:
        """Whether any asset is in a zone now: else no read can taint a request."""
        return bool(self.source.index.by_table)

    def in_a_zone(self, asset: str) -> bool:
        """Whether reading `asset` (or some field of it) would taint a request now."""
        return asset in self.source.index.by_table
    def on_read(self, trace: Trace, table: str, fields: Any = None, *,
                rows_follow: bool = False) -> ValuePlan | None:
        """`trace` read `fields` (None: unknown) of `table`: taint it with the zones of them.

        `rows_follow`: the caller will hand the rows to `on_rows` (a DB read), so
        a precise (`match: value`) policy waits for the values instead; returns
        what to collect from them.
        """
        index = self.source.index
        if table not in index.by_table:
            return None
        plan: ValuePlan = {}
        for policy_id, asset in index.taints(table, fields):
            rule = index.rules.get(policy_id)
            if rows_follow and rule is not None and rule.match == "value" and fields:
                names = list(fields)
                zone_fields = index.by_table[table][policy_id]
                plan[policy_id] = (asset, [i for i, f in enumerate(names)
                                           if zone_fields is None or f in zone_fields])
                continue
            self._whole(trace, policy_id, asset)
        return plan or None

    def precise(self, asset: str) -> bool:
        """Whether a precise policy's zone holds `asset` (or a field of it): its reads
        should hand their payload to `on_payload`."""
        return asset in self.source.index.precise

    def on_rows(self, trace: Trace, plan: ValuePlan, rows: Any) -> None:
        """Rows a precise policy's read returned: keep the forms of their zone values."""
        for policy_id, (asset, positions) in plan.items():
            read = [usable(row[i]) for row in rows for i in positions if i < len(row)]
            self._keep(trace, policy_id, asset, [v for v in read if v is not None])

    def on_payload(self, trace: Trace, table: str, read: Any) -> None:
        """A read of `table` that is not rows: a route's inputs, a consumed message, a cache read.

        Request-level policies taint as `on_read` with unknown fields. A precise one
        keeps the values of its zone fields in what was `read` (a JSON-like object,
        usually `Deferred` and made only then; `UNKNOWN` when the hook could not see
        it, or a scalar where the zone names fields, taints at request level); a
        payload holding none of its fields taints nothing.
        """
        index = self.source.index
        policies = index.by_table.get(table)
        if not policies:
            return
        payload: Any = None
        made = False
        for policy_id, asset in index.taints(table, None):
            rule = index.rules.get(policy_id)
            if rule is None or rule.match != "value":
                self._taint(trace, policy_id, asset)
                continue
            if not made:
                made = True
                try:
                    payload = _given(read)
                except Exception:  # not readable: request level, as a payload not seen
                    payload = UNKNOWN
            zone_fields = policies[policy_id]
            if payload is UNKNOWN or (zone_fields is not None
                                      and not isinstance(payload, dict | list)):
                self._whole(trace, policy_id, asset)  # fields the hook cannot see
                continue
            hit, found = zone_values(payload, zone_fields)
            if hit is not None:
                self._keep(trace, policy_id, f"{table}#{hit}" if hit else table, found)

    def _keep(self, trace: Trace, policy_id: str, asset: str, values_read: list[str]) -> None:
        """Taint with a precise policy, keeping the forms of the values read (at most
        `MAX_VALUES`; more, or a request already tainted at request level, stays at
        request level)."""
        values = trace.values
        if values is None:
            values = trace.values = {}
        first = policy_id not in (trace.taint or {})
        self._taint(trace, policy_id, asset)
        found = values.get(policy_id)
        if found is None:
            if not first:
                return  # already judged at request level
            found = values[policy_id] = set()
        read = set(values_read)
        if len(read) > MAX_VALUES:
            del values[policy_id]  # too many to carry: request level from here on
            return
        found |= needles_of(read)
        if len(found) > 7 * MAX_VALUES:
            del values[policy_id]  # too many to carry: request level from here on

    def _whole(self, trace: Trace, policy_id: str, asset: str) -> None:
        """Taint at request level, even a precise policy that kept values before."""
        self._taint(trace, policy_id, asset)
        if trace.values:
            trace.values.pop(policy_id, None)

    @staticmethod
    def _taint(trace: Trace, policy_id: str, asset: str) -> None:
        taint = trace.taint
        if taint is None:
            taint = trace.taint = {}
        taint.setdefault(policy_id, asset)

    def inherit(self, trace: Trace, header: str | bytes | None) -> None:
        """The caller's taint from its `x-lineage-taint` header (policy ids, comma-separated)."""
        if not header:
            return
        text = header.decode("latin-1") if isinstance(header, bytes) else header
        for policy_id in text.split(","):
            policy_id = policy_id.strip()
            if policy_id and len(policy_id) <= 256:
                self._taint(trace, policy_id, INHERITED)

    @staticmethod
    def header(trace: Trace) -> str | None:
        """The `x-lineage-taint` value for an outbound call or message of `trace`."""
        return ",".join(sorted(trace.taint)) if trace.taint else None

    # -- the sink door ---------------------------------------------------------
    def check_sink(self, trace: Trace, asset: str, kind: str, *,
                   code_location: str | Deferred | None = None, payload: Any = UNKNOWN) -> None:
        """Decide before a write; raises `FlowBlocked` when a policy in enforce mode forbids it."""
        taint = trace.taint
        source = self.source
        if not taint:
            if source.available():
                return
            self._unavailable(trace, asset, kind, code_location)
            return
        index = source.index
        denying = index.denying(asset)
        if not denying:
            if not source.available():
                self._unavailable(trace, asset, kind, code_location)
            return
        for policy_id in denying:
            found = taint.get(policy_id)
            rule = index.rules[policy_id]
            if found is None:
                if not source.available():
                    self._fail(trace, rule, asset, kind, code_location)
                continue
            if rule.match == "value" and trace.values and policy_id in trace.values:
                written = _given(payload)
                if written is not UNKNOWN and not carries(written, trace.values[policy_id]):
                    continue  # precise: this write carries none of the values read
            if rule.blocks(kind):
                self._record(trace, rule, "blocked", asset, kind, found, code_location)
                counters.incr("enforcement_blocked")
                raise FlowBlocked(policy_id, asset, kind)
            self._record(trace, rule, "logged", asset, kind, found, code_location)
            counters.incr("enforcement_logged")

    def _unavailable(self, trace: Trace, asset: str, kind: str,
                     code_location: str | Deferred | None) -> None:
        """No zone data (now): per policy denying the sink, or the process default before any."""
        source = self.source
        if source.ready.is_set():
            index = source.index
            for policy_id in index.denying(asset):
                self._fail(trace, index.rules[policy_id], asset, kind, code_location)
            return
        if self.cfg.enforce_fail == "fail_closed" and kind in DEFAULT_ENFORCE_ON:
            counters.incr("enforcement_fail_closed")
            raise FlowBlocked("*", asset, kind, reason="fail_closed")
        self._open_warning()

    def _fail(self, trace: Trace, rule: PolicyRule, asset: str, kind: str,
              code_location: str | Deferred | None) -> None:
        if rule.fail_mode == "fail_closed" and rule.blocks(kind):
            self._record(trace, rule, "fail_closed", asset, kind, None, code_location)
            counters.incr("enforcement_fail_closed")
            raise FlowBlocked(rule.policy_id, asset, kind, reason="fail_closed")
        self._open_warning()

    def _open_warning(self) -> None:
        counters.incr("enforcement_fail_open")
        if not self._warned:
            self._warned = True
            log.warning("lineage-probes: policy zones unavailable; writes go ahead (fail_open)")

    # -- events ----------------------------------------------------------------
    def _record(self, trace: Trace, rule: PolicyRule, decision: str, asset: str, kind: str,
                source: str | None, code_location: str | Deferred | None) -> None:
        seen = trace.decided
        if seen is None:
            seen = trace.decided = set()
        mark = (rule.policy_id, asset, decision)
        if mark in seen:
            return  # once per trace, policy, sink and decision
        seen.add(mark)
        event = {
            "v": 1, "type": "enforcement", "policy_id": rule.policy_id, "mode": rule.mode,
            "decision": decision, "sink": asset, "sink_kind": kind, "source": source,
            "service": self.cfg.service, "trace_id": trace.trace_id,
            "code_location": _given(code_location) if code_location is not None
            else codeloc.here(4),
            "ts": int(time.time() * 1000),
        }
        data = json.dumps(event, separators=(",", ":")).encode("utf-8")
        self.emitter.send_to(self.topic, f"{rule.policy_id}|{asset}".encode(), data)
