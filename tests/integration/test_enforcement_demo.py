"""Enforcement end to end: the demo services under `lineage-probe run`, a real worker's
policy monitor publishing `policy-zones`, policies switched from log to enforce on the
real broker, and the decisions read back from `enforcement-events`.

Every request is unsampled (rate 0): enforcement must see it anyway, and no graph edge
appears, so each zone is its protected root (`sqlite://demo.db/users#city`).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from loadtest.probes_services import Probes, Services, demo_services, prepare_topics
from streams.settings import Settings
from tests.integration.kafka_helpers import read_topic
from tests.integration.worker import LINEAGE, cli_args, command_env, running_worker, send_file

CITY = "sqlite://demo.db/users#city"
ADS = "location-not-for-ads"
AD_LOG = "no-location-in-ad-log"


def _policy(policy_id: str, deny: list[str], mode: str, **more: Any) -> dict[str, Any]:
    return {"v": 1, "type": "policy", "policy_id": policy_id, "ts": int(time.time() * 1000),
            "protects": ["PRECISE_LOCATION"], "deny": deny, "mode": mode, **more}


def _send(settings: Settings, tmp: Path, *events: dict[str, Any]) -> None:
    path = tmp / f"send-{time.monotonic_ns()}.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    done = send_file(settings, path)
    assert done.returncode == 0, done.stderr


def _events(settings: Settings) -> list[dict[str, Any]]:
    records = asyncio.run(read_topic(settings.bootstrap_servers,
                                     settings.topic("enforcement-events"), idle_s=1.0))
    return [json.loads(r.value) for r in records if r.value is not None]


def _until(check: Callable[[], Any], what: str, timeout_s: float = 60.0) -> Any:
    """Poll `check` until it returns something truthy (the probes follow Kafka)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"not reached in {timeout_s:.0f} s: {what}")


def _new_user(services: Services) -> int:
    reply = httpx.post(f"{services.users_url}/users", timeout=30,
                       json={"name": "Ada Lovelace", "email": "ada@example.org",
                             "city": "Valparaiso"})
    assert reply.status_code == 200, reply.text
    return int(reply.json()["id"])


def _offers(services: Services, user_id: int, personalized: bool) -> int:
    reply = httpx.post(f"{services.users_url}/users/{user_id}/offers",
                       params={"personalized": str(personalized).lower()}, timeout=30)
    return reply.status_code


def _ad_requests(services: Services) -> int:
    with sqlite3.connect(services.db) as conn:
        return int(conn.execute("SELECT count(*) FROM ad_requests").fetchone()[0])


def _decisions(settings: Settings, **match: str) -> list[dict[str, Any]]:
    return [e for e in _events(settings) if all(e.get(k) == v for k, v in match.items())]


def test_log_then_enforce_then_exclusion_and_across_services(
        settings: Settings, tmp_path: Path) -> None:
    prepare_topics(settings)
    ads_glob = "http://127.0.0.1:*/ads/**"
    _send(settings, tmp_path,
          {"v": 1, "type": "label", "asset": CITY, "labels": ["PRECISE_LOCATION"], "ts": 1},
          _policy(ADS, [ads_glob], "log"))
    probes = Probes(settings.bootstrap_servers, settings.topic_prefix, 0.0)
    with running_worker(settings), demo_services(tmp_path / "services", probes) as services:
        user_id = _new_user(services)
        # log mode: the call arrives, and a `logged` decision is recorded
        _until(lambda: _offers(services, user_id, True) == 200
               and _decisions(settings, policy_id=ADS, decision="logged"),
               "a logged decision once the zone reached the probes")
        arrived = _ad_requests(services)
        assert arrived >= 1
        (logged, *_) = _decisions(settings, policy_id=ADS, decision="logged")
        assert (logged["service"], logged["sink_kind"], logged["source"], logged["mode"]) == (
            "users-api", "http", CITY, "log")
        assert logged["sink"].endswith("/ads/targeting")
        assert logged["code_location"].startswith("examples/probes_demo/users_api.py:")
        assert "Valparaiso" not in json.dumps(_events(settings))  # never a value

        # enforce: the ads endpoint receives nothing more, the caller gets FlowBlocked
        _send(settings, tmp_path, _policy(ADS, [ads_glob], "enforce"))
        _until(lambda: _offers(services, user_id, True) == 500, "the mode change in effect")
        before = _ad_requests(services)
        assert _offers(services, user_id, True) == 500
        assert _ad_requests(services) == before
        blocked = _decisions(settings, policy_id=ADS, decision="blocked")
        assert blocked and blocked[0]["mode"] == "enforce"
        assert "lineage_probes.enforcement.blocked.FlowBlocked" in \
            (services.db.parent / "users-api.log").read_text()
        # a request that never touched the zone is never blocked
        assert _offers(services, user_id, False) == 200
        assert _ad_requests(services) == before + 1

        # an exclusion by review takes the root out of the zone: the block lifts
        review = subprocess.run([LINEAGE, "review", "exclude", ADS, CITY, *cli_args(settings),
                                 "--reason", "test"], capture_output=True, text=True,
                                env=command_env(settings), check=False)
        assert review.returncode == 0, review.stderr
        _until(lambda: _offers(services, user_id, True) == 200, "the exclusion in effect")

        # across the service boundary: the mailer (ads endpoint) inherits the taint
        # through x-lineage-taint and its own DB write is blocked
        _send(settings, tmp_path, _policy(AD_LOG, ["sqlite://demo.db/ad_requests"],
                                          "enforce", enforce_on=["db"]))
        _until(lambda: _offers(services, user_id, True) == 500
               and _decisions(settings, policy_id=AD_LOG, decision="blocked"),
               "the mailer blocking its write")
        (inherited, *_) = _decisions(settings, policy_id=AD_LOG, decision="blocked")
        assert (inherited["service"], inherited["source"], inherited["sink"]) == (
            "mailer", "inherited", "sqlite://demo.db/ad_requests")
        assert _offers(services, user_id, False) == 200  # untainted: the mailer writes

    shown = subprocess.run([LINEAGE, "violations", "--enforcement", *cli_args(settings)],
                           capture_output=True, text=True, env=command_env(settings),
                           check=False)
    assert shown.returncode == 0, shown.stderr
    rows = {(r["policy_id"], r["decision"], tuple(r["services"]))
            for r in json.loads(shown.stdout)}
    assert (ADS, "logged", ("users-api",)) in rows and (ADS, "blocked", ("users-api",)) in rows
    assert (AD_LOG, "blocked", ("mailer",)) in rows


def test_fail_open_and_fail_closed_without_a_broker(tmp_path: Path) -> None:
    """The probes pointed at a port where no broker answers: zones never read."""
    dead = Probes("127.0.0.1:1", "none-", 0.0)
    quick = {"LINEAGE_PROBE_ENFORCE_WAIT_S": "1"}
    with demo_services(tmp_path / "open", dead, env=quick) as services:
        user_id = _new_user(services)  # fail_open (the default): writes go ahead
        assert _offers(services, user_id, True) == 200
    closed = {**quick, "LINEAGE_PROBE_ENFORCE_FAIL": "fail_closed"}
    with demo_services(tmp_path / "closed", dead, env=closed) as services:
        reply = httpx.post(f"{services.users_url}/users", timeout=30,
                           json={"name": "B", "email": "b@example.org", "city": "Osaka"})
        assert reply.status_code == 500  # its DB write blocked before it ran
        with sqlite3.connect(services.db) as conn:
            assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 0
        assert httpx.get(f"{services.users_url}/health", timeout=10).status_code == 200


def _produce(settings: Settings, topic: str, records: list[tuple[str, dict[str, Any]]]) -> None:
    from streams.kafka.producer import make_producer

    async def send() -> None:
        producer = make_producer(settings)
        await producer.start()
        try:
            for key, value in records:
                await producer.send_and_wait(settings.topic(topic), key=key.encode(),
                                             value=json.dumps(value).encode())
        finally:
            await producer.stop()

    asyncio.run(send())


def test_fail_modes_per_policy_when_the_broker_stops(tmp_path: Path) -> None:
    """A broker of this test's own, stopped once the probes have read the zones."""
    from loadtest.probes_services import free_port
    from streams.localkafka.broker import LocalKafka

    broker = LocalKafka(tmp_path / "broker", port=free_port(), controller_port=free_port(),
                        heap="256m")
    broker.up()
    try:
        settings = Settings(bootstrap_servers=broker.bootstrap, topic_prefix="fail-",
                            data_dir=tmp_path / "data")
        prepare_topics(settings)
        closed, opened = "ad-log-fail-closed", "ads-fail-open"
        _produce(settings, "policies", [
            (closed, _policy(closed, ["sqlite://demo.db/ad_requests"], "enforce",
                             enforce_on=["db"], fail_mode="fail_closed")),
            (opened, _policy(opened, ["http://127.0.0.1:*/ads/**"], "enforce"))])
        _produce(settings, "policy-zones", [
            (f"{p}|{CITY}", {"v": 1, "type": "zone_member", "policy_id": p, "asset": CITY,
                             "state": "root", "labels": ["PRECISE_LOCATION"], "ts": 1})
            for p in (closed, opened)])
        probes = Probes(broker.bootstrap, settings.topic_prefix, 0.0)
        with demo_services(tmp_path / "services", probes,
                           env={"LINEAGE_PROBE_ENFORCE_STALE_S": "3"}) as services:
            user_id = _new_user(services)
            assert _offers(services, user_id, False) == 200  # untainted: nothing blocks
            assert _offers(services, user_id, True) == 500  # the fail-open policy enforces
            before = _ad_requests(services)
            broker.down()
            # zones stale: the fail-closed policy blocks every write to the sink it
            # denies, tainted or not; the fail-open one lets the call go
            _until(lambda: _offers(services, user_id, False) == 500, "zones seen as stale")
            assert _ad_requests(services) == before
            mailer_log = (services.db.parent / "mailer.log").read_text()
            assert f"policy {closed} cannot read its zone and blocks" in mailer_log
            # a write no policy denies still goes ahead
            assert _new_user(services) > user_id
    finally:
        broker.down()


def test_precise_mode_on_route_inputs_across_the_demo(settings: Settings,
                                                      tmp_path: Path) -> None:
    """`match: value` on a route's inputs, every request unsampled: the mailer's
    `POST /welcome/{user_id}` receives the new user's city (a labelled input field). Its
    log line names the user, not the city: a precise policy denying the mailer's logs lets
    it through where a request-level one blocks it; a precise policy denying `outbox`,
    which the city is written to, blocks that write. No event holds the city."""
    welcome_city = "web://mailer/welcome/{user_id}#city"
    logs, outbox = "city-not-in-mailer-logs", "city-not-in-outbox"
    prepare_topics(settings)
    _send(settings, tmp_path,
          {"v": 1, "type": "label", "asset": welcome_city, "labels": ["PRECISE_LOCATION"],
           "ts": 1},
          _policy(logs, ["log://mailer/**"], "enforce", enforce_on=["log"],
                  match="request"))
    probes = Probes(settings.bootstrap_servers, settings.topic_prefix, 0.0)

    def signup() -> int:
        return httpx.post(f"{services.users_url}/users", timeout=30,
                          json={"name": "Ada Lovelace", "email": "ada@example.org",
                                "city": "Valparaiso"}).status_code

    with running_worker(settings), demo_services(tmp_path / "services", probes) as services:
        # request level: the welcome request read the city, so its log line is blocked
        _until(lambda: signup() == 500 and _decisions(settings, policy_id=logs,
                                                      decision="blocked"),
               "the request-level policy blocking the mailer's log line")
        # precise: the log line carries no city, it goes
        _send(settings, tmp_path, _policy(logs, ["log://mailer/**"], "enforce",
                                          enforce_on=["log"], match="value"))
        _until(lambda: signup() == 200, "the precise policy in effect")
        assert signup() == 200
        # precise, on the table the city is written to: blocked
        _send(settings, tmp_path, _policy(outbox, ["sqlite://demo.db/outbox"], "enforce",
                                          enforce_on=["db"], match="value"))
        _until(lambda: signup() == 500 and _decisions(settings, policy_id=outbox,
                                                      decision="blocked"),
               "the precise policy blocking the outbox write")
        (blocked, *_) = _decisions(settings, policy_id=outbox, decision="blocked")
        assert (blocked["service"], blocked["source"], blocked["sink"]) == (
            "mailer", welcome_city, "sqlite://demo.db/outbox")
        assert "valparaiso" not in json.dumps(_events(settings)).lower()  # never a value
