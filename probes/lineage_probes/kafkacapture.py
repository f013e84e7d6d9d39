"""Kafka captures shared by the confluent_kafka and aiokafka hooks.

A produced value is a sink of `kafka://BOOTSTRAP/TOPIC` and carries the
trace's `traceparent` header; a consumed one is a source that opens a new
trace (joining the producer's when the header is there): one trace per
consumed message, current until the next one is consumed.
"""

from __future__ import annotations

import json
from typing import Any

from lineage_probes import context
from lineage_probes.capture import Recorder
from lineage_probes.enforcement.enforcer import TAINT_HEADER, UNKNOWN, Deferred


def value_payload(value: Any) -> Any:
    """A message value as captured: JSON decoded when it is JSON, else text or bytes."""
    if isinstance(value, bytes | bytearray):
        try:
            text = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return bytes(value)
    elif isinstance(value, str):
        text = value
    else:
        return value
    if text[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            pass
    return text


def with_traceparent(headers: Any, traceparent: str, as_bytes: bool = True) -> Any:
    """The headers plus `traceparent`, in the shape the caller used (list or dict)."""
    value: Any = traceparent.encode("ascii") if as_bytes else traceparent
    if headers is None:
        return [("traceparent", value)]
    if isinstance(headers, dict):
        return {**headers, "traceparent": value}
    return [*[h for h in headers if h[0] != "traceparent"], ("traceparent", value)]


def with_header(headers: Any, name: str, value: str) -> Any:
    """The headers plus `name: value` (bytes), in the shape the caller used (list or dict)."""
    raw = value.encode("ascii", "replace")
    if headers is None:
        return [(name, raw)]
    if isinstance(headers, dict):
        return {**headers, name: raw}
    return [*[h for h in headers if h[0] != name], (name, raw)]


def guard_produce(rec: Recorder, probe: Any, trace: context.Trace, asset: str,
                  headers: Any, value: Any = None) -> Any:
    """Before a produce: check it (raises `FlowBlocked`) and add the taint header."""
    if rec.enforcer is None:
        return headers
    try:
        taint = rec.taint_header(trace)
        if taint:
            headers = with_header(headers, TAINT_HEADER, taint)
    except Exception as exc:
        probe.fail(exc)
    rec.guard(trace, asset, "kafka",
              payload=value if isinstance(value, bytes | bytearray | str) else UNKNOWN)
    return headers


def read_value(value: Any) -> Any:
    """A consumed value as precise enforcement reads it: JSON decoded, else one value (text
    or bytes: a zone of the whole topic takes it as read, a zone of fields cannot see
    them and taints at request level); a tombstone holds nothing."""
    return {} if value is None else value_payload(value)


def header_value(headers: Any, name: str = "traceparent") -> Any:
    if not headers:
        return None
    items = headers.items() if isinstance(headers, dict) else headers
    for key, value in items:
        if key == name:
            return value
    return None


def header_traceparent(headers: Any) -> Any:
    return header_value(headers, "traceparent")


def consumed(rec: Recorder, asset: str, headers: Any, value: Any) -> None:
    """Open the message's trace (its taint: the header, a zone topic) and capture its value
    when the trace is sampled."""
    trace = context.new_trace(header_traceparent(headers), rec.cfg.sample_rate)
    context.CURRENT.set(trace)
    if rec.enforcer is not None:
        rec.inherit(trace, header_value(headers, TAINT_HEADER))
        rec.read_payload(trace, asset, Deferred(lambda: read_value(value)))
    if trace.sampled and value is not None:
        rec.source(trace, asset, value_payload(value))
