"""Round trip: the example graph exported as OpenLineage, posted to a fresh pipeline, same edges."""

from __future__ import annotations

import dataclasses
import subprocess
import uuid
from pathlib import Path

import orjson

from streams.settings import Settings
from tests.integration.openlineage_helpers import TOKEN, free_port, post, wait_for_api
from tests.integration.worker import LINEAGE, cli_args, running_worker, send_file, wait_for_graph
from tests.openlineage_schemas import check_event

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "photo_location.jsonl"
MODEL_EDGE = ("hive://warehouse/default.ads_audience_tbl -> model://registry/ad_targeting_model")


def _representable(edge_id: str) -> bool:
    """Edges OpenLineage can carry: not a table-level source into a field (export.py)."""
    src, _, dst = edge_id.partition(" -> ")
    return not ("#" in dst and "#" not in src)


def test_export_then_post_to_a_fresh_pipeline_gives_the_same_edges(
        settings: Settings, tmp_path: Path) -> None:
    with running_worker(settings):
        assert send_file(settings, EXAMPLE).returncode == 0
        first = wait_for_graph(settings, lambda e: MODEL_EDGE in e)
    out = tmp_path / "graph.openlineage.jsonl"
    export = subprocess.run([LINEAGE, "graph", "export", "--format", "openlineage", "--out",
                             str(out), *cli_args(settings)], capture_output=True, text=True,
                            check=False, timeout=120)
    assert export.returncode == 0, export.stderr
    events = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    for event in events:
        check_event(event)

    fresh = dataclasses.replace(settings, topic_prefix=f"it-{uuid.uuid4().hex[:10]}-",
                                data_dir=tmp_path / "fresh")
    port = free_port()
    with running_worker(fresh, args=("--api-port", str(port), "--api-token", TOKEN)):
        wait_for_api(port)
        for event in events:
            status, answer = post(port, "/api/v1/lineage", orjson.dumps(event))
            assert status == 201, answer
        wanted = {eid for eid in first if _representable(eid)}
        assert MODEL_EDGE in wanted and len([e for e in wanted if "#" in e]) >= 3
        second = wait_for_graph(fresh, lambda e: set(e) >= wanted)
    assert set(second) == wanted
    assert all(edge["evidence"]["openlineage"] >= 1 for edge in second.values())
