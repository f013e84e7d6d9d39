"""ASGI: Starlette and FastAPI apps.

`Starlette.__call__` opens the request's trace (joining an inbound
`traceparent`). `Route.handle`, which runs once the router matched, knows the
route template (`/users/{id}`) and the path parameters: for a sampled
request it tees the request body and the JSON response as the app reads and
sends them, and captures the inputs as a source of `web://SERVICE/ROUTE` and
the response as a sink of the same asset (`#response...`).
"""

from __future__ import annotations

from typing import Any

from lineage_probes import codeloc, context, naming, webinputs
from lineage_probes.capture import Recorder
from lineage_probes.enforcement.enforcer import UNKNOWN, Deferred
from lineage_probes.probe import Patches, Probe


def _header(scope: dict[str, Any], name: bytes) -> bytes | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return value
    return None


class _Exchange:
    """What a sampled request read and sent, captured once each."""

    def __init__(self, rec: Recorder, trace: context.Trace, asset: str, scope: dict[str, Any],
                 where: str | None) -> None:
        self.rec, self.trace, self.asset, self.where = rec, trace, asset, where
        self.query = webinputs.query_of(scope.get("query_string", b"").decode("latin-1"))
        self.path_params = dict(scope.get("path_params") or {})
        self.content_type = (_header(scope, b"content-type") or b"").decode("latin-1")
        self.body = bytearray()
        self.body_ok = True
        self.inputs_done = False
        self.response_json = False
        self.response = bytearray()
        self.response_ok = True

    def inputs(self) -> None:
        if self.inputs_done:
            return
        self.inputs_done = True
        body = bytes(self.body) if self.body_ok else b""
        payload = webinputs.inputs(self.query, self.path_params, body, self.content_type)
        self.rec.source(self.trace, self.asset, payload, code_location=self.where)

    def on_receive(self, message: dict[str, Any], cap: int) -> None:
        if message.get("type") != "http.request" or self.inputs_done:
            return
        chunk = message.get("body", b"")
        if len(self.body) + len(chunk) > cap:
            self.body_ok = False
        elif chunk:
            self.body += chunk
        if not message.get("more_body", False):
            self.inputs()

    def on_send(self, message: dict[str, Any], cap: int) -> None:
        kind = message.get("type")
        if kind == "http.response.start":
            ctype = b""
            for key, value in message.get("headers") or ():
                if key.lower() == b"content-type":
                    ctype = value
            self.response_json = webinputs.is_json(ctype.decode("latin-1"))
        elif kind == "http.response.body" and self.response_json and self.response_ok:
            chunk = message.get("body", b"")
            if len(self.response) + len(chunk) > cap:
                self.response_ok = False
                return
            self.response += chunk
            if not message.get("more_body", False):
                payload = webinputs.response_payload(bytes(self.response))
                if payload is not None:
                    self.rec.sink(self.trace, self.asset, payload, kind="response",
                                  code_location=self.where)


class _Values:
    """The inputs of a route in a precise policy's zone, for every request, sampled or
    not: query and path parameters at once, the body once the app has read it whole
    (within the body cap; a body over it, or neither JSON nor a form, is not seen:
    request level)."""

    def __init__(self, rec: Recorder, trace: context.Trace, asset: str, scope: dict[str, Any],
                 cap: int) -> None:
        self.rec, self.trace, self.asset, self.cap = rec, trace, asset, cap
        self.content_type = (_header(scope, b"content-type") or b"").decode("latin-1")
        self.body: bytearray | None = bytearray()
        self.done = False
        query = webinputs.query_of(scope.get("query_string", b"").decode("latin-1"))
        params = dict(scope.get("path_params") or {})
        rec.read_payload(trace, asset, Deferred(lambda: webinputs.inputs(query, params, b"", "")))

    def on_receive(self, message: dict[str, Any]) -> None:
        if self.done or message.get("type") != "http.request":
            return
        chunk = message.get("body", b"")
        if self.body is not None:
            if len(self.body) + len(chunk) > self.cap:
                self.body = None
            elif chunk:
                self.body += chunk
        if not message.get("more_body", False):
            self.done = True
            self.rec.read_payload(self.trace, self.asset, Deferred(self._body))

    def _body(self) -> Any:
        if self.body is None:
            return UNKNOWN
        if not self.body:
            return {}
        value = webinputs.body_value(bytes(self.body), self.content_type)
        if value is None:
            return UNKNOWN
        return value if isinstance(value, dict) else {"body": value}


def install(rec: Recorder, patches: Patches) -> bool:
    try:
        from starlette import applications, routing
    except ImportError:
        return False
    probe = Probe("asgi")
    cfg = rec.cfg
    original_call = applications.Starlette.__call__
    original_handle = routing.Route.handle

    async def __call__(self: Any, scope: Any, receive: Any, send: Any) -> None:
        if not probe.enabled or scope.get("type") != "http" or context.CURRENT.get() is not None:
            return await original_call(self, scope, receive, send)
        try:
            parent = taint = None
            for key, value in scope.get("headers") or ():  # one scan, inline: every request
                if key == b"traceparent":
                    parent = value
                elif key == b"x-lineage-taint":
                    taint = value
            trace = context.new_trace(parent, cfg.sample_rate)
            token = context.CURRENT.set(trace)
        except Exception as exc:
            probe.fail(exc)
            return await original_call(self, scope, receive, send)
        if taint is not None and rec.enforcer is not None:
            rec.inherit(trace, taint)
        try:
            return await original_call(self, scope, receive, send)
        finally:
            context.CURRENT.reset(token)

    def handle(self: Any, scope: Any, receive: Any, send: Any) -> Any:
        # A plain function: an unsampled request that no zone can taint gets
        # the original coroutine itself, not one more coroutine around it.
        current = context.CURRENT.get()
        if current is None or not probe.enabled:
            return original_handle(self, scope, receive, send)
        if not current.sampled:  # only a zone route's inputs could matter (taint)
            enforcer = rec.enforcer
            if enforcer is None or not enforcer.zones_hold_anything():
                return original_handle(self, scope, receive, send)
            try:
                if not enforcer.in_a_zone(route_asset(self, scope)):
                    return original_handle(self, scope, receive, send)
            except Exception as exc:
                probe.fail(exc)
                return original_handle(self, scope, receive, send)
        return probed_handle(self, scope, receive, send, current)

    assets: dict[tuple[str, str], str] = {}

    def route_asset(route: Any, scope: dict[str, Any]) -> str:
        """The route's asset, made once per route template and mount point."""
        key = (getattr(route, "path_format", route.path), _mount(scope))
        asset = assets.get(key)
        if asset is None:
            if len(assets) >= _MAX_ROUTES:
                assets.clear()
            asset = assets[key] = naming.web(rec.cfg.service, key[1] + key[0])
        return asset

    async def probed_handle(self: Any, scope: Any, receive: Any, send: Any,
                            current: context.Trace) -> None:
        values = None
        if rec.enforcer is not None and scope.get("type") == "http":
            try:  # every request: inputs of a zone route taint it
                asset = route_asset(self, scope)
                if rec.precise(asset):
                    values = _Values(rec, current, asset, scope, cfg.max_body_bytes)
                else:
                    rec.read(current, asset)
            except Exception as exc:
                probe.fail(exc)
        trace = current if current.sampled else None
        if trace is None or not probe.enabled or scope.get("type") != "http":
            if values is None:
                return await original_handle(self, scope, receive, send)
            return await original_handle(self, scope, _teed(receive, values), send)
        try:
            exchange = _exchange(self, scope, rec, trace)
            if _header(scope, b"content-length") in (None, b"0") \
                    and _header(scope, b"transfer-encoding") is None:
                exchange.inputs()
        except Exception as exc:
            probe.fail(exc)
            return await original_handle(self, scope, receive, send)

        async def probed_receive() -> Any:
            message = await receive()
            if values is not None:
                values.on_receive(message)
            if probe.enabled:
                try:
                    exchange.on_receive(message, cfg.max_body_bytes)
                except Exception as exc:
                    probe.fail(exc)
            return message

        async def probed_send(message: Any) -> None:
            if probe.enabled:
                try:
                    exchange.on_send(message, cfg.max_body_bytes)
                except Exception as exc:
                    probe.fail(exc)
            await send(message)

        try:
            return await original_handle(self, scope, probed_receive, probed_send)
        finally:
            if probe.enabled:
                try:
                    exchange.inputs()
                except Exception as exc:
                    probe.fail(exc)

    patches.patch(applications.Starlette, "__call__", __call__)
    patches.patch(routing.Route, "handle", handle)
    return True


def _teed(receive: Any, values: _Values) -> Any:
    async def teed_receive() -> Any:
        message = await receive()
        values.on_receive(message)
        return message
    return teed_receive


_MAX_ROUTES = 4096  # (route, mount) assets kept; an app has far fewer


def _mount(scope: dict[str, Any]) -> str:
    return scope.get("root_path", "")[len(scope.get("app_root_path", "")):] \
        if "app_root_path" in scope else ""


def _route_asset(route: Any, scope: dict[str, Any], service: str) -> str:
    return naming.web(service, _mount(scope) + getattr(route, "path_format", route.path))


def _exchange(route: Any, scope: dict[str, Any], rec: Recorder,
              trace: context.Trace) -> _Exchange:
    endpoint = getattr(route, "endpoint", None)
    code = getattr(endpoint, "__code__", None)
    where = codeloc.of_code(code) if code is not None else None
    return _Exchange(rec, trace, _route_asset(route, scope, rec.cfg.service), scope, where)
