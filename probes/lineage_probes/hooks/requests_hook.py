"""HTTP client: `requests` (`Session.send`, which every `requests.*` call goes through)."""

from __future__ import annotations

from typing import Any

from lineage_probes import context, httpcapture
from lineage_probes.capture import Recorder
from lineage_probes.probe import Patches, Probe


def install(rec: Recorder, patches: Patches) -> bool:
    try:
        import requests
    except ImportError:
        return False
    probe = Probe("requests")
    original = requests.Session.send

    def send(self: Any, request: Any, **kwargs: Any) -> Any:
        trace = context.CURRENT.get()
        if trace is None or not probe.enabled or context.IN_CLIENT.get():
            return original(self, request, **kwargs)
        httpcapture.guard(rec, probe, trace, request.url, request.headers, request.body)
        asset = None
        try:
            request.headers["traceparent"] = trace.child_traceparent()
            if trace.sampled:
                asset = httpcapture.asset_of_url(request.url)
                httpcapture.request_sink(rec, trace, asset, request.url, request.body,
                                         request.headers.get("content-type", ""))
        except Exception as exc:
            probe.fail(exc)
        token = context.IN_CLIENT.set(True)
        try:
            response = original(self, request, **kwargs)
        finally:
            context.IN_CLIENT.reset(token)
        if asset is not None and probe.enabled and not kwargs.get("stream"):
            try:
                httpcapture.response_source(rec, trace, asset,
                                            response.headers.get("content-type", ""),
                                            response.content)
            except Exception as exc:
                probe.fail(exc)
        return response

    patches.patch(requests.Session, "send", send)
    return True
