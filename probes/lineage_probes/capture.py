"""The two doors every capture passes through: `source` and `sink`.

A hook calls one of them with an asset name and the raw payload; the door
redacts and caps the payload (the snapshot), writes the `probe-events`
record and hands it to the emitter. `sink` also receives the sink's kind
(`db`, `http`, `kafka`, `cache`, `log`, `response`).

Enforcement has two more doors, passed by every request, sampled or not:
`read` (a read of a table or asset, which may taint the request) and `guard`
(before a write: raises `FlowBlocked` when a policy in enforce mode forbids
it). Both are no-ops when enforcement is off.

Nothing here logs or raises a payload value: a failure surfaces to the hook,
which turns its probe off (`Probe.fail`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from lineage_probes import codeloc, counters, sanitize
from lineage_probes.config import ProbeConfig
from lineage_probes.context import Trace
from lineage_probes.emitter import Emitter
from lineage_probes.enforcement import Enforcer, FlowBlocked
from lineage_probes.enforcement.enforcer import UNKNOWN, Deferred, ValuePlan

log = logging.getLogger("lineage_probes")


class Recorder:
    """The configured doors: settings and emitter of an `instrument()` call."""

    def __init__(self, cfg: ProbeConfig, emitter: Emitter,
                 enforcer: Enforcer | None = None) -> None:
        self.cfg = cfg
        self.emitter = emitter
        self.enforcer = enforcer

    def read(self, trace: Trace, table: str, fields: Any = None, *,
             rows_follow: bool = False) -> ValuePlan | None:
        """The request read `fields` (None: unknown) of `table`: taint it if they are in a zone.

        With `rows_follow` (a DB read) the plan of the values precise policies
        need from the rows, for `rows`.
        """
        enforcer = self.enforcer
        if enforcer is not None:
            try:
                return enforcer.on_read(trace, table, fields, rows_follow=rows_follow)
            except Exception as exc:
                _enforcement_error(exc)
        return None

    def read_payload(self, trace: Trace, asset: str, read: Any) -> None:
        """A read of `asset` that is not rows (route inputs, a consumed message, a cache
        read): taint with the zones of it. `read` is what was read, or `UNKNOWN`; it may
        be `Deferred`, built only when a precise policy needs the values."""
        if self.enforcer is not None:
            _quietly(self.enforcer.on_payload, trace, asset, read)

    def precise(self, asset: str) -> bool:
        """Whether a precise policy needs the values of a read of `asset`."""
        enforcer = self.enforcer
        return enforcer is not None and enforcer.precise(asset)

    def rows(self, trace: Trace, plan: ValuePlan, rows: Any) -> None:
        if self.enforcer is not None:
            _quietly(self.enforcer.on_rows, trace, plan, rows)

    def guard(self, trace: Trace, asset: str, kind: str, *,
              code_location: str | Deferred | None = None, payload: Any = UNKNOWN) -> None:
        """Before a write of `kind` to `asset`; raises `FlowBlocked` when a policy forbids it.

        `payload` (what is written) lets a precise policy judge by the values;
        it and `code_location` may be `Deferred`, built only if a decision needs them.
        """
        enforcer = self.enforcer
        if enforcer is None:
            return
        try:
            enforcer.check_sink(trace, asset, kind, code_location=code_location,
                                payload=payload)
        except FlowBlocked:
            raise
        except Exception as exc:
            _enforcement_error(exc)

    def inherit(self, trace: Trace, header: str | bytes | None) -> None:
        """Take an inbound `x-lineage-taint` header."""
        if self.enforcer is not None and header:
            _quietly(self.enforcer.inherit, trace, header)

    def taint_header(self, trace: Trace) -> str | None:
        """The `x-lineage-taint` value to send with an outbound call or message, if any."""
        return Enforcer.header(trace) if self.enforcer is not None else None

    def source(self, trace: Trace, asset: str, payload: Any, *,
               code_location: str | None = None) -> None:
        """Data entering the service: a request input, a DB read, a consumed message."""
        self._emit(trace, "source", asset, payload, code_location)

    def sink(self, trace: Trace, asset: str, payload: Any, *, kind: str,
             code_location: str | None = None) -> None:
        """Data leaving the service: a DB write, a log line, an outbound call, a publish."""
        self._emit(trace, "sink", asset, payload, code_location)

    def _emit(self, trace: Trace, role: str, asset: str, payload: Any,
              code_location: str | None) -> bool:
        cfg = self.cfg
        if trace.captures >= cfg.max_captures_per_trace:
            counters.incr("dropped_trace_cap")
            return False
        cleaned = sanitize.clean(payload, cfg)
        if sanitize.is_empty(cleaned):
            counters.incr("skipped_empty")
            return False
        trace.captures += 1
        event = {
            "v": 1, "type": "probe", "trace_id": trace.trace_id,
            "ts": int(time.time() * 1000), "service": cfg.service, "role": role,
            "asset": asset, "payload": cleaned, "sample_rate": cfg.sample_rate,
            "code_location": code_location if code_location is not None else codeloc.here(3),
        }
        data = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        if len(data) > cfg.max_event_bytes:
            counters.incr("dropped_too_large")
            return False
        counters.incr("captured")
        self.emitter.send(trace.trace_id.encode("ascii"), data)
        return True


def _enforcement_error(exc: BaseException) -> None:
    """An internal error of enforcement: counted and logged by type, the application goes on."""
    counters.incr("probe_errors.enforcement")
    log.warning("lineage-probes: enforcement error (%s)", type(exc).__name__)


def _quietly(call: Callable[..., object], *args: Any) -> None:
    """Run an enforcement step whose failure must not reach the application."""
    try:
        call(*args)
    except Exception as exc:
        _enforcement_error(exc)
