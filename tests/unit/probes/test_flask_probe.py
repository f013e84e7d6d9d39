from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from flask import Flask, jsonify, request
from lineage_probes import context, counters
from lineage_probes.hooks.flask_hook import rule_template

TRACE = "0af7651916cd43dd8448eb211c80319c"


def flask_app() -> Flask:
    app = Flask("shop")
    logging.getLogger("shop").setLevel(logging.INFO)

    @app.post("/orders/<int:order_id>")
    def order(order_id: int) -> Any:
        body = request.get_json()
        logging.getLogger("shop").info("order for %s", body["city"], extra={"order": order_id})
        trace = context.CURRENT.get()
        return jsonify(id=order_id, city=body["city"], trace=trace and trace.trace_id)

    @app.post("/forms")
    def form() -> Any:
        return jsonify(note=request.form["note"])

    @app.get("/boom")
    def boom() -> Any:
        raise KeyError("nope")

    return app


def test_rule_template() -> None:
    assert rule_template("/a/<int:x>/<y>") == "/a/{x}/{y}"


def test_inputs_response_and_log(probes: Any) -> None:
    cap = probes(service="shop")
    client = flask_app().test_client()
    response = client.post("/orders/12?src=mail", json={"city": "Lisbon Harbour", "qty": 3})
    assert response.status_code == 200
    [source] = cap.of("web://shop/", "source")
    assert source["asset"] == "web://shop/orders/{order_id}"
    assert source["payload"] == {"src": "mail", "order_id": 12, "city": "Lisbon Harbour",
                                 "qty": 3}
    assert source["code_location"].startswith("tests/unit/probes/test_flask_probe.py:")
    [sink] = cap.of("web://shop/", "sink")
    assert sink["payload"]["response"]["city"] == "Lisbon Harbour"
    [log] = cap.of("log://shop/shop")
    assert log["payload"] == {"message": "order for Lisbon Harbour", "args": ["Lisbon Harbour"],
                              "order": 12}


def test_form_body_is_captured_and_still_read_by_the_view(probes: Any) -> None:
    cap = probes(service="shop")
    response = flask_app().test_client().post("/forms", data={"note": "leave at the door"})
    assert response.get_json() == {"note": "leave at the door"}
    [source] = cap.of("web://shop/forms", "source")
    assert source["payload"] == {"note": "leave at the door"}


def test_traceparent_joined_and_unsampled_silent(probes: Any) -> None:
    cap = probes(service="shop", sample_rate=0.0)
    response = flask_app().test_client().post(
        "/orders/1", json={"city": "Porto"},
        headers={"traceparent": f"00-{TRACE}-00f067aa0ba902b7-00"})
    assert response.get_json()["trace"] == TRACE
    assert cap.events == []


def test_redacted_field_never_leaves(probes: Any) -> None:
    cap = probes(service="shop", redact=["city"])
    flask_app().test_client().post("/orders/1", json={"city": "Secret Cove 12", "qty": 5})
    assert cap.events
    assert all(b"Secret Cove 12" not in v for _, v in cap.emitter.sent
               if b'"role":"source"' in v)
    # the value still reaches a log message the app formats itself: redaction is by name
    [source] = cap.of("web://shop/", "source")
    assert "city" not in source["payload"]


def test_internal_error_turns_the_probe_off_and_the_request_succeeds(
        probes: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    cap = probes(service="shop")
    from lineage_probes import webinputs

    def broken(*args: Any) -> Any:
        raise ValueError("boom")
    monkeypatch.setattr(webinputs, "inputs", broken)
    client = flask_app().test_client()
    for _ in range(2):
        assert client.post("/orders/2", json={"city": "Faro"}).get_json()["city"] == "Faro"
    assert counters.snapshot()["probe_errors.flask"] == 1
    assert cap.of("web://shop/", "source") == []


def test_app_behaviour_identical_with_and_without_probes(probes: Any) -> None:
    def exercise() -> list[tuple[int, bytes]]:
        client = flask_app().test_client()
        calls = [client.post("/orders/3", json={"city": "Braga"}),
                 client.post("/orders/x", json={}), client.get("/boom"),
                 client.post("/forms", data={"note": "hi there"}),
                 client.post("/orders/4", data=b"{not json", content_type="application/json")]
        return [(r.status_code, re.sub(rb'"trace":("[0-9a-f]+"|null)', b"", r.data))
                for r in calls]

    without = exercise()
    probes(service="shop")
    assert exercise() == without
