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
from typing import Any

from lineage_probes import codeloc, counters
from lineage_probes.config import ProbeConfig
from lineage_probes.context import Trace
from lineage_probes.emitter import Emitter
from lineage_probes.enforcement.blocked import FlowBlocked
from lineage_probes.enforcement.feed import ZoneSource
from lineage_probes.enforcement.index import DEFAULT_ENFORCE_ON, PolicyRule

log = logging.getLogger("lineage_probes.enforcement")

#: The header (HTTP) and Kafka header that carry a request's taint to the next service.
TAINT_HEADER = "x-lineage-taint"
INHERITED = "inherited"


class Enforcer:
    def __init__(self, cfg: ProbeConfig, source: ZoneSource, emitter: Emitter) -> None:
        self.cfg = cfg
        self.source = source
        self.emitter = emitter
        self.topic = f"{cfg.topic_prefix}enforcement-events"
        self._warned = False

    # -- taint ---------------------------------------------------------------
    def on_read(self, trace: Trace, table: str, fields: Any = None) -> None:
        """`trace` read `fields` (None: unknown) of `table`: taint it with the zones of them."""
        index = self.source.index
        if table not in index.by_table:
            return
        for policy_id, asset in index.taints(table, fields):
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
                taint = trace.taint
                if taint is None:
                    taint = trace.taint = {}
                taint.setdefault(policy_id, INHERITED)

    @staticmethod
    def header(trace: Trace) -> str | None:
        """The `x-lineage-taint` value for an outbound call or message of `trace`."""
        return ",".join(sorted(trace.taint)) if trace.taint else None

    # -- the sink door ---------------------------------------------------------
    def check_sink(self, trace: Trace, asset: str, kind: str, *,
                   code_location: str | None = None) -> None:
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
            if rule.blocks(kind):
                self._record(trace, rule, "blocked", asset, kind, found, code_location)
                counters.incr("enforcement_blocked")
                raise FlowBlocked(policy_id, asset, kind)
            self._record(trace, rule, "logged", asset, kind, found, code_location)
            counters.incr("enforcement_logged")

    def _unavailable(self, trace: Trace, asset: str, kind: str,
                     code_location: str | None) -> None:
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
              code_location: str | None) -> None:
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
                source: str | None, code_location: str | None) -> None:
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
            "code_location": code_location if code_location is not None else codeloc.here(4),
            "ts": int(time.time() * 1000),
        }
        data = json.dumps(event, separators=(",", ":")).encode("utf-8")
        self.emitter.send_to(self.topic, f"{rule.policy_id}|{asset}".encode(), data)
