"""The Django probe end to end: a one-file Django app (examples/probes_django) under
gunicorn, started by `lineage-probe run`, driven by a real HTTP client; its captures
are read back from `probe-events` on the real broker."""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path
from typing import Any

import httpx

from loadtest.probes_services import BIN, ROOT, Probes, free_port, prepare_topics, probed_service
from streams.settings import Settings
from tests.integration.kafka_helpers import read_topic

TRACE = "5cf92f3577b34da6a3ce929d0e0e4736"
ORDERS = "web://shop/users/{user_id}/orders"
NOTES = "web://shop/users/{user_id}/notes"


def test_django_app_under_gunicorn_writes_probe_events(settings: Settings,
                                                       tmp_path: Path) -> None:
    prepare_topics(settings)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [str(BIN / "gunicorn"), "--workers", "1", "--bind", f"127.0.0.1:{port}",
           "--chdir", str(ROOT / "examples" / "probes_django"), "--log-level", "warning",
           "shop:application"]
    env = {k: v for k, v in os.environ.items() if k != "LINEAGE_PROBE_DISABLED"}
    probes = Probes(settings.bootstrap_servers, settings.topic_prefix, 1.0)
    with probed_service("shop", cmd, url, tmp_path, probes, env):
        order = httpx.post(f"{url}/users/42/orders/?src=mail", timeout=30,
                           json={"city": "Lisbon Harbour", "qty": 2},
                           headers={"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"})
        assert order.json() == {"user_id": 42, "ship_to": "Lisbon Harbour", "items": 2}
        note = httpx.post(f"{url}/users/43/notes/", data={"note": "ring twice"}, timeout=30)
        assert note.json() == {"user_id": 43, "chars": 10}
        events = _until_captured(settings, 4)  # a source and a sink per route
    by_role = {(e["asset"], e["role"]): e for e in events}
    source, sink = by_role[(ORDERS, "source")], by_role[(ORDERS, "sink")]
    assert source["payload"] == {"src": "mail", "user_id": 42, "city": "Lisbon Harbour",
                                 "qty": 2}
    assert sink["payload"] == {"response": {"user_id": 42, "ship_to": "Lisbon Harbour",
                                            "items": 2}}
    assert source["trace_id"] == sink["trace_id"] == TRACE  # the caller's trace joined
    assert source["service"] == "shop"
    assert re.fullmatch(r"(.*/)?shop\.py:\d+", source["code_location"])  # the view
    assert by_role[(NOTES, "source")]["payload"] == {"user_id": 43, "note": "ring twice"}
    assert by_role[(NOTES, "source")]["trace_id"] != TRACE
    assert by_role[(NOTES, "sink")]["payload"] == {"response": {"user_id": 43, "chars": 10}}


def _until_captured(settings: Settings, expect: int) -> list[dict[str, Any]]:
    """The route captures once `expect` of them arrived (the probes send asynchronously)."""
    for _ in range(10):
        found = [e for e in _read(settings) if e["asset"] in (ORDERS, NOTES)]
        if len(found) >= expect:
            return found
    raise AssertionError(f"fewer than {expect} route captures on probe-events")


def _read(settings: Settings) -> list[dict[str, Any]]:
    records = asyncio.run(read_topic(settings.bootstrap_servers,
                                     settings.topic("probe-events"), idle_s=1.0))
    return [json.loads(r.value) for r in records if r.value is not None]
