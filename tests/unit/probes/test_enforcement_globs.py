"""The probes' deny globs agree with the pipeline's (analyzers.policy.globs) everywhere."""

from __future__ import annotations

import itertools

from lineage_probes.config import ProbeConfig
from lineage_probes.enforcement.feed import KafkaZoneFeed
from lineage_probes.enforcement.globs import compile_globs, denies

from analyzers.policy import DenyGlob

GLOBS = ["http://ads-service/*", "http://ads-service/**", "model://registry/ad_*",
         "hive://w/db.t#loc", "hive://w/**/x", "s3://b/**", "sqlite://demo.db/outbox",
         "kafka://*/ads", "a?b[c]", "**"]
ASSETS = ["http://ads-service/ad_targeting", "http://ads-service/v1/t#location",
          "http://ads-service", "model://registry/ad_x", "model://registry/ads/x",
          "hive://w/db.t", "hive://w/db.t#loc", "hive://w/db.t#other", "hive://w/x",
          "hive://w/a/b/x", "s3://b/k/v", "sqlite://demo.db/outbox#city",
          "sqlite://demo.db/outbox", "kafka://h:9092/ads", "a?b[c]", "axbc"]


def test_same_verdict_as_the_pipeline_for_every_glob_and_asset() -> None:
    for glob, asset in itertools.product(GLOBS, ASSETS):
        assert denies(compile_globs([glob]), asset) == DenyGlob.compile(glob).matches(asset), \
            (glob, asset)


def test_a_feed_without_a_broker_is_not_available() -> None:
    feed = KafkaZoneFeed(ProbeConfig(bootstrap_servers="127.0.0.1:1", service="t"),
                         stale_after_s=1.0)
    feed.start()
    try:
        assert not feed.ready.wait(1.0)
        assert not feed.available()
    finally:
        feed.close()
