"""HTTP client: `urllib3` (`HTTPConnectionPool.urlopen`).

Calls made by `requests` (which sits on urllib3) are captured once, by the
requests hook. The caller's headers are copied before `traceparent` is added.
A response read later (`preload_content=False`) is not captured.
"""

from __future__ import annotations

from typing import Any

from lineage_probes import context, httpcapture
from lineage_probes.capture import Recorder
from lineage_probes.probe import Patches, Probe


def install(rec: Recorder, patches: Patches) -> bool:
    try:
        from urllib3 import connectionpool
    except ImportError:
        return False
    probe = Probe("urllib3")
    original = connectionpool.HTTPConnectionPool.urlopen

    def urlopen(self: Any, method: str, url: str, body: Any = None, headers: Any = None,
                *args: Any, **kwargs: Any) -> Any:
        trace = context.CURRENT.get()
        if trace is None or not probe.enabled or context.IN_CLIENT.get():
            return original(self, method, url, body, headers, *args, **kwargs)
        asset = None
        full = url
        try:
            headers = dict(self.headers if headers is None else headers)
            headers["traceparent"] = trace.child_traceparent()
            full = url if "://" in url else f"{self.scheme}://{self.host}:{self.port}{url}"
        except Exception as exc:
            probe.fail(exc)
        httpcapture.guard(rec, probe, trace, full, headers, body)
        try:
            if trace.sampled:
                asset = httpcapture.asset_of_url(full)
                ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
                httpcapture.request_sink(rec, trace, asset, full, body, ctype)
        except Exception as exc:
            probe.fail(exc)
        token = context.IN_CLIENT.set(True)
        try:
            response = original(self, method, url, body, headers, *args, **kwargs)
        finally:
            context.IN_CLIENT.reset(token)
        if asset is not None and probe.enabled and kwargs.get("preload_content", True):
            try:
                httpcapture.response_source(rec, trace, asset,
                                            response.headers.get("content-type", ""),
                                            response.data)
            except Exception as exc:
                probe.fail(exc)
        return response

    patches.patch(connectionpool.HTTPConnectionPool, "urlopen", urlopen)
    return True
