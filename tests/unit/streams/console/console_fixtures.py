"""A small photo-location graph in a real GraphStore, its policy inputs, and a console app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from state.graph import GraphStore
from streams.console.policy_state import PolicyState, build_state
from tests.unit.state.graph_fixtures import delta

POLICY = "location-not-for-ads"
WEB = "web://photos-web/handlePhotoUpload#location"
DB = "mysql://photos-db/photos.photos#location"
LOG = "scribe://logs/photo_uploaded#location"
RAW = "hive://warehouse/default.photo_metadata_log#location"
AGG = "hive://warehouse/default.location_analytics_tbl#user_location"
AGG_TABLE = "hive://warehouse/default.location_analytics_tbl"
ADS = "hive://warehouse/default.ads_audience_tbl"
MODEL = "model://registry/ad_targeting_model"
RANKER = "service://ads/ad_ranker"
STATIC_SINK = "http://ads-service/ad_targeting#location"

EDGES = [
    (WEB, DB, "high", ("EXACT_MATCH",)),
    (WEB, LOG, "high", ("CONTAINS",)),
    (LOG, RAW, "high", ("EXACT_MATCH",)),
    (RAW, AGG, "high", ("IDENTITY",)),
    (AGG_TABLE, ADS, "medium", ("JOIN",)),
    (ADS, MODEL, "high", ("CONFIG",)),
    (MODEL, RANKER, "high", ("CONFIG",)),
    (WEB, STATIC_SINK, "low", ("STATIC",)),
]


def build_graph(path: Path) -> GraphStore:
    graph = GraphStore.open(path)
    for src, dst, confidence, kinds in EDGES:
        graph.apply_delta(delta(src, dst, 1, confidence=confidence, kinds=kinds))
    return graph


def _event(**fields: Any) -> bytes:
    return orjson.dumps({"v": 1, "ts": 1737540000000, **fields})


def policy_state(reviews: dict[str, str] | None = None) -> PolicyState:
    """Labels, the example's policy, and `reviews` (asset -> decision), parsed for real."""
    records: dict[str, dict[bytes, bytes | None]] = {
        "asset-labels": {WEB.encode(): _event(type="label", asset=WEB,
                                              labels=["PRECISE_LOCATION"])},
        "policies": {POLICY.encode(): _event(
            type="policy", policy_id=POLICY, protects=["PRECISE_LOCATION"],
            deny=["model://registry/ad_*", "service://ads/*", "http://ads-service/*"],
            min_confidence="medium")},
        "reviews": {f"{POLICY}|{a}".encode(): _event(
            type="review", policy_id=POLICY, asset=a, decision=d, reviewer="alice",
            reason="=cmd|' /C calc'!A0") for a, d in (reviews or {}).items()},
    }
    return build_state(records)


class FixedPolicyState:
    """A `PolicyStateReader` answering a state built in the test (no Kafka)."""

    def __init__(self, state: PolicyState) -> None:
        self.state = state
        self.forgotten = 0

    async def read(self) -> PolicyState:
        return self.state

    def forget(self) -> None:
        self.forgotten += 1


def graph_in(tmp_path: Path) -> Iterator[GraphStore]:
    graph = build_graph(tmp_path / "graph")
    yield graph
    graph.close()
