"""Config parsing and static intake handlers: signals keyed by edge id, bad configs dead."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from stream_fixtures import MessageFactory, Runner, body, dead_letters, original_bytes, signal_set

from streams.pipeline.agents.config_parsing import AGENT as CONFIG_AGENT
from streams.pipeline.agents.config_parsing import handle_config
from streams.pipeline.agents.static_intake import handle_static
from streams.pipeline.batch import input_validator

MODEL = "model://registry/nearby_friends_model"


def config(kind: str, body: Any, ts: int = 1737540700000, cid: str = "c@v1") -> dict[str, Any]:
    return {"v": 1, "type": "config", "config_id": cid, "ts": ts, "kind": kind, "config": body}


TRAINING = config("training", {
    "model_name": "nearby_friends_model",
    "input_dataset": "hive://warehouse/default.photo_location_features",
    "features": ["USER_AGE", "USER_HOME_LOCATION"],
    "output_model": MODEL,
})


@pytest.fixture()
def run_config(make_runner: Callable[..., Runner]) -> Runner:
    return make_runner(CONFIG_AGENT, handle_config, input_validator("config-events"))


@pytest.fixture()
def run_static(make_runner: Callable[..., Runner]) -> Runner:
    return make_runner("static-intake", handle_static, input_validator("static-flows"))


async def test_training_config_gives_config_signals_keyed_by_edge(
    run_config: Runner, make_messages: Callable[[str], MessageFactory],
) -> None:
    outputs = await run_config([make_messages("config-events")(TRAINING, key=b"c@v1")])
    assert signal_set(outputs) == {
        (f"hive://warehouse/default.photo_location_features -> {MODEL}", "CONFIG"),
        (f"feature://store/USER_AGE -> {MODEL}", "CONFIG"),
        (f"feature://store/USER_HOME_LOCATION -> {MODEL}", "CONFIG"),
    }
    assert {body(o)["ts"] for o in outputs} == {TRAINING["ts"]}
    assert {body(o)["origin"] for o in outputs} == {"config"}


async def test_feature_and_inference_configs(
    run_config: Runner, make_messages: Callable[[str], MessageFactory],
) -> None:
    msg = make_messages("config-events")
    outputs = await run_config([
        msg(config("feature", {"feature": "F", "sources": ["hive://wh/db.t#c"]})),
        msg(config("inference", {"service": "friend_suggestions", "models": [MODEL]})),
    ])
    assert signal_set(outputs) == {
        ("hive://wh/db.t#c -> feature://store/F", "CONFIG"),
        (f"{MODEL} -> service://inference/friend_suggestions", "CONFIG"),
    }


@pytest.mark.parametrize("bad", [
    {"model_name": "m"},  # training without any input
    {"model_name": "m", "features": "SECRET-FEATURE-LIST"},  # wrong type
    {"model_name": "m", "input_dataset": "not-a-uri-SECRET"},
])
async def test_bad_config_becomes_a_dead_letter_and_the_rest_goes_on(
    run_config: Runner, make_messages: Callable[[str], MessageFactory], bad: dict[str, Any],
) -> None:
    msg = make_messages("config-events")
    bad_message = msg(config("training", bad, ts=77), key=b"bad")
    outputs = await run_config([bad_message, msg(TRAINING)])
    [letter] = dead_letters(outputs)
    assert letter["origin"] == "config-events:0:0"
    assert [o.key for o in outputs if o.topic == "dead-letters"] == [b"config-events:0:0"]
    assert letter["agent"] == CONFIG_AGENT
    assert letter["reason"].startswith("training")
    assert "SECRET" not in letter["reason"]
    assert letter["ts"] == 77
    assert original_bytes(letter) == bad_message.value
    assert len(signal_set(outputs)) == 3
    assert run_config.stores.get(CONFIG_AGENT, "config-events", 0).offset() == 1


async def test_config_of_an_unknown_kind_is_dead_at_the_envelope(
    run_config: Runner, make_messages: Callable[[str], MessageFactory],
) -> None:
    outputs = await run_config([make_messages("config-events")(config("deployment", {}))])
    [letter] = dead_letters(outputs)
    assert "kind" in letter["reason"]


async def test_static_flow_gives_a_static_signal_keyed_by_edge(
    run_static: Runner, make_messages: Callable[[str], MessageFactory],
) -> None:
    src = "web://photos-web/handlePhotoUpload#location"
    dst = "http://ads-service/ad_targeting#location"
    event = {"v": 1, "type": "static", "source": src, "sink": dst, "ts": 1737540000000,
             "code_location": "photos/upload.py:88", "analyzer": "ast-taint"}
    outputs = await run_static([make_messages("static-flows")(event, key=src.encode())])
    assert signal_set(outputs) == {(f"{src} -> {dst}", "STATIC")}
    assert body(outputs[0]) == {"v": 1, "src": src, "dst": dst, "kind": "STATIC",
                                "origin": "static", "ts": 1737540000000}
