from __future__ import annotations

import hashlib
import logging
from typing import Any

import pytest
from fastapi import FastAPI
from lineage_probes import context, counters, tracecontext
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


class User(BaseModel):
    name: str
    email: str
    password: str = ""


def fastapi_app() -> FastAPI:
    app = FastAPI()
    logging.getLogger("users").setLevel(logging.INFO)

    @app.post("/users/{user_id}")
    def update(user_id: int, user: User, verbose: bool = False) -> dict[str, Any]:
        logging.getLogger("users").info("updated %s", user.name)
        return {"id": user_id, "name": user.name, "trace": _trace_id()}

    @app.get("/plain")
    def plain() -> PlainTextResponse:
        return PlainTextResponse("hello")

    return app


def _trace_id() -> str | None:
    trace = context.CURRENT.get()
    return None if trace is None else trace.trace_id


def starlette_app() -> Starlette:
    async def photo(request: Request) -> JSONResponse:
        form = await request.form()
        return JSONResponse({"caption": form.get("caption"), "id": request.path_params["pid"]})
    return Starlette(routes=[Route("/photos/{pid:int}", photo, methods=["POST"])])


def test_fastapi_inputs_with_route_template_and_json_response(probes: Any) -> None:
    cap = probes()
    client = TestClient(fastapi_app())
    response = client.post("/users/42?verbose=true",
                           json={"name": "Ada Lovelace", "email": "ada@example.com"})
    assert response.status_code == 200
    [source] = cap.of("web://svc/", "source")
    assert source["asset"] == "web://svc/users/{user_id}"
    # path parameters as the router gives them: a string without a convertor
    assert source["payload"] == {"verbose": "true", "user_id": "42", "name": "Ada Lovelace",
                                 "email": "ada@example.com"}
    assert source["code_location"].startswith("tests/unit/probes/test_asgi_probe.py:")
    [sink] = cap.of("web://svc/", "sink")
    assert sink["payload"]["response"]["name"] == "Ada Lovelace"
    [log] = cap.of("log://svc/users")
    assert log["payload"]["message"] == "updated Ada Lovelace"
    assert {e["trace_id"] for e in cap.events} == {source["trace_id"]}
    assert all(e["v"] == 1 and e["type"] == "probe" and e["service"] == "svc"
               and e["sample_rate"] == 1.0 for e in cap.events)


def test_starlette_form_body_and_converter_template(probes: Any) -> None:
    cap = probes()
    response = TestClient(starlette_app()).post("/photos/7", data={"caption": "Sunset at Home"})
    assert response.json() == {"caption": "Sunset at Home", "id": 7}
    [source] = cap.of("web://svc/", "source")
    assert source["asset"] == "web://svc/photos/{pid}"
    assert source["payload"] == {"pid": 7, "caption": "Sunset at Home"}


def test_inbound_traceparent_is_joined(probes: Any) -> None:
    cap = probes()
    response = TestClient(fastapi_app()).post(
        "/users/1", json={"name": "Grace", "email": "g@example.com"},
        headers={"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"})
    assert response.json()["trace"] == TRACE
    assert {e["trace_id"] for e in cap.events} == {TRACE}


def test_redacted_field_never_leaves(probes: Any) -> None:
    cap = probes(redact=["email"])
    TestClient(fastapi_app()).post("/users/1", json={
        "name": "Grace", "email": "grace@example.com", "password": "hunter2-secret"})
    sent = b"".join(value for _, value in cap.emitter.sent)
    assert b"Grace" in sent
    assert b"grace@example.com" not in sent and b"hunter2-secret" not in sent


def test_unsampled_requests_capture_nothing(probes: Any) -> None:
    cap = probes(sample_rate=0.0)
    response = TestClient(fastapi_app()).post("/users/1", json={"name": "G", "email": "e"})
    assert response.status_code == 200 and response.json()["trace"] is not None
    assert cap.events == []


def test_sampling_is_deterministic_per_trace(probes: Any) -> None:
    cap = probes(sample_rate=0.5)
    client = TestClient(fastapi_app())
    ids = [hashlib.sha256(str(n).encode()).hexdigest()[:32] for n in range(40)]
    for trace_id in ids:
        client.post("/users/1", json={"name": "Grace", "email": "g@example.com"},
                    headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
    captured = {e["trace_id"] for e in cap.events}
    expected = {t for t in ids if tracecontext.sampled(t, 0.5)}
    assert captured == expected
    assert 0 < len(expected) < len(ids)


def test_internal_error_turns_the_probe_off_and_the_request_succeeds(
        probes: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    cap = probes()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    from lineage_probes import webinputs
    monkeypatch.setattr(webinputs, "inputs", broken)
    client = TestClient(fastapi_app())
    first = client.post("/users/3", json={"name": "Ada", "email": "a@example.com"})
    second = client.post("/users/3", json={"name": "Ada", "email": "a@example.com"})
    assert first.status_code == second.status_code == 200
    assert first.json()["name"] == second.json()["name"] == "Ada"
    assert counters.snapshot()["probe_errors.asgi"] == 1
    assert cap.of("web://") == []


def test_app_behaviour_identical_with_and_without_probes(probes: Any) -> None:
    def exercise() -> list[tuple[int, bytes, str]]:
        client = TestClient(fastapi_app(), raise_server_exceptions=False)
        calls = [client.post("/users/5", json={"name": "Ada", "email": "a@example.com"}),
                 client.post("/users/x", json={"name": "Ada"}),
                 client.get("/plain"), client.get("/missing")]
        return [(r.status_code, r.content.replace(b'"trace":null', b""),
                 r.headers.get("content-type", "")) for r in calls]

    def scrub(results: list[tuple[int, bytes, str]]) -> list[tuple[int, bytes, str]]:
        import re
        return [(s, re.sub(rb'"trace":"[0-9a-f]+"', b"", c), t) for s, c, t in results]

    without = scrub(exercise())
    probes()
    with_probes = scrub(exercise())
    assert with_probes == without
