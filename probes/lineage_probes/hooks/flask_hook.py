"""WSGI: Flask apps.

`Flask.wsgi_app` opens the request's trace (joining an inbound
`traceparent`). For a sampled request, `Flask.dispatch_request` (the URL rule
is matched by then) captures query, path and body inputs as a source of
`web://SERVICE/RULE` with the rule as a template (`/users/<int:id>` is named
`/users/{id}`), and `Flask.finalize_request` captures a JSON response as a
sink of the same asset (`#response...`). The body is read through Werkzeug's
cache, so the view reads the same bytes.
"""

from __future__ import annotations

import re
from typing import Any

from lineage_probes import codeloc, context, naming, webinputs
from lineage_probes.capture import Recorder
from lineage_probes.enforcement.enforcer import UNKNOWN, Deferred
from lineage_probes.probe import Patches, Probe

_CONVERTER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def rule_template(rule: str) -> str:
    """`/users/<int:id>` -> `/users/{id}`.

    >>> rule_template("/users/<int:user_id>/photos/<name>")
    '/users/{user_id}/photos/{name}'
    """
    return _CONVERTER.sub(r"{\1}", rule)


def install(rec: Recorder, patches: Patches) -> bool:
    try:
        import flask
    except ImportError:
        return False
    probe = Probe("flask")
    cfg = rec.cfg
    original_wsgi = flask.Flask.wsgi_app
    original_dispatch = flask.Flask.dispatch_request
    original_finalize = flask.Flask.finalize_request

    def wsgi_app(self: Any, environ: Any, start_response: Any) -> Any:
        if not probe.enabled or context.CURRENT.get() is not None:
            return original_wsgi(self, environ, start_response)
        try:
            token = context.begin(environ.get("HTTP_TRACEPARENT"), cfg.sample_rate)
        except Exception as exc:
            probe.fail(exc)
            return original_wsgi(self, environ, start_response)
        trace = context.CURRENT.get()
        if trace is not None:
            rec.inherit(trace, environ.get("HTTP_X_LINEAGE_TAINT"))
        try:
            return original_wsgi(self, environ, start_response)
        finally:
            context.end(token)

    def dispatch_request(self: Any) -> Any:
        current = context.CURRENT.get()
        if current is not None and rec.enforcer is not None and probe.enabled:
            try:  # every request: inputs of a zone route taint it
                asset = _asset(rec)
                if asset is not None and rec.precise(asset):
                    rec.read_payload(current, asset, Deferred(lambda: _values(rec)))
                elif asset is not None:
                    rec.read(current, asset)
            except Exception as exc:
                probe.fail(exc)
        trace = context.sampled_trace()
        if trace is not None and probe.enabled:
            try:
                _inputs(self, rec, trace)
            except Exception as exc:
                probe.fail(exc)
        return original_dispatch(self)

    def finalize_request(self: Any, rv: Any, from_error_handler: bool = False) -> Any:
        response = original_finalize(self, rv, from_error_handler)
        trace = context.sampled_trace()
        if trace is not None and probe.enabled:
            try:
                _response(response, rec, trace)
            except Exception as exc:
                probe.fail(exc)
        return response

    patches.patch(flask.Flask, "wsgi_app", wsgi_app)
    patches.patch(flask.Flask, "dispatch_request", dispatch_request)
    patches.patch(flask.Flask, "finalize_request", finalize_request)
    return True


def _asset(rec: Recorder) -> str | None:
    from flask import request

    rule = request.url_rule
    return None if rule is None else naming.web(rec.cfg.service, rule_template(rule.rule))


def _body(rec: Recorder) -> bytes | None:
    """The request body when it is captured (JSON or a form within the body cap, read
    through Werkzeug's cache), b"" when there is none, None when there is one not read."""
    from flask import request

    length = request.content_length or 0
    if length <= 0 and request.headers.get("transfer-encoding") is None:
        return b""
    if 0 < length <= rec.cfg.max_body_bytes and webinputs.decodable(request.content_type or ""):
        return bytes(request.get_data(cache=True))
    return None


def _values(rec: Recorder) -> Any:
    """The inputs a precise policy looks at (`UNKNOWN` with a body it cannot see)."""
    from flask import request

    body = _body(rec)
    if body is None:
        return UNKNOWN
    ctype = request.content_type or ""
    if body and webinputs.body_value(body, ctype) is None:
        return UNKNOWN
    return webinputs.inputs(request.args.to_dict(flat=False), dict(request.view_args or {}),
                            body, ctype)


def _inputs(app: Any, rec: Recorder, trace: context.Trace) -> None:
    from flask import request

    asset = _asset(rec)
    if asset is None:
        return
    body = _body(rec) or b""
    payload = webinputs.inputs(request.args.to_dict(flat=False), dict(request.view_args or {}),
                               body, request.content_type or "")
    view = app.view_functions.get(request.endpoint or "")
    code = getattr(view, "__code__", None)
    rec.source(trace, asset, payload,
               code_location=codeloc.of_code(code) if code is not None else None)


def _response(response: Any, rec: Recorder, trace: context.Trace) -> None:
    if response.is_streamed or not webinputs.is_json(response.content_type or ""):
        return
    asset = _asset(rec)
    if asset is None:
        return
    body = response.get_data()
    if len(body) > rec.cfg.max_body_bytes:
        return
    payload = webinputs.response_payload(body)
    if payload is not None:
        rec.sink(trace, asset, payload, kind="response")
