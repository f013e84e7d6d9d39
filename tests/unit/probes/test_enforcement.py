"""Enforcement in the probes, without Kafka: the zones set by hand (`StaticZones`), the
real hooks, a real SQLite file, a real HTTP server on loopback, a real Flask app."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import lineage_probes
import pytest
from lineage_probes import context, counters
from lineage_probes.enforcement.feed import StaticZones
from lineage_probes.enforcement.index import ZoneState

CITY = "Valparaiso-4711"  # a value that must never appear in an enforcement event


class Ads(BaseHTTPRequestHandler):
    """Counts the calls it receives and the taint header they carried."""

    received: ClassVar[list[str | None]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        Ads.received.append(self.headers.get("x-lineage-taint"))
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture()
def ads() -> Iterator[str]:
    Ads.received = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Ads)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _state(mode: str = "log", **policy: Any) -> ZoneState:
    state = ZoneState()
    state.apply_policy(b"loc", json.dumps({"policy_id": "loc", "mode": mode,
                                           "deny": ["http://127.0.0.1:*/ads/**",
                                                    "sqlite://app.db/ads_log"],
                                           **policy}).encode())
    state.apply_member(b"loc|sqlite://app.db/users#city", b'{"state":"root"}')
    return state


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as conn:
        conn.executescript("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, city TEXT);"
                           "CREATE TABLE ads_log (segment TEXT);")
        conn.execute("INSERT INTO users VALUES (1, 'Ada', ?)", (CITY,))
    return path


def _request(fn: Any, *, sampled: bool = False) -> Any:
    """`fn` inside a request's trace (unsampled by default: enforcement sees every request)."""
    token = context.CURRENT.set(context.Trace("ab" * 16, sampled))
    try:
        return fn()
    finally:
        context.end(token)


def _events(cap: Any) -> list[dict[str, Any]]:
    return [json.loads(v) for topic, _, v in cap.emitter.other if topic == "enforcement-events"]


def _read_and_write(db: Path, columns: str = "name, city") -> None:
    conn = sqlite3.connect(db)
    try:
        row = conn.execute(f"SELECT {columns} FROM users WHERE id = 1").fetchone()
        conn.execute("INSERT INTO ads_log (segment) VALUES (?)", (row[-1],))
        conn.commit()
    finally:
        conn.close()


def _ads_rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM ads_log").fetchone()[0])


def test_log_mode_records_and_lets_the_write_go(probes: Any, db: Path) -> None:
    cap = probes(sample_rate=0.0, zones=StaticZones(_state("log")))
    _request(lambda: _read_and_write(db))
    assert _ads_rows(db) == 1
    (event,) = _events(cap)
    assert {k: event[k] for k in ("policy_id", "mode", "decision", "sink", "sink_kind",
                                  "source", "service")} == {
        "policy_id": "loc", "mode": "log", "decision": "logged",
        "sink": "sqlite://app.db/ads_log", "sink_kind": "db",
        "source": "sqlite://app.db/users#city", "service": "svc"}
    assert event["trace_id"] == "ab" * 16
    assert event["code_location"].startswith("tests/unit/probes/test_enforcement.py:")
    assert CITY not in json.dumps(event)
    assert cap.events == []  # unsampled: no capture, yet checked


def test_enforce_mode_blocks_before_the_write(probes: Any, db: Path) -> None:
    cap = probes(sample_rate=1.0, zones=StaticZones(_state("enforce")))
    with pytest.raises(lineage_probes.FlowBlocked) as blocked:
        _request(lambda: _read_and_write(db))
    assert (blocked.value.policy_id, blocked.value.sink, blocked.value.kind) == (
        "loc", "sqlite://app.db/ads_log", "db")
    assert _ads_rows(db) == 0  # the statement never ran
    assert [e["decision"] for e in _events(cap)] == ["blocked"]
    assert not cap.of("sqlite://app.db/ads_log")  # nor was it captured as a flow
    assert lineage_probes.stats()["enforcement_blocked"] == 1


def test_a_request_that_never_touched_the_zone_is_never_blocked(probes: Any, db: Path) -> None:
    cap = probes(zones=StaticZones(_state("enforce")))
    _request(lambda: _read_and_write(db, columns="id, name"))  # reads no zone column
    assert _ads_rows(db) == 1 and _events(cap) == []


def test_an_excluded_asset_lifts_the_block(probes: Any, db: Path) -> None:
    state = _state("enforce")
    zones = StaticZones(state)
    probes(zones=zones)
    with pytest.raises(lineage_probes.FlowBlocked):
        _request(lambda: _read_and_write(db))
    state.apply_member(b"loc|sqlite://app.db/users#city", b'{"state":"excluded"}')
    zones.update(state)
    _request(lambda: _read_and_write(db))
    assert _ads_rows(db) == 1


def test_enforce_on_limits_the_kinds_blocked(probes: Any, db: Path, ads: str) -> None:
    cap = probes(zones=StaticZones(_state("enforce", enforce_on=["http"])))
    _request(lambda: _read_and_write(db))  # db not in enforce_on: logged, written
    assert _ads_rows(db) == 1
    assert [e["decision"] for e in _events(cap)] == ["logged"]


def test_an_outbound_call_is_not_sent_and_taint_travels_in_a_header(
        probes: Any, db: Path, ads: str) -> None:
    state = _state("log")
    zones = StaticZones(state)
    probes(zones=zones)

    def call() -> None:
        with sqlite3.connect(db) as conn:
            conn.execute("SELECT city FROM users").fetchall()
        httpx.post(f"{ads}/ads/targeting", json={"segment": "x"})

    _request(call)
    assert Ads.received == ["loc"]  # log mode: sent, with the taint for the next service
    state.apply_policy(b"loc", json.dumps({"policy_id": "loc", "mode": "enforce",
                                           "deny": ["http://127.0.0.1:*/ads/**"]}).encode())
    zones.update(state)
    with pytest.raises(lineage_probes.FlowBlocked):
        _request(call)
    assert Ads.received == ["loc"]  # nothing more arrived
    _request(lambda: httpx.post(f"{ads}/ads/targeting", json={}))  # untainted: goes
    assert Ads.received == ["loc", None]


def test_inbound_taint_header_is_checked_in_the_next_service(probes: Any, db: Path) -> None:
    import flask

    probes(zones=StaticZones(_state("enforce")))
    app = flask.Flask("callee")

    @app.post("/store")
    def store() -> Any:
        with sqlite3.connect(db) as conn:
            conn.execute("INSERT INTO ads_log (segment) VALUES (?)", ("s",))
        return {"ok": True}

    app.testing = True
    with app.test_client() as client:
        assert client.post("/store").status_code == 200  # no taint: written
        with pytest.raises(lineage_probes.FlowBlocked):
            client.post("/store", headers={"x-lineage-taint": "loc"})
    assert _ads_rows(db) == 1


def test_taint_follows_threads_and_executors(probes: Any, db: Path) -> None:
    probes(zones=StaticZones(_state("enforce")))
    errors: list[BaseException] = []

    def write() -> None:
        try:
            with sqlite3.connect(db) as conn:
                conn.execute("INSERT INTO ads_log (segment) VALUES ('t')")
        except lineage_probes.FlowBlocked as exc:
            errors.append(exc)

    def request() -> None:
        with sqlite3.connect(db) as conn:
            conn.execute("SELECT city FROM users").fetchall()
        thread = threading.Thread(target=write)
        thread.start()
        thread.join()
        with ThreadPoolExecutor(1) as pool:
            pool.submit(write).result()

    _request(request)
    assert len(errors) == 2 and _ads_rows(db) == 0


def test_fail_open_and_fail_closed_when_the_zones_cannot_be_read(probes: Any, db: Path) -> None:
    zones = StaticZones(_state("enforce", fail_mode="fail_closed"))
    probes(zones=zones)
    zones.set_available(False)
    with pytest.raises(lineage_probes.FlowBlocked) as blocked:  # untainted, yet denied sink
        _request(lambda: _read_and_write(db, columns="id, name"))
    assert blocked.value.reason == "fail_closed"
    with sqlite3.connect(db) as conn:  # a sink no policy denies still works
        _request(lambda: conn.execute("INSERT INTO users (name, city) VALUES ('B', 'x')"))
    lineage_probes.uninstrument()
    counters.reset()
    zones = StaticZones(_state("enforce"))  # fail_open (the default)
    probes(zones=zones)
    zones.set_available(False)
    _request(lambda: _read_and_write(db, columns="id, name"))
    assert _ads_rows(db) == 1
    assert lineage_probes.stats()["enforcement_fail_open"] >= 1


def test_never_read_zones_use_the_process_default(probes: Any, db: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINEAGE_PROBE_ENFORCE_FAIL", "fail_closed")
    monkeypatch.setenv("LINEAGE_PROBE_ENFORCE_WAIT_S", "0")
    probes(zones=StaticZones(available=False))
    with pytest.raises(lineage_probes.FlowBlocked) as blocked:
        _request(lambda: _read_and_write(db, columns="id, name"))
    assert blocked.value.policy_id == "*"
    _read_and_write(db, columns="id, name")  # outside any request: not checked
    assert _ads_rows(db) == 1


def test_precise_mode_blocks_only_writes_that_carry_a_value_read(
        probes: Any, db: Path, ads: str) -> None:
    import hashlib

    cap = probes(zones=StaticZones(_state("enforce", match="value")))

    def request(segment_of: Any) -> None:
        def run() -> None:
            conn = sqlite3.connect(db)
            try:
                (_name, city) = conn.execute("SELECT name, city FROM users WHERE id = 1").fetchone()
                conn.execute("INSERT INTO ads_log (segment) VALUES (?)", (segment_of(city),))
                conn.commit()
            finally:
                conn.close()
        _request(run)

    request(lambda city: "generic")  # read the city, wrote something else: goes
    assert _ads_rows(db) == 1
    for carried in (lambda city: city, lambda city: f"near {city.upper()}!",
                    lambda city: hashlib.sha256(city.encode()).hexdigest()):
        with pytest.raises(lineage_probes.FlowBlocked):
            request(carried)
    assert _ads_rows(db) == 1
    assert {e["decision"] for e in _events(cap)} == {"blocked"}
    sent = b"".join(value for _, _, value in cap.emitter.other)
    assert CITY.encode() not in sent and CITY.lower().encode() not in sent  # never a value

    def call(body: dict[str, str]) -> None:
        with sqlite3.connect(db) as conn:
            conn.execute("SELECT city FROM users").fetchall()
        httpx.post(f"{ads}/ads/targeting", json=body)

    _request(lambda: call({"segment": "generic"}))
    assert len(Ads.received) == 1
    with pytest.raises(lineage_probes.FlowBlocked):
        _request(lambda: call({"segment": CITY.lower()}))
    assert len(Ads.received) == 1


def test_the_inputs_of_a_zone_route_taint_an_unsampled_asgi_request(probes: Any,
                                                                     ads: str) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    def forward(request: Request) -> JSONResponse:
        try:
            httpx.post(f"{ads}/ads/segments", json={"n": 1}, timeout=5)
        except lineage_probes.FlowBlocked:
            return JSONResponse({"blocked": True})
        return JSONResponse({"blocked": False})

    state = _state("enforce")
    state.apply_member(b"loc|web://svc/where/{uid}", b'{"state":"root"}')
    cap = probes(sample_rate=0.0, zones=StaticZones(state))
    app = Starlette(routes=[Route("/where/{uid}", forward), Route("/other/{uid}", forward)])
    client = TestClient(app)
    assert client.get("/other/7").json() == {"blocked": False}  # no zone input read
    assert client.get("/where/7").json() == {"blocked": True}
    assert len(Ads.received) == 1
    assert [e["source"] for e in _events(cap)] == ["web://svc/where/{uid}"]
