"""One set of access rules for every HTTP endpoint of the worker.

The graph API, `/metrics`, the OpenLineage intake and the console all sit
behind the same rules, written once here:

- an endpoint binds 127.0.0.1 unless told otherwise, and binding anything
  but a loopback address without a token is refused (`ApiConfig`);
- with a token, every request must carry it, as `Authorization: Bearer
  TOKEN` or (for a browser page) the `lineage_token` cookie; the
  comparison takes the same time whatever the guess (`token_matches`);
- routes marked `public` (a page shell, static files: no data) need no token;
- a refusal is a 401 JSON body that never echoes what was sent.

To put an aiohttp application behind the rules, pass
`middlewares=[token_guard(config.token)]` (or add it to an existing app's
middlewares before it starts).

>>> token_matches("s3cret", "Bearer s3cret"), token_matches("s3cret", "Bearer s3cre")
(True, False)
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson
from aiohttp import web
from aiohttp.typedefs import Middleware

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: The cookie a browser page (the console) carries the token in.
TOKEN_COOKIE = "lineage_token"


class ApiConfigError(ValueError):
    """An HTTP setting that would be unsafe or cannot work."""


@dataclass(frozen=True)
class ApiConfig:
    """Where an HTTP endpoint listens and the token it requires (None: none)."""

    port: int
    bind: str = "127.0.0.1"
    token: str | None = None

    def __post_init__(self) -> None:
        if not self.token and not is_loopback(self.bind):
            raise ApiConfigError(
                f"refusing to serve HTTP on {self.bind} without a token "
                "(set --api-token or LINEAGE_API_TOKEN)")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def token_matches(token: str, authorization: str) -> bool:
    """Whether an `Authorization` header carries `token`, in constant time.

    Both sides are hashed first, so neither the content nor the length of
    the token shows in how long a wrong guess takes.
    """
    return hmac.compare_digest(_digest(authorization), _digest(f"Bearer {token}"))


def public(handler: Handler) -> Handler:
    """Mark a route as needing no token: a page shell or static file that holds no data."""
    handler.public = True  # type: ignore[attr-defined]
    return handler


def is_public(request: web.Request) -> bool:
    """Whether the route of `request` was marked `public`."""
    return bool(getattr(request.match_info.handler, "public", False))


def request_allowed(token: str | None, request: web.Request) -> bool:
    """The rule itself: no token set, or the request carries it (header or cookie)."""
    if token is None:
        return True
    header = token_matches(token, request.headers.get("Authorization", ""))
    cookie = hmac.compare_digest(_digest(request.cookies.get(TOKEN_COOKIE, "")),
                                 _digest(token))
    return header | cookie  # both computed: no shortcut to time


def token_guard(token: str | None) -> Middleware:
    """An aiohttp middleware that refuses, with 401, requests without the token."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not is_public(request) and not request_allowed(token, request):
            return web.Response(body=orjson.dumps({"error": "missing or wrong bearer token"}),
                                status=401, content_type="application/json",
                                headers={"WWW-Authenticate": 'Bearer realm="lineage"'})
        return await handler(request)

    return guard
