"""The Django probe through Django's own test clients (WSGI `Client`, ASGI `AsyncClient`).

Django is configured here (`settings.configure`), with this module as the URLconf.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import django
import lineage_probes
import pytest
from django.conf import settings
from django.core.handlers.base import BaseHandler
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import AsyncClient, Client, RequestFactory
from django.test.client import ClientHandler
from django.test.utils import override_settings
from django.urls import path, re_path
from django.views import View
from lineage_probes import context, counters
from lineage_probes.enforcement.feed import StaticZones
from lineage_probes.enforcement.index import ZoneState
from lineage_probes.hooks.django_hook import route_template

TRACE = "0af7651916cd43dd8448eb211c80319c"

if not settings.configured:
    settings.configure(
        DEBUG=False, SECRET_KEY="test-only", ROOT_URLCONF=__name__, ALLOWED_HOSTS=["testserver"],
        INSTALLED_APPS=[], MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
        DATABASES={}, USE_TZ=True, LOGGING_CONFIG=None)
    django.setup()


def order(request: HttpRequest, order_id: int) -> HttpResponse:
    body = json.loads(request.body)
    logging.getLogger("shop").info("order for %s", body["city"], extra={"order": order_id})
    trace = context.CURRENT.get()
    return JsonResponse({"id": order_id, "city": body["city"],
                         "trace": trace and trace.trace_id})


async def order_async(request: HttpRequest, order_id: int) -> HttpResponse:
    body = json.loads(request.body)
    trace = context.CURRENT.get()
    return JsonResponse({"id": order_id, "city": body["city"],
                         "trace": trace and trace.trace_id})


def form(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"note": request.POST["note"]})


def stream(request: HttpRequest) -> HttpResponse:
    return HttpResponse(request.read(), content_type="text/plain")


def archive(request: HttpRequest, year: str) -> HttpResponse:
    return JsonResponse({"year": year, "tags": request.GET.getlist("tag")})


def boom(request: HttpRequest) -> HttpResponse:
    raise KeyError("nope")


class Item(View):
    def get(self, request: HttpRequest, name: str) -> HttpResponse:
        return JsonResponse({"name": name})


def store(request: HttpRequest, db: str) -> HttpResponse:
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO ads_log (segment) VALUES (?)", ("s",))
    return JsonResponse({"ok": True})


def segment(request: HttpRequest, db: str) -> HttpResponse:
    """Writes what `?write=` makes of the city it was sent (the JSON body or the query)."""
    city = json.loads(request.body).get("city", "") if request.body else request.GET["city"]
    segment = {"verbatim": city, "inside": f"near {city.upper()}!",
               "sha256": hashlib.sha256(city.encode()).hexdigest()}.get(request.GET["write"],
                                                                       "generic")
    try:
        with sqlite3.connect(db) as conn:
            conn.execute("INSERT INTO ads_log (segment) VALUES (?)", (segment,))
    except lineage_probes.FlowBlocked:
        return JsonResponse({"written": False})
    return JsonResponse({"written": True})


urlpatterns = [
    path("orders/<int:order_id>/", order),
    path("async/orders/<int:order_id>/", order_async),
    path("forms/", form),
    path("stream/", stream),
    re_path(r"^archive/(?P<year>[0-9]{4})/$", archive),
    path("boom/", boom),
    path("items/<slug:name>/", Item.as_view()),
    path("store/<path:db>", store),
    path("segment/<path:db>", segment),
    path("other/<path:db>", segment),
]


@pytest.fixture(autouse=True)
def urls() -> Iterator[None]:
    logging.getLogger("shop").setLevel(logging.INFO)
    with override_settings(ROOT_URLCONF=__name__):
        yield


def test_route_template() -> None:
    assert route_template("users/<int:id>/") == "/users/{id}"
    assert route_template("^archive/(?P<year>[0-9]{4})/$") == "/archive/{year}"
    assert route_template("^old/([0-9]+)/(?:a|b)/$") == "/old/{arg0}/(?:a|b)"


def test_inputs_response_and_log(probes: Any) -> None:
    cap = probes(service="shop")
    response = Client().post("/orders/12/?src=mail", {"city": "Lisbon Harbour", "qty": 3},
                             content_type="application/json")
    assert response.status_code == 200
    [source] = cap.of("web://shop/", "source")
    assert source["asset"] == "web://shop/orders/{order_id}"
    assert source["payload"] == {"src": "mail", "order_id": 12, "city": "Lisbon Harbour",
                                 "qty": 3}
    assert source["code_location"].startswith("tests/unit/probes/test_django_probe.py:")
    [sink] = cap.of("web://shop/", "sink")
    assert sink["asset"] == "web://shop/orders/{order_id}"
    assert sink["payload"]["response"]["city"] == "Lisbon Harbour"
    assert sink["code_location"] == source["code_location"]
    [log] = cap.of("log://shop/shop")
    assert log["payload"] == {"message": "order for Lisbon Harbour", "args": ["Lisbon Harbour"],
                              "order": 12}
    assert len({e["trace_id"] for e in cap.events}) == 1  # one trace per request


def test_form_body_is_captured_and_still_read_by_the_view(probes: Any) -> None:
    cap = probes(service="shop")
    response = Client().post("/forms/", "note=leave+at+the+door",
                             content_type="application/x-www-form-urlencoded")
    assert response.json() == {"note": "leave at the door"}
    [source] = cap.of("web://shop/forms", "source")
    assert source["payload"] == {"note": "leave at the door"}


def test_a_view_that_streams_the_body_reads_the_same_bytes(probes: Any) -> None:
    cap = probes(service="shop")
    body = json.dumps({"city": "Coimbra Bridge"}).encode()
    response = Client().post("/stream/", body, content_type="application/json")
    assert response.content == body
    [source] = cap.of("web://shop/stream", "source")
    assert source["payload"] == {"city": "Coimbra Bridge"}
    assert cap.of("web://shop/stream", "sink") == []  # not a JSON response


def test_regex_route_query_and_class_based_view(probes: Any) -> None:
    cap = probes(service="shop")
    assert Client().get("/archive/2024/?tag=a&tag=b&q=x").json() == {
        "year": "2024", "tags": ["a", "b"]}
    [source] = cap.of("web://shop/archive", "source")
    assert source["asset"] == "web://shop/archive/{year}"
    assert source["payload"] == {"tag": ["a", "b"], "q": "x", "year": "2024"}
    Client().get("/items/blue-shoe/")
    [item] = cap.of("web://shop/items", "source")
    assert item["asset"] == "web://shop/items/{name}"
    assert item["payload"] == {"name": "blue-shoe"}
    line = Item.get.__code__.co_firstlineno
    assert item["code_location"] == f"tests/unit/probes/test_django_probe.py:{line}"


def test_unresolved_path_captures_nothing(probes: Any) -> None:
    cap = probes(service="shop")
    assert Client().get("/nowhere/12").status_code == 404
    assert cap.of("web://") == []


def test_traceparent_joined_and_unsampled_silent(probes: Any) -> None:
    cap = probes(service="shop", sample_rate=0.0)
    response = Client().post("/orders/1/", {"city": "Porto"}, content_type="application/json",
                             headers={"traceparent": f"00-{TRACE}-00f067aa0ba902b7-00"})
    assert response.json()["trace"] == TRACE
    assert cap.events == []
    assert context.CURRENT.get() is None


def test_traceparent_joined_when_sampled(probes: Any) -> None:
    cap = probes(service="shop")
    Client().post("/orders/1/", {"city": "Porto"}, content_type="application/json",
                  headers={"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"})
    assert {e["trace_id"] for e in cap.events} == {TRACE}


async def test_asgi_requests_are_captured_too(probes: Any) -> None:
    cap = probes(service="shop")
    response = await AsyncClient().post(
        "/async/orders/5/?src=app", {"city": "Evora Square"}, content_type="application/json",
        headers={"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"})
    assert response.json()["trace"] == TRACE
    [source] = cap.of("web://shop/", "source")
    assert source["asset"] == "web://shop/async/orders/{order_id}"
    assert source["payload"] == {"src": "app", "order_id": 5, "city": "Evora Square"}
    [sink] = cap.of("web://shop/", "sink")
    assert sink["payload"]["response"]["city"] == "Evora Square"
    assert {e["trace_id"] for e in cap.events} == {TRACE}


def test_redacted_field_never_leaves(probes: Any) -> None:
    cap = probes(service="shop", redact=["city"])
    Client().post("/orders/1/", {"city": "Secret Cove 12", "qty": 5, "password": "pw-77"},
                  content_type="application/json")
    [source] = cap.of("web://shop/", "source")
    assert source["payload"] == {"order_id": 1, "qty": 5}
    [sink] = cap.of("web://shop/", "sink")
    assert "city" not in sink["payload"]["response"]
    assert all(b"pw-77" not in v for _, v in cap.emitter.sent)
    # the value still reaches a log message the app formats itself: redaction is by name
    assert all(b"Secret Cove 12" not in v for _, v in cap.emitter.sent
               if b'"asset":"web://' in v)


def test_disabled_patches_nothing(probes: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    before = BaseHandler.get_response
    monkeypatch.setenv("LINEAGE_PROBE_DISABLED", "1")
    cap = probes(service="shop")
    assert BaseHandler.get_response is before
    Client().post("/orders/2/", {"city": "Faro"}, content_type="application/json")
    assert cap.events == []


def test_uninstrument_restores_and_takes_the_probe_out_of_loaded_handlers(probes: Any) -> None:
    names = ("get_response", "get_response_async", "resolve_request")
    before = [BaseHandler.__dict__[n] for n in names]
    cap = probes(service="shop")
    assert all(BaseHandler.__dict__[n] is not b for n, b in zip(names, before, strict=True))
    client = Client()  # its handler loads its middleware chain while the probes are on
    client.post("/orders/2/", {"city": "Faro"}, content_type="application/json")
    assert cap.of("web://shop/", "source")
    lineage_probes.uninstrument()
    assert [BaseHandler.__dict__[n] for n in names] == before
    cap.clear()
    response = client.post("/orders/3/", {"city": "Faro"}, content_type="application/json")
    assert response.json()["trace"] is None
    assert cap.events == []


def test_internal_error_turns_the_probe_off_and_the_request_succeeds(
        probes: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    cap = probes(service="shop")
    from lineage_probes import webinputs

    def broken(*args: Any) -> Any:
        raise ValueError("boom")
    monkeypatch.setattr(webinputs, "inputs", broken)
    client = Client()
    for _ in range(2):
        reply = client.post("/orders/2/", {"city": "Faro"}, content_type="application/json")
        assert reply.json()["city"] == "Faro"
    assert counters.snapshot()["probe_errors.django"] == 1
    assert cap.of("web://shop/") == []


class _Gone(io.RawIOBase):
    """A request body whose client went away after sending its headers."""

    def readinto(self, buffer: Any) -> int:
        raise ConnectionResetError("client gone")


def test_a_client_gone_mid_body_leaves_the_probe_on(probes: Any) -> None:
    cap = probes(service="shop")
    environ = RequestFactory().post("/forms/", "note=x", content_type=(
        "application/x-www-form-urlencoded")).environ
    environ["wsgi.input"] = _Gone()
    assert ClientHandler()(environ).status_code == 500  # the view could not read it either
    assert "probe_errors.django" not in counters.snapshot()
    assert counters.snapshot()["skipped_unreadable_body"] == 1
    Client().post("/forms/", "note=fine", content_type="application/x-www-form-urlencoded")
    assert [e["payload"] for e in cap.of("web://shop/forms", "source")] == [{"note": "fine"}]


def test_app_behaviour_identical_with_and_without_probes(probes: Any) -> None:
    def exercise() -> list[tuple[int, list[tuple[str, str]], bytes]]:
        client = Client(raise_request_exception=False)
        calls = [client.post("/orders/3/", {"city": "Braga"}, content_type="application/json"),
                 client.post("/orders/x/", {}, content_type="application/json"),
                 client.get("/orders/3"),  # CommonMiddleware's redirect to the slash
                 client.get("/boom/"),
                 client.post("/forms/", {"note": "hi there"}),  # multipart: not read
                 client.post("/forms/", "note=hi+again",
                             content_type="application/x-www-form-urlencoded"),
                 client.post("/stream/", b"\x00\x01binary", content_type="application/json"),
                 client.get("/archive/1999/?tag=z"), client.get("/items/x/"),
                 client.post("/orders/4/", b"{not json", content_type="application/json")]
        return [(r.status_code, sorted(h for h in r.headers.items() if h[0] != "Content-Length"),
                 re.sub(rb'"trace": ("[0-9a-f]+"|null)', b"", r.content)) for r in calls]

    without = exercise()
    probes(service="shop")
    assert exercise() == without


def _zones(mode: str, member: str, **policy: str) -> StaticZones:
    state = ZoneState()
    state.apply_policy(b"loc", json.dumps({"policy_id": "loc", "mode": mode,
                                           "deny": ["sqlite://app.db/ads_log"],
                                           **policy}).encode())
    state.apply_member(f"loc|{member}".encode(), b'{"state":"root"}')
    return StaticZones(state)


def _ads_rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM ads_log").fetchone()[0])


def test_inbound_taint_header_is_checked(probes: Any, db: Path) -> None:
    probes(zones=_zones("enforce", "sqlite://app.db/users#city"), sample_rate=0.0)
    client = Client()
    assert client.post(f"/store/{db}").status_code == 200  # no taint: written
    with pytest.raises(lineage_probes.FlowBlocked):
        client.post(f"/store/{db}", headers={"x-lineage-taint": "loc"})
    assert _ads_rows(db) == 1


def test_inputs_of_a_zone_route_taint_every_request(probes: Any, db: Path) -> None:
    probes(service="shop", zones=_zones("enforce", "web://shop/store/{db}"), sample_rate=0.0)
    with pytest.raises(lineage_probes.FlowBlocked):
        Client().post(f"/store/{db}")
    assert _ads_rows(db) == 0


@pytest.mark.parametrize("sample_rate", [0.0, 1.0])
def test_precise_policy_blocks_only_writes_carrying_an_input_value(
        probes: Any, db: Path, sample_rate: float) -> None:
    city = "Valparaiso-4711"
    cap = probes(service="shop", sample_rate=sample_rate,
                 zones=_zones("enforce", "web://shop/segment/{db}#city", match="value"))
    client = Client()

    def written(path: str, write: str, **body: str) -> bool:
        if body:
            response = client.post(f"/{path}/{db}?write={write}", json.dumps(body),
                                   content_type="application/json")
        else:
            response = client.get(f"/{path}/{db}?write={write}&city={city}")
        assert response.status_code == 200
        return bool(response.json()["written"])

    assert written("segment", "none", city=city)  # read the city, wrote something else
    assert written("segment", "none")
    for write in ("verbatim", "inside", "sha256"):
        assert not written("segment", write, city=city)
        assert not written("segment", write)  # the city in the query
        assert written("other", write, city=city)  # a route in no zone
    assert written("segment", "verbatim", town=city)  # no zone field sent: clean
    sent = b"".join(v for topic, _, v in cap.emitter.other if topic == "enforcement-events")
    assert b'"blocked"' in sent and city.lower().encode() not in sent.lower()

