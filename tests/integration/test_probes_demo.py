"""The probes demo end to end: two real services under `lineage-probe run`, the real
broker, a real HTTP client, and the edges the worker finds by payload matching."""

from __future__ import annotations

import asyncio
from pathlib import Path

from loadtest.probes_services import Probes, demo_services, drive, prepare_topics
from streams.settings import Settings
from tests.integration.worker import running_worker, wait_for_graph


def test_demo_services_make_the_expected_graph(settings: Settings, tmp_path: Path) -> None:
    prepare_topics(settings)
    with running_worker(settings):
        probes = Probes(settings.bootstrap_servers, settings.topic_prefix, 1.0)
        with demo_services(tmp_path / "services", probes) as services:
            result = asyncio.run(drive(services.users_url, 60, concurrency=4))
            assert (result.ok, result.failed) == (60, 0)
            port = services.mailer_url.rsplit(":", 1)[1]
            mailer_call = f"http://127.0.0.1:{port}/welcome/{{id}}"
            expected = {
                # verbatim: request field -> DB column, high
                ("web://users-api/users#name", "sqlite://demo.db/users#name"): "EXACT_MATCH",
                # through a transform: the e-mail stored as its SHA-256
                ("web://users-api/users#email", "sqlite://demo.db/users#email_sha256"):
                    "EXACT_MATCH",
                # embedded: the city inside a log message
                ("web://users-api/users#city", "log://users-api/users_api#message"):
                    "CONTAINS",
                # -> the other service's input, over the outbound call
                ("web://users-api/users#city", f"{mailer_call}#city"): "EXACT_MATCH",
                # DB column (read by the mailer) -> its log field and its outbox
                ("sqlite://demo.db/users#name", "log://mailer/mailer#message"): "CONTAINS",
                ("sqlite://demo.db/users#name", "sqlite://demo.db/outbox#subject"): "CONTAINS",
                ("web://mailer/welcome/{user_id}#city", "sqlite://demo.db/outbox#city"):
                    "EXACT_MATCH",
                # the hash carried on by the second service, in the same trace
                ("web://users-api/users#email", "sqlite://demo.db/outbox#recipient_sha256"):
                    "EXACT_MATCH",
                ("sqlite://demo.db/users#city", "web://users-api/users/{user_id}#response.city"):
                    "EXACT_MATCH",
            }

            def found(edges: dict) -> dict[tuple[str, str], dict]:
                return {(e["src"], e["dst"]): e for e in edges.values()}

            edges = wait_for_graph(settings, lambda e: set(expected) <= set(found(e)),
                                   timeout_s=120)
    by_pair = found(edges)
    for pair, kind in expected.items():
        assert pair in by_pair, pair
        assert by_pair[pair]["confidence"] == "high", (pair, by_pair[pair]["confidence"])
        assert kind in by_pair[pair]["kinds"], (pair, by_pair[pair]["kinds"])
    assert not any("example.org" in eid for eid in edges)  # no payload value in the graph
