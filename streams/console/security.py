"""Who may read and who may write: the bearer token and the CSRF defence.

- **Token.** With a token set, every console API request needs
  `Authorization: Bearer T` (the worker's one rule, streams/http/access.py; 401 otherwise). The
  page shell and its static files carry no data and are public (marked with
  `streams.http.access.public`, which the token guard lets through), so a
  browser can load the page that then asks for the token once and keeps it
  in `sessionStorage`.
- **Writes** are POSTs with a JSON body and the header `X-Lineage-CSRF`
  holding the console's CSRF token, which only `GET /api/v1/console/session`
  hands out (same-origin: another site's page cannot read it); an `Origin`
  header, when the browser sends one, must be this server's. Anything else
  is refused with 403 before the handler runs. Without a token (loopback
  only) this is what stops another site from posting reviews through the
  reviewer's browser.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import orjson
from aiohttp import web

from streams.http.access import request_allowed

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CSRF_HEADER = "X-Lineage-CSRF"


def bearer_ok(request: web.Request, token: str | None) -> bool:
    """The worker's one token rule (streams/http/access.py)."""
    return request_allowed(token, request)


class Guard:
    """The token and CSRF checks of one console."""

    def __init__(self, token: str | None, *, csrf_token: str | None = None) -> None:
        self.token = token or None
        self.csrf_token = csrf_token or secrets.token_urlsafe(32)

    def refuse_write(self, request: web.Request) -> str | None:
        """Why a write request is refused (None: allowed)."""
        if request.method != "POST":
            return "writes must be POST"
        if request.content_type != "application/json":
            return "writes must send a JSON body"
        given = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.csrf_token.encode()):
            return f"missing or wrong {CSRF_HEADER} header"
        origin = request.headers.get("Origin")
        if origin is not None and origin != "null":
            parts = urlsplit(origin)
            if parts.netloc != request.host:
                return "cross-origin write refused"
        elif origin == "null":
            return "cross-origin write refused"
        return None

    def wrap(self, handler: Handler, *, write: bool = False) -> Handler:
        """`handler` behind the token check (and, for a write, the CSRF check)."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            if not bearer_ok(request, self.token):
                return json_response({"error": "missing or wrong bearer token"}, 401)
            if write:
                reason = self.refuse_write(request)
                if reason is not None:
                    return json_response({"error": reason}, 403)
            return await handler(request)

        return guarded


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json",
                        headers={"Cache-Control": "no-store"})
