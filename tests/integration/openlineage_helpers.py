"""Build OpenLineage events with the real openlineage-python client, and reach a worker's API."""

from __future__ import annotations

import datetime
import socket
import time
import urllib.error
import urllib.request
from typing import Any

from openlineage.client import event_v2
from openlineage.client.generated import column_lineage_dataset as cl
from openlineage.client.generated import schema_dataset, sql_job, symlinks_dataset
from openlineage.client.uuid import generate_new_uuid

TOKEN = "it-token"
WAREHOUSE = "hive://warehouse"
PG = "postgres://shop-db:5432"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_api(port: int, timeout_s: float = 60.0) -> None:
    """Until the worker's API answers /health (it starts with the worker's graph task)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/health")
        request.add_header("Authorization", f"Bearer {TOKEN}")
        try:
            with urllib.request.urlopen(request, timeout=5):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.5)
    raise AssertionError(f"the worker's API on port {port} never answered")


def post(port: int, path: str, body: bytes, token: str | None = TOKEN) -> tuple[int, Any]:
    """POST raw bytes; (status, parsed JSON body or None)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            raw = response.read()
            return response.status, (_json(raw) if raw else None)
    except urllib.error.HTTPError as exc:
        return exc.code, _json(exc.read())


def _json(raw: bytes) -> Any:
    import orjson

    return orjson.loads(raw)


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat()


def schema(*names: str) -> schema_dataset.SchemaDatasetFacet:
    return schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name=n, type="string") for n in names])


def lineage(output_fields: dict[str, list[tuple[str, str, str, str, str | None, bool]]],
            dataset: list[tuple[str, str, str, str, str | None, bool]] | None = None,
            ) -> cl.ColumnLineageDatasetFacet:
    """{target: [(namespace, name, field, type, subtype, masking)]} as a columnLineage facet."""

    def ref(spec: tuple[str, str, str, str, str | None, bool]) -> cl.InputField:
        ns, name, field, kind, subtype, masking = spec
        return cl.InputField(namespace=ns, name=name, field=field, transformations=[
            cl.Transformation(type=kind, subtype=subtype, masking=masking)])

    return cl.ColumnLineageDatasetFacet(
        fields={t: cl.Fields(inputFields=[ref(s) for s in specs])
                for t, specs in output_fields.items()},
        dataset=[ref(s) for s in dataset or []])


def run_events(job: str, inputs: list[event_v2.InputDataset],
               outputs: list[event_v2.OutputDataset], *, sql: str | None = None,
               namespace: str = "spark") -> list[event_v2.RunEvent]:
    """A START with the inputs and a COMPLETE with the outputs, of one run."""
    run = event_v2.Run(runId=str(generate_new_uuid()))
    facets: dict[str, Any] = {}
    if sql is not None:
        facets["sql"] = sql_job.SQLJobFacet(query=sql)
    job_ = event_v2.Job(namespace=namespace, name=job, facets=facets)
    return [
        event_v2.RunEvent(eventType=event_v2.RunState.START, eventTime=now(), run=run, job=job_,
                          inputs=inputs),
        event_v2.RunEvent(eventType=event_v2.RunState.COMPLETE, eventTime=now(), run=run,
                          job=job_, outputs=outputs),
    ]


def symlink(table_ns: str, table: str) -> dict[str, Any]:
    """Dataset facets naming a storage path's metastore table (as Spark does)."""
    return {"symlinks": symlinks_dataset.SymlinksDatasetFacet(identifiers=[
        symlinks_dataset.Identifier(namespace=table_ns, name=table, type="TABLE")])}
