"""The access rules every HTTP endpoint of the worker shares, on a real aiohttp server."""

from __future__ import annotations

import doctest

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from streams.http import access
from streams.http.access import TOKEN_COOKIE, ApiConfig, ApiConfigError, token_guard


def test_doctests() -> None:
    assert doctest.testmod(access).failed == 0


async def _hello(request: web.Request) -> web.Response:
    return web.json_response({"hello": "world"})


async def _client(token: str | None) -> TestClient[web.Request, web.Application]:
    app = web.Application(middlewares=[token_guard(token)])
    app.router.add_get("/x", _hello)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def test_without_a_token_set_everything_is_open() -> None:
    client = await _client(None)
    try:
        assert (await client.get("/x")).status == 200
    finally:
        await client.close()


@pytest.mark.parametrize(("headers", "cookies", "status"), [
    ({}, {}, 401),
    ({"Authorization": "Bearer guess-xyz"}, {}, 401),
    ({"Authorization": "Bearer s3cret-token-and-more"}, {}, 401),
    ({"Authorization": "s3cret-token"}, {}, 401),
    ({"Authorization": "Bearer s3cret-token"}, {}, 200),
    ({}, {TOKEN_COOKIE: "s3cret-token"}, 200),
    ({}, {TOKEN_COOKIE: "s3cret"}, 401),
])
async def test_the_token_is_required_as_a_bearer_header_or_the_cookie(
    headers: dict[str, str], cookies: dict[str, str], status: int,
) -> None:
    client = await _client("s3cret-token")
    try:
        async with aiohttp.ClientSession(cookies=cookies) as session:
            response = await session.get(client.make_url("/x"), headers=headers)
            body = await response.text()
        assert response.status == status
        if status == 401:
            assert "guess-xyz" not in body and "s3cret" not in body  # nothing echoed
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
    finally:
        await client.close()


def test_binding_beyond_loopback_needs_a_token() -> None:
    assert ApiConfig(8080).bind == "127.0.0.1"
    assert ApiConfig(8080, "0.0.0.0", "t").token == "t"
    with pytest.raises(ApiConfigError, match=r"on 0\.0\.0\.0 without a token"):
        ApiConfig(8080, "0.0.0.0")
