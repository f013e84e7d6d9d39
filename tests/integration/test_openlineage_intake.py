"""OpenLineage in: the real openlineage-python client (HTTP and Kafka transports) -> edges."""

from __future__ import annotations

import asyncio
import uuid

import orjson
from confluent_kafka import Producer
from openlineage.client import OpenLineageClient, event_v2
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport
from openlineage.client.transport.kafka import KafkaConfig, KafkaTransport

from streams.kafka.topics import ensure_topics
from streams.pipeline.topology import load_topology
from streams.settings import Settings
from tests.integration.kafka_helpers import read_topic
from tests.integration.openlineage_helpers import (
    PG,
    TOKEN,
    WAREHOUSE,
    free_port,
    lineage,
    post,
    run_events,
    schema,
    symlink,
    wait_for_api,
)
from tests.integration.worker import running_worker, wait_for_graph

SRC = f"{WAREHOUSE}/default.photo_metadata_log"
DST = f"{WAREHOUSE}/default.location_analytics_tbl"
ORDERS = f"{PG}/shop.public.orders"
EMAILS = f"{PG}/shop.public.order_emails"
CLICKS = f"{WAREHOUSE}/default.clicks"
EXPORT = "s3://bucket/exports/clicks"

EXPECTED = {
    # columnLineage: transformations -> kinds; the `dataset` entry -> every output field
    f"{SRC}#location -> {DST}#user_location": ["IDENTITY"],
    f"{SRC}#user_id -> {DST}#user_location": ["FILTER"],
    f"{SRC}#user_id -> {DST}#n": ["FILTER"],
    # a `sql` job facet, with the schema facets as the schema
    f"{ORDERS}#id -> {EMAILS}#id": ["IDENTITY"],
    f"{ORDERS}#email -> {EMAILS}#email": ["TRANSFORMATION"],
    # neither: table level, the input named by its symlink
    f"{CLICKS} -> {EXPORT}": ["OPENLINEAGE"],
}


def _events() -> list[event_v2.RunEvent]:
    column = run_events(
        "photo_job",
        [event_v2.InputDataset(namespace=WAREHOUSE, name="default.photo_metadata_log",
                               facets={"schema": schema("location", "user_id")})],
        [event_v2.OutputDataset(namespace=WAREHOUSE, name="default.location_analytics_tbl",
                                facets={"schema": schema("user_location", "n"),
                                        "columnLineage": lineage(
            {"user_location": [(WAREHOUSE, "default.photo_metadata_log", "location",
                                "DIRECT", "IDENTITY", False)]},
            dataset=[(WAREHOUSE, "default.photo_metadata_log", "user_id",
                      "INDIRECT", "FILTER", False)])})])
    sql = run_events(
        "orders_job",
        [event_v2.InputDataset(namespace=PG, name="shop.public.orders",
                               facets={"schema": schema("id", "email", "total")})],
        [event_v2.OutputDataset(namespace=PG, name="shop.public.order_emails",
                                facets={"schema": schema("id", "email")})],
        sql="INSERT INTO public.order_emails SELECT id, lower(email) FROM public.orders")
    table = run_events(
        "clicks_export",
        [event_v2.InputDataset(namespace="file", name="/warehouse/default.db/clicks",
                               facets=symlink(WAREHOUSE, "default.clicks"))],
        [event_v2.OutputDataset(namespace="s3://bucket", name="exports/clicks")])
    return [*column, *sql, *table]


def _check(edges: dict[str, dict[str, object]]) -> None:
    for edge_id, kinds in EXPECTED.items():
        assert edges[edge_id]["kinds"] == kinds, edge_id
        evidence = edges[edge_id]["evidence"]
        assert isinstance(evidence, dict) and evidence["openlineage"] >= 1
    assert edges[f"{SRC}#location -> {DST}#user_location"]["confidence"] == "high"
    assert edges[f"{CLICKS} -> {EXPORT}"]["confidence"] == "medium"
    # the run's two halves are one run: its signals were sent once, not per event
    assert edges[f"{SRC}#location -> {DST}#user_location"]["evidence"]["openlineage"] == 1


def _bad_inputs(port: int) -> list[tuple[bytes, str]]:
    good = {"schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "eventTime": "2026-01-01T00:00:00Z", "producer": "https://example.com/p",
            "eventType": "COMPLETE", "run": {"runId": str(uuid.uuid4())},
            "job": {"namespace": "n", "name": "bad"}}
    wide = dict(good, inputs=[{"namespace": "pg://h", "name": f"t{i}"} for i in range(10_000)])
    return [
        (b"{not json", "not valid JSON"),
        (orjson.dumps(dict(good, schemaURL="https://example.com/other.json")), "schemaURL"),
        (orjson.dumps(dict(good, run={})), "run.runId"),
        (orjson.dumps(dict(good, outputs=[{"namespace": "n", "name": "o",
                                           "facets": {"columnLineage": []}}])), "columnLineage"),
        (orjson.dumps(wide), "datasets"),
    ]


def test_http_client_events_become_edges_and_bad_ones_are_refused(settings: Settings) -> None:
    port = free_port()
    with running_worker(settings, args=("--api-port", str(port), "--api-token", TOKEN)):
        wait_for_api(port)
        client = OpenLineageClient(transport=HttpTransport(HttpConfig(
            url=f"http://127.0.0.1:{port}", endpoint="api/v1/lineage",
            auth=ApiKeyTokenProvider({"apiKey": TOKEN}))))
        bad = _bad_inputs(port)
        for body, words in bad:
            status, answer = post(port, "/api/v1/lineage", body)
            assert status == 400 and words in answer["error"], (status, answer)
            assert "\n" not in answer["error"]
        status, answer = post(port, "/api/v1/lineage", b"[" + b" " * (10 << 20) + b"]")
        assert status == 413 and "larger than" in answer["error"]
        status, _ = post(port, "/api/v1/lineage", bad[0][0], token=None)
        assert status == 401
        status, answer = post(port, "/api/v1/lineage/batch", b"[" + bad[1][0] + b"]")
        assert status == 200 and answer["status"] == "partial_success"
        assert answer["summary"]["failed"] == 1 and answer["failed_events"][0]["index"] == 0

        # the worker is unharmed: the real client's events, sent after all that, make edges
        for event in _events():
            client.emit(event)

        edges = wait_for_graph(settings, lambda e: set(e) >= set(EXPECTED))
        _check(edges)
        dead = asyncio.run(read_topic(settings.bootstrap_servers,
                                      settings.topic("dead-letters"), expect=len(bad) + 1))
        reasons = [orjson.loads(r.value)["reason"] for r in dead]
        assert len(reasons) == len(bad) + 1
        assert all(reason.startswith("openlineage: ") for reason in reasons)


def test_kafka_transport_writes_straight_to_the_topic(settings: Settings) -> None:
    asyncio.run(ensure_topics(settings, load_topology()))
    with running_worker(settings):
        producer = Producer({"bootstrap.servers": settings.bootstrap_servers})
        producer.produce(settings.topic("openlineage-events"), b'{"eventTime": 1}', key=b"run:x/y")
        producer.flush(30)
        client = OpenLineageClient(transport=KafkaTransport(KafkaConfig(
            topic=settings.topic("openlineage-events"),
            config={"bootstrap.servers": settings.bootstrap_servers, "acks": "all"})))
        for event in _events():
            client.emit(event)
        client.close(timeout=30)
        # a bad message straight on the topic is a dead letter; the rest goes on
        edges = wait_for_graph(settings, lambda e: set(e) >= set(EXPECTED))
        _check(edges)
        dead = asyncio.run(read_topic(settings.bootstrap_servers,
                                      settings.topic("dead-letters"), expect=1))
        assert [orjson.loads(r.value)["reason"] for r in dead] == [
            ("openlineage: field 'schemaURL' must be "
             "https://openlineage.io/spec/2-0-N/OpenLineage.json")]
