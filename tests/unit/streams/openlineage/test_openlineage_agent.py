"""The openlineage-events agent: runs joined by runId, each run's signals sent once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from stream_fixtures import MessageFactory, Runner, body, dead_letters, original_bytes, signal_set

from analyzers.openlineage import kind_of
from streams.openlineage.agent import AGENT, OpenLineageIntake
from streams.openlineage.intake import kafka_key
from streams.pipeline.metrics import Metrics
from streams.pipeline.topology import Topology
from tests.openlineage_events import WH, dataset, job_event, run_event

TOPIC = "openlineage-events"
TABLE = (f"{WH}/default.s -> {WH}/default.t", "OPENLINEAGE")
OTHER_RUN = "6f1c1a51-2b4e-4a57-9c63-0e8c8f0f7d11"


@pytest.fixture()
def msg(make_messages: Callable[[str], MessageFactory]) -> MessageFactory:
    return make_messages(TOPIC)


@pytest.fixture()
def run(make_runner: Callable[..., Runner], topology: Topology, metrics: Metrics) -> Runner:
    return make_runner(AGENT, OpenLineageIntake(topology, metrics), kind_of)


def start(**kw: Any) -> dict[str, Any]:
    return run_event("START", inputs=[dataset("default.s")], **kw)


def complete(**kw: Any) -> dict[str, Any]:
    return run_event("COMPLETE", outputs=[dataset("default.t")], **kw)


async def test_start_and_complete_of_one_run_meet(run: Runner, msg: MessageFactory) -> None:
    assert signal_set(await run([msg(start())])) == set()
    assert signal_set(await run([msg(complete())])) == {TABLE}
    # the same run saying it again adds no evidence; another run of the job does
    assert signal_set(await run([msg(complete())])) == set()
    assert signal_set(await run([msg(start(run_id=OTHER_RUN)),
                                 msg(complete(run_id=OTHER_RUN))])) == {TABLE}


async def test_signals_carry_the_producer(run: Runner, msg: MessageFactory) -> None:
    outputs = await run([msg(job_event(inputs=[dataset("default.s")],
                                       outputs=[dataset("default.t")]))])
    assert signal_set(outputs) == {TABLE}
    signal = body(outputs[0])
    assert signal["origin"] == "openlineage" and signal["producer"].startswith("https://")


async def test_bad_events_become_dead_letters_and_the_rest_goes_on(
        run: Runner, msg: MessageFactory, metrics: Metrics) -> None:
    bad = b'{"eventTime": "2026-01-01T00:00:00Z"}'
    outputs = await run([msg(bad), msg(b"not json"),
                         msg(job_event(inputs=[dataset("default.s")],
                                       outputs=[dataset("default.t")]))])
    letters = dead_letters(outputs)
    assert [original_bytes(letter) for letter in letters] == [bad, b"not json"]
    assert all(letter["reason"].startswith(("openlineage: ", "not valid JSON"))
               for letter in letters)
    assert signal_set(outputs) == {TABLE}
    assert metrics.counters[f"{AGENT}.dead_letters"] == 2


def test_keys_are_those_of_the_openlineage_kafka_transport() -> None:
    event = complete()
    assert kafka_key(event) == "run:spark/job"
    event["run"]["facets"] = {"parent": {"job": {"namespace": "airflow", "name": "dag"},
                                         "run": {"runId": OTHER_RUN}}}
    assert kafka_key(event) == "run:airflow/dag"
    assert kafka_key(job_event()) == "job:spark/job"
    assert kafka_key({"dataset": {"namespace": "n", "name": "d"}}) == "dataset:n/d"


async def test_an_event_time_in_the_year_3000_is_a_dead_letter_and_moves_no_window(
        run: Runner, msg: MessageFactory, metrics: Metrics) -> None:
    record_ts = 1_767_225_600_000  # 2026-01-01T00:00:00Z, the events' own time
    far = msg(start(run_id=OTHER_RUN, time="3000-01-01T00:00:00Z"), timestamp=record_ts)
    outputs = await run([far])
    (letter,) = dead_letters(outputs)
    assert letter["reason"].startswith("event time: ts is ")
    assert original_bytes(letter) == far.value
    # the run windows were not moved: a run of the real time still meets its halves
    await run([msg(start(), timestamp=record_ts)])
    assert signal_set(await run([msg(complete(), timestamp=record_ts)])) == {TABLE}
