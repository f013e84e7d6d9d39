"""Writes examples/photo_location.jsonl: the bundled example's story as events.

A photo upload's location flows (runtime probes) to a DB table, a log, a
nearby-friends API and a geo cache (lower-cased); the log lands in the
warehouse, where SQL jobs derive analytics, features and an ads audience;
configs turn features into models, one of which serves ads. A static
analyzer also proposes a flow to the ads API that never happens at run time.
Run: python examples/make_photo_location.py > examples/photo_location.jsonl
"""

from __future__ import annotations

import sys

import orjson

T0 = 1737540600000
WEB = "web://photos-web/handlePhotoUpload"
DB = "mysql://photos-db/photos.photos"
LOG = "scribe://logs/photo_uploaded"
API = "http://friends-service/friends/nearby"
CACHE = "cache://geo-cache/user_geo"
METRICS = "scribe://logs/request_metrics"
HIVE_LOG = "hive://warehouse/default.photo_metadata_log"
LOCATIONS = ["Home, 123 Main St", "Flat 4, 56 Oak Avenue", "7 Harbour Road, Apt 12"]


def events() -> list[dict[str, object]]:
    out: list[dict[str, object]] = [
        {"v": 1, "type": "label", "asset": f"{WEB}#location", "labels": ["PRECISE_LOCATION"],
         "ts": T0 - 600_000},
        {"v": 1, "type": "policy", "policy_id": "location-not-for-ads", "ts": T0 - 600_000,
         "protects": ["PRECISE_LOCATION"],
         "deny": ["model://registry/ad_*", "service://ads/*", "http://ads-service/*"],
         "min_confidence": "medium"},
        {"v": 1, "type": "static", "source": f"{WEB}#location",
         "sink": "http://ads-service/ad_targeting#location", "ts": T0 - 600_000,
         "code_location": "photos/upload.py:88", "analyzer": "ast-taint"},
    ]
    for n, location in enumerate(LOCATIONS):
        trace, ingest = f"t-upload-{n}", f"t-ingest-{n}"
        ts = T0 + n * 5_000
        user = 4_000_001 + n
        url = f"https://cdn.example/photos/{n:04d}.jpg"

        def probe(trace_id: str, role: str, asset: str, payload: object, dt: int,
                  service: str = "photos-web", ts: int = ts) -> dict[str, object]:
            return {"v": 1, "type": "probe", "trace_id": trace_id, "ts": ts + dt,
                    "service": service, "role": role, "asset": asset, "payload": payload,
                    "sample_rate": 0.01, "code_location": "photos/upload.py:41"}

        out += [
            probe(trace, "source", WEB, {"location": location, "url": url, "user_id": user}, 0),
            probe(trace, "sink", DB, {"location": location, "photo_url": url, "owner": user}, 40),
            probe(trace, "sink", LOG, {"event": "photo_uploaded", "user_id": user,
                                       "location": location, "url": url}, 55),
            probe(trace, "sink", API, {"query": {"near": f"near {location}"}, "limit": 20}, 70),
            probe(trace, "sink", CACHE, f"geo:{location.lower()}", 90),
            probe(trace, "sink", METRICS, {"latency_ms": 118, "status": "OK"}, 95),
            probe(ingest, "source", LOG, {"event": "photo_uploaded", "user_id": user,
                                          "location": location, "url": url}, 2_000,
                  service="log-ingest"),
            probe(ingest, "sink", HIVE_LOG, {"location": location, "user_id": user,
                                             "url": url, "ds": "2025-01-22"}, 2_050,
                  service="log-ingest"),
        ]
    sql_ts = T0 + 60_000
    out += [
        {"v": 1, "type": "sql", "job_id": "spark_job_12345", "ts": sql_ts, "engine": "spark",
         "namespace": "hive://warehouse", "default_schema": "default",
         "query": "INSERT INTO location_analytics_tbl SELECT location AS user_location, user_id "
                  "FROM photo_metadata_log"},
        {"v": 1, "type": "sql", "job_id": "spark_job_12346", "ts": sql_ts + 1_000,
         "engine": "spark", "namespace": "hive://warehouse", "default_schema": "default",
         "query": "INSERT OVERWRITE TABLE photo_location_features "
                  "SELECT user_id, location AS home_location FROM photo_metadata_log"},
        {"v": 1, "type": "sql", "job_id": "presto_q_991", "ts": sql_ts + 2_000,
         "engine": "presto", "namespace": "hive://warehouse", "default_schema": "default",
         "query": "INSERT INTO generic_analytics_table SELECT ds, COUNT(*) AS uploads "
                  "FROM photo_metadata_log GROUP BY ds"},
        {"v": 1, "type": "sql_io", "job_id": "spark_job_777", "trace_id": "t-77",
         "ts": sql_ts + 3_000, "engine": "spark", "namespace": "hive://warehouse",
         "action": "READ", "table": "default.location_analytics_tbl",
         "columns": ["user_location", "user_id"]},
        {"v": 1, "type": "sql_io", "job_id": "spark_job_777", "trace_id": "t-77",
         "ts": sql_ts + 9_000, "engine": "spark", "namespace": "hive://warehouse",
         "action": "WRITE", "table": "default.ads_audience_tbl"},
        {"v": 1, "type": "config", "config_id": "USER_HOME_LOCATION@v1", "ts": sql_ts + 20_000,
         "kind": "feature", "config": {
             "feature": "USER_HOME_LOCATION",
             "sources": ["hive://warehouse/default.photo_location_features#home_location"]}},
        {"v": 1, "type": "config", "config_id": "nearby_friends_model@v3",
         "ts": sql_ts + 30_000, "kind": "training", "config": {
             "model_name": "nearby_friends_model",
             "input_dataset": "hive://warehouse/default.photo_location_features",
             "features": ["USER_AGE", "USER_HOME_LOCATION"],
             "output_model": "model://registry/nearby_friends_model"}},
        {"v": 1, "type": "config", "config_id": "ad_targeting_model@v7", "ts": sql_ts + 31_000,
         "kind": "training", "config": {
             "model_name": "ad_targeting_model",
             "input_dataset": "hive://warehouse/default.ads_audience_tbl",
             "output_model": "model://registry/ad_targeting_model"}},
        {"v": 1, "type": "config", "config_id": "ad_ranker@v2", "ts": sql_ts + 32_000,
         "kind": "inference", "config": {
             "service": "service://ads/ad_ranker",
             "models": ["model://registry/ad_targeting_model"]}},
    ]
    return out


if __name__ == "__main__":
    for event in events():
        sys.stdout.buffer.write(orjson.dumps(event) + b"\n")
