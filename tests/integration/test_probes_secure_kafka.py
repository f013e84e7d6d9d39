"""The probes on the secured broker (SASL_SSL, SCRAM): captures arrive and the policy zones
are read over it; with a wrong password or a CA that does not vouch for the broker the
application goes on untouched while the probes count what they could not send.

The service runs under `lineage-probe run` with the security flags (the password in a
file or the environment, never a flag), as an operator would start it.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from lineage_probes.config import ProbeConfig
from lineage_probes.enforcement.feed import KafkaZoneFeed

from streams.kafka.producer import make_producer
from streams.kafka.topic_reader import read_all
from streams.kafka.topics import ensure_topics
from streams.localkafka.broker import LocalKafka
from streams.localkafka.tls import write_ca
from streams.pipeline.topology import load_topology
from streams.settings import Settings

LAUNCHER = str(Path(sys.executable).parent / "lineage-probe")
REQUESTS = 20

#: A Flask service: each signup is a web source, a sqlite sink and a response sink.
APP = """
import json, sqlite3, sys
import lineage_probes
from flask import Flask, request

app = Flask("signup")
db = sqlite3.connect(sys.argv[1], check_same_thread=False)
db.execute("CREATE TABLE IF NOT EXISTS users (name TEXT, city TEXT)")

@app.post("/users")
def create():
    body = request.get_json()
    db.execute("INSERT INTO users (name, city) VALUES (?, ?)", (body["name"], body["city"]))
    db.commit()
    return {"created": body["name"]}

client = app.test_client()
statuses = [client.post("/users", json={"name": f"user-{n}", "city": "Osaka"}).status_code
            for n in range(int(sys.argv[2]))]
rows = db.execute("SELECT count(*) FROM users").fetchone()[0]
lineage_probes.uninstrument(timeout=float(sys.argv[3]))
print(json.dumps({"statuses": statuses, "rows": rows, "stats": lineage_probes.stats()}))
"""


def _prepare(settings: Settings) -> None:
    asyncio.run(ensure_topics(settings, load_topology()))


def _run_service(tmp_path: Path, broker: LocalKafka, settings: Settings, flags: list[str],
                 env: dict[str, str] | None = None, flush_s: float = 20.0
                 ) -> tuple[dict[str, Any], str]:
    """The service under `lineage-probe run FLAGS`: (its report, its stderr)."""
    app = tmp_path / "signup.py"
    app.write_text(APP)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "LINEAGE_"))}
    done = subprocess.run(
        [LAUNCHER, "run", "--service", "signup", "--sample-rate", "1",
         "--bootstrap-servers", broker.bootstrap, "--topic-prefix", settings.topic_prefix,
         *flags, "--", sys.executable, str(app), str(tmp_path / "signup.db"), str(REQUESTS),
         str(flush_s)],
        capture_output=True, text=True, timeout=180, check=False, env={**base, **(env or {})})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


def _flags(broker: LocalKafka, **changes: str) -> list[str]:
    """The flags of the secured broker's client (`lineage kafka up --secure`'s files)."""
    client = broker.client_env()
    values = {"--security-protocol": client["KAFKA_SECURITY_PROTOCOL"],
              "--sasl-mechanism": "SCRAM-SHA-256",  # the broker has both SCRAM users
              "--sasl-username": client["KAFKA_SASL_USERNAME"],
              "--sasl-password-file": client["KAFKA_SASL_PASSWORD_FILE"],
              "--ssl-cafile": client["KAFKA_SSL_CAFILE"], **changes}
    return [part for flag, value in values.items() if value for part in (flag, value)]


def _password(broker: LocalKafka) -> str:
    return Path(broker.client_env()["KAFKA_SASL_PASSWORD_FILE"]).read_text().strip()


def test_probe_events_arrive_over_sasl_ssl(tmp_path: Path, secure_kafka: LocalKafka,
                                          secure_settings: Settings) -> None:
    _prepare(secure_settings)
    report, stderr = _run_service(tmp_path, secure_kafka, secure_settings, _flags(secure_kafka))
    assert report["statuses"] == [200] * REQUESTS and report["rows"] == REQUESTS
    stats = report["stats"]
    assert stats["captured"] == stats["queued"] == stats["delivered"] == 3 * REQUESTS, stats
    assert not {k for k in stats if k.startswith(("kafka_errors", "enforcement_kafka_errors",
                                                  "dropped", "delivery_failed"))}, stats
    assert _password(secure_kafka) not in stderr
    # read back with the pipeline's own reader, over the same secured cluster
    events = [json.loads(v) for v in asyncio.run(read_all(secure_settings, "probe-events"))]
    assert len(events) == 3 * REQUESTS
    assert {(e["service"], e["role"]) for e in events} == {("signup", "source"),
                                                           ("signup", "sink")}
    assets = {e["asset"] for e in events}
    assert "web://signup/users" in assets
    assert any(a.startswith("sqlite://") and a.endswith("/users") for a in assets)


def test_the_zone_feed_reads_policies_over_sasl_ssl(secure_kafka: LocalKafka,
                                                    secure_settings: Settings) -> None:
    _prepare(secure_settings)
    policy = {"v": 1, "type": "policy", "policy_id": "city-not-for-ads",
              "ts": int(time.time() * 1000), "protects": ["PRECISE_LOCATION"],
              "deny": ["http://ads/*"], "mode": "enforce"}

    async def send() -> None:
        producer = make_producer(secure_settings)
        await producer.start()
        try:
            await producer.send_and_wait(secure_settings.topic("policies"),
                                         key=b"city-not-for-ads",
                                         value=json.dumps(policy).encode())
        finally:
            await producer.stop()

    asyncio.run(send())
    client = secure_kafka.client_env()
    cfg = ProbeConfig.resolve({"service": "feed-test", "topic_prefix": secure_settings.topic_prefix,
                               "bootstrap_servers": secure_kafka.bootstrap}, env=client)
    feed = KafkaZoneFeed(cfg)
    feed.start()
    try:
        assert feed.ready.wait(60), "the zone feed never read its topics to the end"
        assert "city-not-for-ads" in feed.index.rules
        assert feed.available()
    finally:
        feed.close()


@pytest.mark.parametrize("wrong", ["password", "ca"])
def test_a_refused_login_costs_the_service_nothing(tmp_path: Path, secure_kafka: LocalKafka,
                                                   secure_settings: Settings,
                                                   wrong: str) -> None:
    _prepare(secure_settings)
    if wrong == "password":  # the environment's password wins over the file, as everywhere
        flags, env = _flags(secure_kafka), {"KAFKA_SASL_PASSWORD": "not-the-password"}
        counter, warning = "auth", "refused the SASL login"
    else:
        other = write_ca(tmp_path / "other-ca.pem", "some other CA")
        flags, env = _flags(secure_kafka, **{"--ssl-cafile": str(other)}), {}
        counter, warning = "tls", "TLS handshake failed"
    env["LINEAGE_PROBE_ENFORCE_WAIT_S"] = "2"  # the zones cannot be read either: fail_open
    started = time.monotonic()
    report, stderr = _run_service(tmp_path, secure_kafka, secure_settings, flags, env,
                                  flush_s=2.0)
    assert time.monotonic() - started < 60
    # the service did all its work
    assert report["statuses"] == [200] * REQUESTS and report["rows"] == REQUESTS
    stats = report["stats"]
    # the probes counted the refusals and every capture they could not send
    assert stats[f"kafka_errors.{counter}"] >= 1, stats
    assert stats[f"enforcement_kafka_errors.{counter}"] >= 1, stats
    assert "delivered" not in stats
    assert stats["captured"] == stats["queued"] == 3 * REQUESTS
    assert stats.get("dropped_at_close", 0) + stats.get("delivery_failed", 0) == 3 * REQUESTS
    assert warning in stderr
    assert "not-the-password" not in stderr and _password(secure_kafka) not in stderr
    assert asyncio.run(read_all(secure_settings, "probe-events")) == []
