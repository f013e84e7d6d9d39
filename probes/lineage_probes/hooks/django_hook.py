"""WSGI and ASGI: Django apps.

`BaseHandler.get_response` (WSGI, and the test `Client`) and
`BaseHandler.get_response_async` (ASGI, `AsyncClient`) open the request's
trace (joining an inbound `traceparent`) and, for a sampled request, capture
a JSON response as a sink of `web://SERVICE/ROUTE#response...` once the whole
middleware chain has made it. `BaseHandler.resolve_request`, which runs
after the request middleware and before the view, knows the URL pattern
(`request.resolver_match.route`): it taints the request for enforcement and,
for a sampled request, captures query, path parameters and JSON or
urlencoded-form body fields as a source of `web://SERVICE/ROUTE`. The body is
read through `HttpRequest.body`, which Django caches, so the view reads the
same bytes (`request.body`, `request.POST` or `request.read()`). The query
string and a form body are parsed as `request.GET` and `request.POST` would
parse them, but without making those: Django raises on a request with too
many fields when they are made, and a hostile request must not turn the
probe off (the view still gets Django's own error).

Why these three methods, and not a middleware added at `load_middleware` or
a wrapped `_get_response`: Django binds the middleware chain, and
`_get_response` at its end, once per handler when it loads its middleware,
so a patch there would live on in every handler loaded while the probes were
on, after `uninstrument()`. The three methods patched here are looked up by
name on every request (`self.get_response(request)`,
`self.resolve_request(request)`), so restoring them takes the probes out of
every handler at once, old or new, and no setting (`MIDDLEWARE`) changes.

Route patterns become templates: `users/<int:id>/` is `/users/{id}` (the
trailing slash Django's routes conventionally end with is dropped, so the
same endpoint has the same name as in Flask or FastAPI), and a `re_path`
regex keeps its literal parts, its named groups as `{name}` and its other
groups as `{arg0}`, `{arg1}`, ...
"""

from __future__ import annotations

import inspect
from typing import Any

from lineage_probes import codeloc, context, counters, naming, webinputs
from lineage_probes.capture import Recorder
from lineage_probes.enforcement.enforcer import UNKNOWN, Deferred
from lineage_probes.hooks.flask_hook import rule_template
from lineage_probes.probe import Patches, Probe

_ANCHORS = {"A", "Z", "b", "B"}


def route_template(route: str) -> str:
    """A Django URL pattern as a template, never a raw path.

    >>> route_template("users/<int:user_id>/photos/<slug:name>/")
    '/users/{user_id}/photos/{name}'
    >>> route_template(r"^api/articles/(?P<year>[0-9]{4})/([a-z]+)\\.json$")
    '/api/articles/{year}/{arg0}.json'
    >>> route_template("")
    '/'
    """
    out: list[str] = []
    positional = 0
    i, n = 0, len(route)
    while i < n:
        char = route[i]
        if char == "\\" and i + 1 < n:
            escaped = route[i + 1]
            if escaped not in _ANCHORS:
                out.append(escaped if not escaped.isalnum() else "\\" + escaped)
            i += 2
        elif char in "^$":
            i += 1
        elif char == "(":
            end = _group_end(route, i)
            group = route[i + 1:end]
            if group.startswith("?P<") and ">" in group:
                out.append("{" + group[3:group.index(">")] + "}")
            elif group.startswith("?"):
                out.append("(" + group + ")")
            else:
                out.append(f"{{arg{positional}}}")
                positional += 1
            i = end + 1
        else:
            out.append(char)
            i += 1
    path = rule_template("/" + "".join(out).lstrip("/"))
    return path.rstrip("/") or "/"


def _group_end(pattern: str, start: int) -> int:
    """The index of the `)` closing the group opened at `start` (the end when unbalanced)."""
    depth, i, in_class = 0, start, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return len(pattern) - 1


def install(rec: Recorder, patches: Patches) -> bool:
    try:
        from django.core.handlers.base import BaseHandler
    except ImportError:
        return False
    probe = Probe("django")
    cfg = rec.cfg
    original_get_response = BaseHandler.get_response
    original_get_response_async = BaseHandler.get_response_async
    original_resolve = BaseHandler.resolve_request

    def _begin(request: Any) -> Any:
        """The trace's token, or None when this request opens no trace."""
        if not probe.enabled or context.CURRENT.get() is not None:
            return None
        try:
            meta = request.META
            token = context.begin(meta.get("HTTP_TRACEPARENT"), cfg.sample_rate)
        except Exception as exc:
            probe.fail(exc)
            return None
        trace = context.CURRENT.get()
        if trace is not None:
            rec.inherit(trace, meta.get("HTTP_X_LINEAGE_TAINT"))
        return token

    def _after(request: Any, response: Any) -> None:
        trace = context.sampled_trace()
        if trace is not None and probe.enabled:
            try:
                _response(request, response, rec, trace)
            except Exception as exc:
                probe.fail(exc)

    def get_response(self: Any, request: Any) -> Any:
        token = _begin(request)
        try:
            response = original_get_response(self, request)
            _after(request, response)
            return response
        finally:
            if token is not None:
                context.end(token)

    async def get_response_async(self: Any, request: Any) -> Any:
        token = _begin(request)
        try:
            response = await original_get_response_async(self, request)
            _after(request, response)
            return response
        finally:
            if token is not None:
                context.end(token)

    def resolve_request(self: Any, request: Any) -> Any:
        match = original_resolve(self, request)
        current = context.CURRENT.get()
        if current is None or not probe.enabled:
            return match
        if rec.enforcer is not None:
            try:  # every request: inputs of a zone route taint it
                asset = _asset(match, cfg.service)
                if rec.precise(asset):
                    rec.read_payload(current, asset, Deferred(lambda: _values(request, match, rec)))
                else:
                    rec.read(current, asset)
            except Exception as exc:
                probe.fail(exc)
        if current.sampled and probe.enabled:
            try:
                _inputs(request, match, rec, current)
            except Exception as exc:
                probe.fail(exc)
        return match

    patches.patch(BaseHandler, "get_response", get_response)
    patches.patch(BaseHandler, "get_response_async", get_response_async)
    patches.patch(BaseHandler, "resolve_request", resolve_request)
    return True


def _asset(match: Any, service: str) -> str:
    return naming.web(service, route_template(match.route or ""))


def _body(request: Any, cap: int) -> bytes:
    """The request body when it is captured: JSON or a form, within the caps, still unread."""
    meta = request.META
    try:
        length = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return b""
    if not 0 < length <= cap or not webinputs.decodable(meta.get("CONTENT_TYPE", "")):
        return b""
    if not hasattr(request, "_body"):
        if getattr(request, "_read_started", False):
            return b""  # the app streams it: never read from under it
        from django.conf import settings

        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length > limit:
            return b""  # Django refuses it when the view asks (RequestDataTooBig)
    from django.http import UnreadablePostError

    try:
        return bytes(request.body)
    except UnreadablePostError:
        # The client went away mid-body: not the probe's fault, so it stays on. The
        # view then finds the body's stream read (RawPostDataException) where it
        # would have met this error; the response goes to no one either way.
        counters.incr("skipped_unreadable_body")
        return b""


def _params(match: Any) -> dict[str, Any]:
    params = dict(getattr(match, "captured_kwargs", match.kwargs))
    for index, value in enumerate(match.args):
        params[f"arg{index}"] = value
    return params


def _values(request: Any, match: Any, rec: Recorder) -> Any:
    """The inputs a precise policy looks at (`UNKNOWN` with a body it cannot see)."""
    meta = request.META
    ctype = meta.get("CONTENT_TYPE", "")
    expected = meta.get("CONTENT_LENGTH") not in (None, "", "0") \
        or "HTTP_TRANSFER_ENCODING" in meta
    body = _body(request, rec.cfg.max_body_bytes) if expected else b""
    if expected and (not body or webinputs.body_value(body, ctype) is None):
        return UNKNOWN
    return webinputs.inputs(webinputs.query_of(meta.get("QUERY_STRING", "")), _params(match),
                            body, ctype)


def _inputs(request: Any, match: Any, rec: Recorder, trace: context.Trace) -> None:
    body = _body(request, rec.cfg.max_body_bytes)
    meta = request.META
    payload = webinputs.inputs(webinputs.query_of(meta.get("QUERY_STRING", "")), _params(match),
                               body, meta.get("CONTENT_TYPE", ""))
    rec.source(trace, _asset(match, rec.cfg.service), payload,
               code_location=_where(match, request.method or ""))


def _where(match: Any, method: str) -> str | None:
    """The view's code location: a class-based view's handler for the method, unwrapped."""
    func = match.func
    view_class = getattr(func, "view_class", None)
    if view_class is not None:
        func = getattr(view_class, method.lower(), None) or getattr(view_class, "dispatch", None)
    try:
        code = getattr(inspect.unwrap(func), "__code__", None)
    except ValueError:
        return None
    return codeloc.of_code(code) if code is not None else None


def _response(request: Any, response: Any, rec: Recorder, trace: context.Trace) -> None:
    match = getattr(request, "resolver_match", None)
    if match is None or getattr(response, "streaming", True) \
            or not webinputs.is_json(response.get("Content-Type", "")):
        return
    body = response.content
    if len(body) > rec.cfg.max_body_bytes:
        return
    payload = webinputs.response_payload(body)
    if payload is not None:
        rec.sink(trace, _asset(match, rec.cfg.service), payload, kind="response",
                 code_location=_where(match, request.method or ""))
