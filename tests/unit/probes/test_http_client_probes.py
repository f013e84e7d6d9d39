"""requests, httpx (sync and async) and urllib3 against a real HTTP server on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import requests
import urllib3
from lineage_probes import context

TRACE = "5bf92f3577b34da6a3ce929d0e0e4736"


class Echo(BaseHTTPRequestHandler):
    """Answers every call with JSON naming the traceparent it received."""

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        out = json.dumps({"traceparent": self.headers.get("traceparent"),
                          "greeting": "Welcome aboard, friend", "got": len(body)}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = _answer

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _in_trace(fn: Any, sampled: bool = True) -> Any:
    token = context.CURRENT.set(context.Trace(TRACE, sampled))
    try:
        return fn()
    finally:
        context.end(token)


def _check(cap: Any, server: str, answer: dict[str, Any]) -> None:
    port = server.rsplit(":", 1)[1]
    asset = f"http://127.0.0.1:{port}/users/{{id}}/welcome"
    [sink] = cap.of(asset, "sink")
    assert sink["payload"] == {"lang": "en", "name": "Ada Lovelace"}
    [source] = cap.of(asset, "source")
    assert source["payload"]["greeting"] == "Welcome aboard, friend"
    assert answer["traceparent"].split("-")[1] == TRACE
    assert sink["trace_id"] == TRACE
    assert sink["code_location"].startswith("tests/unit/probes/test_http_client_probes.py:")


def test_requests(probes: Any, server: str) -> None:
    cap = probes()
    answer = _in_trace(lambda: requests.post(f"{server}/users/42/welcome?lang=en",
                                             json={"name": "Ada Lovelace"}, timeout=5).json())
    _check(cap, server, answer)  # once: the urllib3 below requests does not capture again


def test_httpx_sync(probes: Any, server: str) -> None:
    cap = probes()
    answer = _in_trace(lambda: httpx.post(f"{server}/users/42/welcome?lang=en",
                                          json={"name": "Ada Lovelace"}).json())
    _check(cap, server, answer)


async def test_httpx_async(probes: Any, server: str) -> None:
    cap = probes()
    token = context.CURRENT.set(context.Trace(TRACE, True))
    try:
        async with httpx.AsyncClient() as client:
            answer = (await client.post(f"{server}/users/42/welcome?lang=en",
                                        json={"name": "Ada Lovelace"})).json()
    finally:
        context.end(token)
    _check(cap, server, answer)


def test_urllib3(probes: Any, server: str) -> None:
    cap = probes()
    headers = {"content-type": "application/json"}
    answer = _in_trace(lambda: urllib3.request(
        "POST", f"{server}/users/42/welcome?lang=en", headers=headers,
        body=json.dumps({"name": "Ada Lovelace"})).json())
    _check(cap, server, answer)
    assert headers == {"content-type": "application/json"}  # the caller's dict untouched


def test_unsampled_trace_propagates_without_capture(probes: Any, server: str) -> None:
    cap = probes()
    answer = _in_trace(lambda: requests.get(f"{server}/x", timeout=5).json(), sampled=False)
    assert answer["traceparent"].startswith(f"00-{TRACE}-") and answer["traceparent"][-2:] == "00"
    assert cap.events == []


def test_no_trace_no_header(probes: Any, server: str) -> None:
    cap = probes()
    assert requests.get(f"{server}/x", timeout=5).json()["traceparent"] is None
    assert cap.events == []


def test_an_unsampled_request_sends_one_trace_id_on_every_call(probes: Any, server: str) -> None:
    # the probes make a new trace's id lazily; the calls of one request must
    # still all carry the same id, with the unsampled flag
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    def fan_out(request: Request) -> JSONResponse:
        return JSONResponse([requests.get(f"{server}/a", timeout=5).json()["traceparent"],
                             httpx.get(f"{server}/b", timeout=5).json()["traceparent"]])

    cap = probes(sample_rate=0.0)
    client = TestClient(Starlette(routes=[Route("/fan", fan_out)]))
    first, second = client.get("/fan").json()
    other, _ = client.get("/fan").json()
    assert first.split("-")[1] == second.split("-")[1] != other.split("-")[1]
    assert first.endswith("-00") and second.endswith("-00")
    assert cap.events == []
