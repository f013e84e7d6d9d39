"""The psycopg probe end to end: a FastAPI service over a live PostgreSQL server
(a throwaway cluster, tests/postgres.py) under `lineage-probe run`, the real
broker, a real HTTP client writing a request field in one request and reading
it back in another, and the edges the worker finds by payload matching."""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

import httpx
import psycopg

from loadtest.probes_services import CITIES, Probes, free_port, prepare_topics, probed_service
from streams.settings import Settings
from tests.integration.pg_profiles_api import SCHEMA
from tests.integration.worker import running_worker, wait_for_graph
from tests.postgres import live_postgres

APP_DIR = Path(__file__).resolve().parent
UVICORN = str(Path(sys.executable).parent / "uvicorn")
SERVICE = "profiles-api"


def _drive(url: str, profiles: list[dict[str, str]]) -> list[dict[str, object]]:
    """Create each profile, then read each back in a request of its own."""
    with httpx.Client(base_url=url, timeout=30) as client:
        ids = []
        for profile in profiles:
            reply = client.post("/profiles", json=profile)
            reply.raise_for_status()
            ids.append(reply.json()["id"])
        return [client.get(f"/profiles/{i}").raise_for_status().json() for i in ids]


def test_request_field_to_postgres_column_and_back(settings: Settings, tmp_path: Path) -> None:
    rng = random.Random(11)
    profiles = [{"handle": f"member.{n:04d}.{rng.randrange(10**6):06d}",
                 "city": rng.choice(CITIES)} for n in range(30)]
    prepare_topics(settings)
    with live_postgres("profiles") as pg:
        with psycopg.connect(pg.conninfo) as conn:
            conn.execute(SCHEMA)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        cmd = [UVICORN, "pg_profiles_api:app", "--app-dir", str(APP_DIR), "--host",
               "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"]
        env = {**os.environ, "PG_CONNINFO": pg.conninfo}
        env.pop("LINEAGE_PROBE_DISABLED", None)
        table = f"{pg.namespace}/{pg.dbname}.public.profiles"
        expected = {
            # a request field written to a column under another name
            (f"web://{SERVICE}/profiles#city", f"{table}#home_city"),
            (f"web://{SERVICE}/profiles#handle", f"{table}#handle"),
            # the column read back in another request, into its response
            (f"{table}#home_city", f"web://{SERVICE}/profiles/{{profile_id}}#response.city"),
            (f"{table}#handle", f"web://{SERVICE}/profiles/{{profile_id}}#response.handle"),
        }
        with running_worker(settings):
            probes = Probes(settings.bootstrap_servers, settings.topic_prefix, 1.0)
            with probed_service(SERVICE, cmd, url, tmp_path, probes, env):
                read_back = _drive(url, profiles)
            edges = wait_for_graph(
                settings, lambda e: expected <= {(x["src"], x["dst"]) for x in e.values()},
                timeout_s=120)
        with psycopg.connect(pg.conninfo) as conn:
            stored = conn.execute("SELECT handle, home_city FROM profiles ORDER BY id").fetchall()
    # the service behaves as without probes: what it stored and answers is what was sent
    assert stored == [(p["handle"], p["city"]) for p in profiles]
    assert [(r["handle"], r["city"]) for r in read_back] == stored
    by_pair = {(e["src"], e["dst"]): e for e in edges.values()}
    for pair in expected:
        assert by_pair[pair]["confidence"] == "high", (pair, by_pair[pair]["confidence"])
        assert "EXACT_MATCH" in by_pair[pair]["kinds"], (pair, by_pair[pair]["kinds"])
    assert not any("member." in eid for eid in edges)  # no payload value in the graph
