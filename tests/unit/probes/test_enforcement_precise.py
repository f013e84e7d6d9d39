"""Precise mode (`match: value`) for reads that are not DB rows: a route's inputs
(Starlette, Flask; Django in test_django_probe.py), a consumed Kafka message, a redis
read. Real frameworks, zones set by hand (`StaticZones`), a real SQLite file as the
denied sink: a write carrying a value read (verbatim, inside a longer string, through a
hash) is blocked, a write to the same sink carrying none goes, a read outside the zone
taints nothing, and no enforcement event holds a value."""

from __future__ import annotations

import contextvars
import hashlib
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastapi
import lineage_probes
import pytest
from lineage_probes import context
from lineage_probes.enforcement.feed import StaticZones
from lineage_probes.enforcement.index import ZoneState

CITY = "Valparaiso-4711"  # a value that must never appear in an enforcement event

#: What a handler writes to the denied sink, from the city it read.
WRITES: dict[str, Callable[[str], str]] = {
    "verbatim": lambda city: city,
    "inside": lambda city: f"near {city.upper()}!",
    "sha256": lambda city: hashlib.sha256(city.encode()).hexdigest(),
    "none": lambda city: "generic",
}
CARRYING = ("verbatim", "inside", "sha256")


def _zones(*members: str, match: str = "value") -> StaticZones:
    state = ZoneState()
    state.apply_policy(b"loc", json.dumps({
        "policy_id": "loc", "mode": "enforce", "match": match,
        "deny": ["sqlite://app.db/ads_log", "kafka://*/ads"]}).encode())
    for member in members:
        state.apply_member(f"loc|{member}".encode(), b'{"state":"root"}')
    return StaticZones(state)


def _write(db: Path, segment: str) -> bool:
    """Write to the denied sink; False when enforcement blocked it."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("INSERT INTO ads_log (segment) VALUES (?)", (segment,))
        conn.commit()
    except lineage_probes.FlowBlocked:
        return False
    finally:
        conn.close()
    return True


def _rows(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute("SELECT segment FROM ads_log")]


def _enforcement(cap: Any) -> list[bytes]:
    return [v for topic, _, v in cap.emitter.other if topic == "enforcement-events"]


def _no_value_in_events(cap: Any) -> None:
    sent = b"".join(_enforcement(cap))
    assert sent, "expected enforcement events"
    for form in WRITES.values():
        assert form(CITY).lower().encode() not in sent.lower()
    for event in _enforcement(cap):
        assert json.loads(event)["decision"] == "blocked"


# -- route inputs ------------------------------------------------------------------


def _starlette(db: Path) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    async def where(request: Request) -> JSONResponse:
        city = request.query_params.get("city")
        if city is None:
            ctype = request.headers.get("content-type", "")
            if ctype.startswith("application/json"):
                city = (await request.json()).get("city", "")
            elif ctype.startswith("application/x-www-form"):
                city = str((await request.form())["city"])
            else:
                city = (await request.body()).decode()[:len(CITY)]
        written = _write(db, WRITES[request.query_params["write"]](city))
        return JSONResponse({"written": written})

    app = Starlette(routes=[Route("/where/{uid}", where, methods=["GET", "POST"]),
                            Route("/other/{uid}", where, methods=["GET", "POST"])])
    return TestClient(app)


def _flask(db: Path) -> Any:
    from flask import Flask, jsonify, request

    app = Flask("shop")

    def where(uid: str) -> Any:
        city = request.args.get("city")
        if city is None:
            if request.is_json:
                city = request.get_json().get("city", "")
            elif request.form:
                city = request.form["city"]
            else:
                city = request.get_data().decode()[:len(CITY)]
        return jsonify({"written": _write(db, WRITES[request.args["write"]](city))})

    app.add_url_rule("/where/<uid>", "where", where, methods=["GET", "POST"])
    app.add_url_rule("/other/<uid>", "other", where, methods=["GET", "POST"])
    return app.test_client()


def _fastapi(db: Path) -> Any:
    from fastapi.testclient import TestClient

    app = fastapi.FastAPI()

    async def where(uid: str, write: str, request: fastapi.Request,
                    city: str | None = None) -> Any:
        if city is None:
            if request.headers.get("content-type", "").startswith("application/json"):
                city = (await request.json()).get("city", "")
            elif request.headers.get("content-type", "").startswith("application/x-www-form"):
                city = str((await request.form())["city"])
            else:
                city = (await request.body()).decode()[:len(CITY)]
        return {"written": _write(db, WRITES[write](city))}

    for path in ("/where/{uid}", "/other/{uid}"):
        app.add_api_route(path, where, methods=["GET", "POST"])
    return TestClient(app)


APPS = {"starlette": _starlette, "flask": _flask, "fastapi": _fastapi}


def _written(response: Any) -> bool:
    assert response.status_code == 200
    body = response.json  # a method on httpx's response, a property on Werkzeug's
    return bool((body() if callable(body) else body)["written"])


def _raw(client: Any, path: str, body: str, content_type: str) -> bool:
    """POST `body` as is, with its content type."""
    headers = {"content-type": content_type}
    if hasattr(client, "application"):  # Werkzeug's test client
        return _written(client.post(path, data=body, headers=headers))
    return _written(client.post(path, content=body, headers=headers))


@pytest.mark.parametrize("sample_rate", [0.0, 1.0])
@pytest.mark.parametrize("framework", sorted(APPS))
def test_route_inputs_block_only_writes_carrying_an_input_value(
        probes: Any, db: Path, framework: str, sample_rate: float) -> None:
    cap = probes(service="svc", sample_rate=sample_rate,
                 zones=_zones("web://svc/where/{uid}#city"))
    client = APPS[framework](db)

    def post(path: str, write: str) -> bool:
        return _written(client.post(f"{path}?write={write}",
                                    json={"city": CITY, "note": "hello"}))

    assert post("/where/7", "none")  # read the city, wrote something else: goes
    for write in CARRYING:
        assert not post("/where/7", write), write
    for write in CARRYING:
        assert post("/other/7", write), write  # a route in no zone is untouched
    assert _rows(db) == ["generic", *(WRITES[w](CITY) for w in CARRYING)]
    _no_value_in_events(cap)


@pytest.mark.parametrize("framework", sorted(APPS))
def test_query_and_form_inputs_are_values_too(probes: Any, db: Path, framework: str) -> None:
    probes(service="svc", sample_rate=0.0, zones=_zones("web://svc/where/{uid}#city"))
    client = APPS[framework](db)
    written = _written
    assert written(client.get(f"/where/7?city={CITY}&write=none"))
    assert not written(client.get(f"/where/7?city={CITY}&write=inside"))
    assert written(client.post("/where/7?write=none", data={"city": CITY}))
    assert not written(client.post("/where/7?write=sha256", data={"city": CITY}))
    # an input without the zone field carries nothing of the zone: the request is clean
    assert written(client.get(f"/where/7?town={CITY}&city=Lima&write=none"))


@pytest.mark.parametrize("framework", sorted(APPS))
def test_a_body_the_probe_cannot_read_falls_back_to_request_level(
        probes: Any, db: Path, framework: str) -> None:
    probes(service="svc", sample_rate=0.0, zones=_zones("web://svc/where/{uid}#city"))
    client = APPS[framework](db)
    assert not _raw(client, "/where/7?write=none", CITY, "text/plain")
    big = json.dumps({"city": CITY, "pad": "x" * (300 * 1024)})  # over the body cap
    assert not _raw(client, "/where/7?write=none", big, "application/json")
    assert _raw(client, "/where/7?write=none", json.dumps({"town": "Lima"}), "application/json")
    assert _raw(client, "/other/7?write=none", big, "application/json")


def test_a_request_level_policy_still_taints_the_route_as_a_whole(probes: Any,
                                                                  db: Path) -> None:
    probes(service="svc", sample_rate=0.0,
           zones=_zones("web://svc/where/{uid}#city", match="request"))
    client = _starlette(db)
    assert client.get("/where/7?city=Lima&write=none").json() == {"written": False}
    assert client.get("/other/7?city=Lima&write=none").json() == {"written": True}


# -- consumed Kafka messages -------------------------------------------------------


def test_a_consumed_message_blocks_only_writes_carrying_its_zone_values(
        probes: Any, db: Path, closed_port: int) -> None:
    import confluent_kafka

    topic = f"kafka://127.0.0.1:{closed_port}/users"
    cap = probes(service="svc", zones=_zones(f"{topic}#address.city", f"{topic}#visited[]"))
    conf = {"bootstrap.servers": f"127.0.0.1:{closed_port}", "group.id": "g"}
    consumer = confluent_kafka.Consumer(conf)
    producer = confluent_kafka.Producer({"bootstrap.servers": f"127.0.0.1:{closed_port}"})

    def handle(topic: str, value: bytes, write: str) -> tuple[bool, bool]:
        """Consume one message (the hook's own step after `poll`), then write and produce."""
        def run() -> tuple[bool, bool]:
            consumer._lp_seen(confluent_kafka.Message(topic=topic, value=value))
            segment = WRITES[write](CITY)
            try:
                producer.produce("ads", value=json.dumps({"segment": segment}).encode())
                produced = True
            except lineage_probes.FlowBlocked:
                produced = False
            return _write(db, segment), produced
        return contextvars.copy_context().run(run)

    message = json.dumps({"id": 7, "address": {"city": CITY, "zip": "2340000"}}).encode()
    assert handle("users", message, "none") == (True, True)
    for write in CARRYING:
        assert handle("users", message, write) == (False, False), write
    without = json.dumps({"id": 7, "note": CITY}).encode()  # no zone field in it
    assert handle("users", without, "verbatim") == (True, True)
    assert handle("orders", message, "verbatim") == (True, True)  # a topic in no zone
    # a value the hook cannot see as fields (not JSON): the request as a whole
    assert handle("users", b"\x00avro\x01", "none") == (False, False)
    # more than 256 values read (a list under a zone field): the request as a whole
    many = json.dumps({"visited": [f"town-{n:04d}" for n in range(257)]}).encode()
    assert handle("users", many, "none") == (False, False)
    few = json.dumps({"visited": [f"town-{n:04d}" for n in range(256)]}).encode()
    assert handle("users", few, "none") == (True, True)
    producer.purge()
    consumer.close()
    _no_value_in_events(cap)


# -- redis reads -------------------------------------------------------------------


def test_a_redis_read_blocks_only_writes_carrying_the_value_read(
        probes: Any, db: Path, redis_port: int) -> None:
    import redis

    cap = probes(service="svc", sample_rate=0.0,
                 zones=_zones(f"redis://127.0.0.1:{redis_port}/0#home:{{id}}"))
    client = redis.Redis(host="127.0.0.1", port=redis_port, db=0)
    client.set("home:42", CITY)
    client.set("note:42", CITY)

    def handle(key: str, write: str) -> bool:
        def run() -> bool:
            read = client.get(key)
            assert read == CITY.encode()
            return _write(db, WRITES[write](read.decode()))
        token = context.CURRENT.set(context.Trace("ab" * 16, False))
        try:
            return run()
        finally:
            context.end(token)

    assert handle("home:42", "none")
    for write in CARRYING:
        assert not handle("home:42", write), write
    for write in CARRYING:
        assert handle("note:42", write), write  # a key space in no zone
    _no_value_in_events(cap)
