"""Validation of OpenLineage events: what passes, and a one-line reason for what does not."""

from __future__ import annotations

import datetime
from typing import Any

import orjson
import pytest
from openlineage.client import event_v2
from openlineage.client.generated import column_lineage_dataset as cl
from openlineage.client.serde import Serde

from analyzers.events import InvalidEvent
from analyzers.openlineage.validate import MAX_DATASETS, decode, kind_of
from tests.openlineage_events import WH, changed, dataset, facet, job_event, ref, run_event
from tests.openlineage_schemas import check_event


def _client_event() -> dict[str, Any]:
    """A RunEvent as the real openlineage-python client writes it."""
    event = event_v2.RunEvent(
        eventType=event_v2.RunState.COMPLETE,
        eventTime=datetime.datetime.now(datetime.UTC).isoformat(),
        run=event_v2.Run(runId="0190c6e2-8b2e-7c7a-9d2a-3e2f2a1b0c9d"),
        job=event_v2.Job(namespace="spark", name="job"),
        outputs=[event_v2.OutputDataset(namespace=WH, name="default.t", facets={
            "columnLineage": cl.ColumnLineageDatasetFacet(fields={"a": cl.Fields(inputFields=[
                cl.InputField(namespace=WH, name="default.s", field="a")])})})])
    parsed: dict[str, Any] = orjson.loads(Serde.to_json(event))
    return parsed


def test_events_of_the_real_client_and_of_each_kind_pass() -> None:
    client = _client_event()
    check_event(client)  # the vendored schemas agree it is valid
    assert kind_of(client) == "RunEvent"
    assert kind_of(job_event()) == "JobEvent"
    dataset_event = {"schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json",
                     "eventTime": "2026-01-01T00:00:00+01:00", "producer": "p",
                     "dataset": dataset("default.t")}
    assert kind_of(dataset_event) == "DatasetEvent"


def test_unknown_facets_are_kept_and_ignored() -> None:
    event = run_event(outputs=[dataset("default.t", spark_unknown=facet(anything=[1, {"x": 2}]))])
    assert kind_of(event) == "RunEvent"


GOOD = run_event(inputs=[dataset("default.s")], outputs=[dataset(
    "default.t", columnLineage=facet(fields={"a": {"inputFields": [ref("default.s", "a")]}}))])


@pytest.mark.parametrize(("event", "reason"), [
    ([1, 2], "event is not a JSON object"),
    (changed(GOOD, "schemaURL", "https://example.com/x.json"), "field 'schemaURL' must be"),
    (changed(GOOD, "schemaURL", "https://openlineage.io/spec/1-0-5/OpenLineage.json"),
     "field 'schemaURL' must be"),
    (changed(GOOD, "eventTime", "yesterday"), "'eventTime' is not an ISO 8601"),
    (changed(GOOD, "eventTime", "2026-01-01T00:00:00"), "must carry a time zone"),
    (changed(GOOD, "producer", ...), "field 'producer'"),
    (changed(GOOD, "run.runId", ...), "RunEvent: missing field 'run.runId'"),
    (changed(GOOD, "run.runId", "not-a-uuid"), "must be a UUID"),
    (changed(GOOD, "run", ...), "field 'run' must be an object"),
    (changed(GOOD, "eventType", "DONE"), "'eventType' must be one of"),
    (changed(GOOD, "job.name", ""), "job'.name must be a non-empty string"),
    (changed(GOOD, "inputs", {}), "field 'inputs' must be an array"),
    (changed(GOOD, "outputs.0.facets.columnLineage", []), "columnLineage' must be an object"),
    (changed(GOOD, "outputs.0.facets.columnLineage.fields.a.inputFields", "x"),
     "inputFields must be an array"),
    (changed(GOOD, "outputs.0.facets.columnLineage.fields.a.inputFields.0.field", 3),
     ".field must be a non-empty string"),
    (changed(GOOD, "outputs.0.facets.columnLineage.fields.a.inputFields.0.transformations.0",
             {"type": "DIRECT", "masking": "yes"}), "masking must be a boolean"),
    (changed(GOOD, "outputs.0.facets.schema", facet(fields=[{"type": "int"}])),
     ".name must be a non-empty string"),
    (changed(GOOD, "outputs.0.facets.symlinks", facet(identifiers=[{"name": "x"}])),
     "identifiers[0].namespace"),
    (changed(GOOD, "job.facets", {"sql": facet(query=7)}), "sql'.query must be a string"),
    (changed(GOOD, "inputs", [dataset(f"t{i}") for i in range(MAX_DATASETS + 1)]),
     f"more than {MAX_DATASETS} datasets"),
    ({"schemaURL": GOOD["schemaURL"], "eventTime": GOOD["eventTime"], "producer": "p"},
     "none of 'run', 'job' or 'dataset'"),
])
def test_bad_events_have_a_one_line_reason(event: Any, reason: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        kind_of(event)
    assert reason in caught.value.reason
    assert caught.value.reason.startswith("openlineage: ")
    assert "\n" not in caught.value.reason


def test_decode_names_the_position_never_the_text() -> None:
    with pytest.raises(InvalidEvent, match=r"not valid JSON \(at char \d+\)") as caught:
        decode(b'{"secret": "Home, 123 Main St"')
    assert "Main St" not in caught.value.reason
    with pytest.raises(InvalidEvent, match="empty message"):
        decode(b"")
