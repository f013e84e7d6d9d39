"""HTTP client: `httpx`, sync `Client.send` and async `AsyncClient.send`.

A streamed request body or a streamed response (`stream=True`) is not read
by the probe; the call goes on as it was.
"""

from __future__ import annotations

from typing import Any

from lineage_probes import context, httpcapture
from lineage_probes.capture import Recorder
from lineage_probes.enforcement.enforcer import UNKNOWN
from lineage_probes.probe import Patches, Probe


def _before(rec: Recorder, probe: Probe, trace: context.Trace, request: Any) -> str | None:
    try:
        request.headers["traceparent"] = trace.child_traceparent()
        if not trace.sampled:
            return None
        asset = httpcapture.asset_of_url(str(request.url))
        try:
            body = request.content
        except Exception:  # a streamed body not read yet: not captured
            body = b""
        httpcapture.request_sink(rec, trace, asset, str(request.url), body,
                                 request.headers.get("content-type", ""))
        return asset
    except Exception as exc:
        probe.fail(exc)
        return None


def _after(rec: Recorder, probe: Probe, trace: context.Trace, asset: str | None,
           response: Any, stream: bool) -> None:
    if asset is None or stream or not probe.enabled:
        return
    try:
        httpcapture.response_source(rec, trace, asset, response.headers.get("content-type", ""),
                                    response.content)
    except Exception as exc:
        probe.fail(exc)


def _body(request: Any) -> Any:
    """The request's body when it is in memory (a streamed one is not read: unknown)."""
    try:
        return request.content
    except Exception:
        return UNKNOWN


def install(rec: Recorder, patches: Patches) -> bool:
    try:
        import httpx
    except ImportError:
        return False
    probe = Probe("httpx")
    original_send = httpx.Client.send
    original_asend = httpx.AsyncClient.send

    def send(self: Any, request: Any, *, stream: bool = False, **kwargs: Any) -> Any:
        trace = context.CURRENT.get()
        if trace is None or not probe.enabled or context.IN_CLIENT.get():
            return original_send(self, request, stream=stream, **kwargs)
        httpcapture.guard(rec, probe, trace, str(request.url), request.headers, _body(request))
        asset = _before(rec, probe, trace, request)
        token = context.IN_CLIENT.set(True)
        try:
            response = original_send(self, request, stream=stream, **kwargs)
        finally:
            context.IN_CLIENT.reset(token)
        _after(rec, probe, trace, asset, response, stream)
        return response

    async def asend(self: Any, request: Any, *, stream: bool = False, **kwargs: Any) -> Any:
        trace = context.CURRENT.get()
        if trace is None or not probe.enabled or context.IN_CLIENT.get():
            return await original_asend(self, request, stream=stream, **kwargs)
        httpcapture.guard(rec, probe, trace, str(request.url), request.headers, _body(request))
        asset = _before(rec, probe, trace, request)
        token = context.IN_CLIENT.set(True)
        try:
            response = await original_asend(self, request, stream=stream, **kwargs)
        finally:
            context.IN_CLIENT.reset(token)
        _after(rec, probe, trace, asset, response, stream)
        return response

    patches.patch(httpx.Client, "send", send)
    patches.patch(httpx.AsyncClient, "send", asend)
    return True
