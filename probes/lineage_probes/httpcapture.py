"""Outbound HTTP captures shared by the requests, httpx and urllib3 hooks.

The request's query and JSON or form body are a sink of
`http://HOST[:PORT]/PATH_TEMPLATE`; a JSON response is a source of the same
asset. Every outbound call in a trace, sampled or not, carries a child
`traceparent` so the callee joins the trace, and (enforcement) is checked
before it is sent and carries the request's taint (`x-lineage-taint`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from lineage_probes import naming, webinputs
from lineage_probes.capture import Recorder
from lineage_probes.context import Trace
from lineage_probes.enforcement.enforcer import TAINT_HEADER, UNKNOWN, Deferred
from lineage_probes.probe import Probe


def asset_of_url(url: str) -> str:
    parts = urlsplit(url)
    return naming.http(parts.scheme or "http", parts.hostname or "", parts.port, parts.path)


def guard(rec: Recorder, probe: Probe, trace: Trace, url: str, headers: Any,
          body: Any = UNKNOWN) -> None:
    """Before an outbound call: add the taint header; raises `FlowBlocked` when forbidden.

    The URL and `body` (bytes or text, when the hook has it) are the call's payload.
    """
    if rec.enforcer is None:
        return
    try:
        asset = asset_of_url(url)
        value = rec.taint_header(trace)
        if value:
            headers[TAINT_HEADER] = value
    except Exception as exc:
        probe.fail(exc)
        return
    payload = UNKNOWN if not isinstance(body, bytes | str | None) else \
        Deferred(lambda: [url, body if isinstance(body, str)
                          else (body or b"").decode("utf-8", "replace")])
    rec.guard(trace, asset, "http", payload=payload)


def request_sink(rec: Recorder, trace: Trace, asset: str, url: str, body: Any,
                 content_type: str) -> None:
    query = webinputs.query_of(urlsplit(url).query)
    raw = body if isinstance(body, bytes) else body.encode("utf-8") if isinstance(body, str) \
        else b""
    if len(raw) > rec.cfg.max_body_bytes:
        raw = b""
    payload = webinputs.inputs(query, {}, raw, content_type)
    if payload:
        rec.sink(trace, asset, payload, kind="http")


def response_source(rec: Recorder, trace: Trace, asset: str, content_type: str,
                    body: bytes) -> None:
    if not webinputs.is_json(content_type) or len(body) > rec.cfg.max_body_bytes:
        return
    value = webinputs.body_value(body, "application/json")
    if value is not None:
        rec.source(trace, asset, value)
