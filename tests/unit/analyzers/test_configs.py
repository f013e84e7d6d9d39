"""Config events -> CONFIG flow signals: every kind, the aliases, every error reason."""

from __future__ import annotations

from typing import Any

import pytest

from analyzers.configs import (
    ConfigError,
    config_pairs,
    config_signals,
    feature_asset,
    model_asset,
    service_asset,
)
from analyzers.signals import FlowSignal

SECRET = "Home, 123 Main St"
COL = "hive://warehouse/default.photo_metadata_log#location"
COL2 = "mysql://photos-db/photos.photos#location"
DATASET = "hive://warehouse/default.photo_location_features"


def event(kind: str, config: Any, ts: int = 1737540700000) -> dict[str, Any]:
    return {"v": 1, "type": "config", "config_id": "c@v1", "ts": ts, "kind": kind,
            "config": config}


def pairs(kind: str, config: Any) -> list[tuple[str, str]]:
    return [(s.src, s.dst) for s in config_signals(event(kind, config))]


# -- the contract's example ---------------------------------------------------


def test_contract_training_example() -> None:
    ev = {"v": 1, "type": "config", "config_id": "nearby_friends_model@v3", "ts": 1737540700000,
          "kind": "training", "config": {
              "model_name": "nearby_friends_model",
              "input_dataset": DATASET,
              "features": ["USER_AGE", "USER_HOME_LOCATION"],
              "output_model": "model://registry/nearby_friends_model"}}
    model = "model://registry/nearby_friends_model"
    assert config_signals(ev) == [
        FlowSignal(DATASET, model, "CONFIG", "config", 1737540700000),
        FlowSignal("feature://store/USER_AGE", model, "CONFIG", "config", 1737540700000),
        FlowSignal("feature://store/USER_HOME_LOCATION", model, "CONFIG", "config",
                   1737540700000),
    ]


def test_signals_carry_kind_origin_and_event_time() -> None:
    signals = config_signals(event("inference", {"service": "service://inference/s",
                                                  "models": ["model://registry/m"]}, ts=42))
    assert [(s.kind, s.origin, s.ts, s.masking, s.transform) for s in signals] == [
        ("CONFIG", "config", 42, False, None)]


# -- feature ------------------------------------------------------------------


def test_feature_default_store() -> None:
    assert pairs("feature", {"feature": "USER_HOME_LOCATION", "sources": [COL, COL2]}) == [
        (COL, "feature://store/USER_HOME_LOCATION"),
        (COL2, "feature://store/USER_HOME_LOCATION"),
    ]


def test_feature_named_store() -> None:
    assert pairs("feature", {"feature": "F", "sources": [COL], "store": "online"}) == [
        (COL, "feature://online/F")]


def test_feature_aliases() -> None:
    assert pairs("feature", {"name": "F", "inputs": [COL], "feature_store": "fs"}) == [
        (COL, "feature://fs/F")]
    assert pairs("feature", {"feature": "F", "source": COL}) == [(COL, "feature://store/F")]


def test_feature_name_that_is_a_uri_is_kept() -> None:
    assert pairs("feature", {"feature": "feature://other/F", "sources": [COL]}) == [
        (COL, "feature://other/F")]


# -- training -----------------------------------------------------------------


def test_training_default_model_from_name() -> None:
    assert pairs("training", {"model_name": "m", "input_dataset": DATASET}) == [
        (DATASET, "model://registry/m")]


def test_training_features_only_with_store_and_uri_features() -> None:
    got = pairs("training", {"model_name": "m", "store": "online",
                             "features": ["A", "feature://other/B"]})
    assert got == [("feature://online/A", "model://registry/m"),
                   ("feature://other/B", "model://registry/m")]


def test_training_model_aliases() -> None:
    assert pairs("training", {"model": "plain", "dataset": DATASET}) == [
        (DATASET, "model://registry/plain")]
    assert pairs("training", {"output": "model://zoo/x", "dataset": DATASET}) == [
        (DATASET, "model://zoo/x")]
    # output_model wins over model_name
    assert pairs("training", {"model_name": "m", "output_model": "model://zoo/y",
                              "input_dataset": DATASET}) == [(DATASET, "model://zoo/y")]


def test_training_dataset_list_aliases_and_dedup() -> None:
    got = pairs("training", {"model_name": "m", "input_dataset": DATASET,
                             "input_datasets": [DATASET, COL], "datasets": [COL2]})
    assert got == [(DATASET, "model://registry/m"), (COL, "model://registry/m"),
                   (COL2, "model://registry/m")]


def test_self_loop_is_dropped() -> None:
    assert pairs("training", {"output_model": DATASET, "input_dataset": DATASET,
                              "features": ["F"]}) == [("feature://store/F", DATASET)]


def test_unknown_config_keys_are_ignored() -> None:
    assert pairs("training", {"model_name": "m", "features": ["F"], "lr": 0.1,
                              "notes": {"x": 1}}) == [("feature://store/F", "model://registry/m")]


# -- inference ----------------------------------------------------------------


def test_inference() -> None:
    svc = "service://inference/friend_suggestions"
    assert pairs("inference", {"service": svc, "models": ["model://registry/a", "b"]}) == [
        ("model://registry/a", svc), ("model://registry/b", svc)]


def test_inference_aliases() -> None:
    assert pairs("inference", {"service": "s", "model": "m"}) == [
        ("model://registry/m", "service://inference/s")]


# -- naming helpers -----------------------------------------------------------


def test_naming_helpers() -> None:
    assert feature_asset("F") == "feature://store/F"
    assert feature_asset("F", "feature://online/") == "feature://online/F"
    assert model_asset("m") == "model://registry/m"
    assert model_asset("model://x/m") == "model://x/m"
    assert service_asset("s") == "service://inference/s"


# -- errors -------------------------------------------------------------------

NES, LST, URI = "must be a non-empty string", "must be a list of strings", "must be an asset URI"

ERRORS: list[tuple[str, Any, str]] = [
    ("feature", {"sources": [COL]}, "missing 'feature'"),
    ("feature", {"feature": 3, "sources": [COL]}, f"'feature' {NES} (got integer)"),
    ("feature", {"feature": "  ", "sources": [COL]}, f"'feature' {NES}"),
    ("feature", {"feature": "F"}, "missing or empty 'sources'"),
    ("feature", {"feature": "F", "sources": []}, "missing or empty 'sources'"),
    ("feature", {"feature": "F", "sources": COL}, f"'sources' {LST} (got string)"),
    ("feature", {"feature": "F", "sources": [COL, 7]}, f"'sources[1]' {NES} (got integer)"),
    ("feature", {"feature": "F", "sources": [SECRET]}, f"'sources[0]' {URI}"),
    ("feature", {"feature": "F", "sources": [COL], "store": ["x"]}, f"'store' {NES} (got list)"),
    ("training", {"input_dataset": DATASET}, "missing 'model_name'"),
    ("training", {"model_name": "m"}, "no inputs"),
    ("training", {"model_name": "m", "features": []}, "no inputs"),
    ("training", {"model_name": 5, "features": ["F"]}, f"'model_name' {NES} (got integer)"),
    ("training", {"model_name": True, "output_model": "m", "features": ["F"]},
     f"'model_name' {NES} (got boolean)"),
    ("training", {"model_name": "m", "features": "F"}, f"'features' {LST} (got string)"),
    ("training", {"model_name": "m", "features": [{"a": 1}]}, f"'features[0]' {NES} (got object)"),
    ("training", {"model_name": "m", "input_dataset": SECRET}, f"'input_dataset' {URI}"),
    ("training", {"model_name": "m", "input_dataset": 1.5}, f"'input_dataset' {NES} (got number)"),
    ("training", {"model_name": "m", "datasets": [SECRET]}, f"'datasets[0]' {URI}"),
    ("inference", {"models": ["m"]}, "missing 'service'"),
    ("inference", {"service": "s"}, "missing or empty 'models'"),
    ("inference", {"service": "s", "models": []}, "missing or empty 'models'"),
    ("inference", {"service": "s", "models": "m"}, f"'models' {LST} (got string)"),
    ("inference", {"service": {}, "models": ["m"]}, f"'service' {NES} (got object)"),
]


@pytest.mark.parametrize(("kind", "config", "reason"), ERRORS)
def test_bad_config_reasons(kind: str, config: Any, reason: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_signals(event(kind, config))
    assert reason in info.value.reason
    assert info.value.reason.startswith(f"{kind} config: ")
    assert SECRET not in info.value.reason
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("ev", "reason"),
    [
        ({**event("feature", {}), "kind": "serving"}, "'kind' must be one of"),
        ({**event("feature", {}), "kind": None}, "'kind' must be one of"),
        (event("feature", [SECRET]), "'config' must be an object (got list)"),
        (event("training", None), "'config' must be an object (got null)"),
        ({**event("feature", {"feature": "F", "sources": [COL]}), "ts": "1"},
         "'ts' must be an integer (got string)"),
        ({**event("feature", {"feature": "F", "sources": [COL]}), "ts": True},
         "'ts' must be an integer (got boolean)"),
    ],
)
def test_bad_event_reasons(ev: dict[str, Any], reason: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_signals(ev)
    assert reason in info.value.reason
    assert SECRET not in info.value.reason


def test_config_pairs_is_the_signal_pairs() -> None:
    config = {"feature": "F", "sources": [COL, COL]}
    assert config_pairs("feature", config) == [(COL, "feature://store/F")]
