"""The bundled example through a real worker: the expected graph, in any order."""

from __future__ import annotations

from pathlib import Path

import orjson

from streams.settings import Settings
from tests.integration.worker import running_worker, send_file, summary, wait_for_graph

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "photo_location.jsonl"
WEB = "web://photos-web/handlePhotoUpload"

EXPECTED_HIGH = {
    f"{WEB}#location -> mysql://photos-db/photos.photos#location": "EXACT_MATCH",
    f"{WEB}#location -> scribe://logs/photo_uploaded#location": "EXACT_MATCH",
    f"{WEB}#location -> http://friends-service/friends/nearby#query.near": "CONTAINS",
    f"{WEB}#location -> cache://geo-cache/user_geo": "CONTAINS",
    "scribe://logs/photo_uploaded#location -> hive://warehouse/default.photo_metadata_log#location":
        "EXACT_MATCH",
    "hive://warehouse/default.photo_metadata_log#location -> "
    "hive://warehouse/default.location_analytics_tbl#user_location": "IDENTITY",
    "hive://warehouse/default.photo_location_features#home_location -> "
    "feature://store/USER_HOME_LOCATION": "CONFIG",
    "feature://store/USER_HOME_LOCATION -> model://registry/nearby_friends_model": "CONFIG",
    "hive://warehouse/default.ads_audience_tbl -> model://registry/ad_targeting_model": "CONFIG",
    "model://registry/ad_targeting_model -> service://ads/ad_ranker": "CONFIG",
}
LOW_ONLY = {
    f"{WEB}#location -> http://ads-service/ad_targeting#location",  # static, never observed
    f"{WEB} -> scribe://logs/request_metrics",  # full-set NO_MATCH
    "hive://warehouse/default.photo_metadata_log#ds -> "
    "hive://warehouse/default.generic_analytics_table#uploads",  # GROUP_BY only
}
MEDIUM = {
    "hive://warehouse/default.location_analytics_tbl -> "
    "hive://warehouse/default.ads_audience_tbl": "TRANSFORMATION",  # sql_io halves joined
}


def _complete(edges: dict[str, dict[str, object]]) -> bool:
    return set(EXPECTED_HIGH) | LOW_ONLY | set(MEDIUM) <= set(edges)


def test_example_builds_the_expected_graph(settings: Settings) -> None:
    with running_worker(settings):
        assert send_file(settings, EXAMPLE).returncode == 0
        edges = wait_for_graph(settings, _complete)

    for edge_id, kind in EXPECTED_HIGH.items():
        assert edge_id in edges, edge_id
        assert edges[edge_id]["confidence"] == "high", edge_id
        assert kind in edges[edge_id]["kinds"], edge_id
    for edge_id, kind in MEDIUM.items():
        assert edges[edge_id]["confidence"] == "medium"
        assert kind in edges[edge_id]["kinds"]
    for edge_id in LOW_ONLY:
        assert edges[edge_id]["confidence"] == "low", edge_id
    at_least_medium = {e for e, d in edges.items() if d["confidence"] in ("medium", "high")}
    assert not LOW_ONLY & at_least_medium
    cache = edges[f"{WEB}#location -> cache://geo-cache/user_geo"]
    assert cache["evidence"]["runtime_contains"] == 3
    for delta in edges.values():
        assert "Main St" not in orjson.dumps(delta).decode()


def test_reverse_order_of_captures_gives_the_same_edges(settings: Settings,
                                                        tmp_path: Path) -> None:
    lines = EXAMPLE.read_bytes().splitlines()
    probes = [line for line in lines if b'"type":"probe"' in line]
    others = [line for line in lines if b'"type":"probe"' not in line]
    forward = tmp_path / "forward.jsonl"
    forward.write_bytes(b"\n".join(probes) + b"\n")
    backward = tmp_path / "backward.jsonl"
    backward.write_bytes(b"\n".join(reversed(probes)) + b"\n")
    del others

    first = Settings(settings.bootstrap_servers, settings.topic_prefix + "fwd-",
                     settings.data_dir / "fwd")
    second = Settings(settings.bootstrap_servers, settings.topic_prefix + "rev-",
                      settings.data_dir / "rev")
    expected_runtime = {e for e, k in EXPECTED_HIGH.items() if k in ("EXACT_MATCH", "CONTAINS")}
    results = []
    for run, path in ((first, forward), (second, backward)):
        with running_worker(run):
            assert send_file(run, path).returncode == 0
            results.append(wait_for_graph(
                run, lambda edges: expected_runtime <= set(edges)))
    assert expected_runtime <= set(results[0])
    assert summary(results[0]) == summary(results[1])
