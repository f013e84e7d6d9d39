"""The bundled example's graph, queried through the CLI and the worker's HTTP API."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import orjson

from streams.settings import Settings
from tests.integration.worker import LINEAGE, cli_args, send_file, stop_worker, wait_for_graph

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "photo_location.jsonl"
WEB = "web://photos-web/handlePhotoUpload#location"
ADS_TABLE = "hive://warehouse/default.ads_audience_tbl"
RANKER = "service://ads/ad_ranker"
NEEDED = {
    "hive://warehouse/default.location_analytics_tbl -> hive://warehouse/default.ads_audience_tbl",
    f"{ADS_TABLE} -> model://registry/ad_targeting_model",
    f"model://registry/ad_targeting_model -> {RANKER}",
    f"{WEB} -> scribe://logs/photo_uploaded#location",
}
TOKEN = "it-token"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LINEAGE, "graph", *args, *cli_args(settings)], capture_output=True,
                          text=True, check=False, timeout=120)


def _get(port: int, path: str, token: str | None = TOKEN, **params: str) -> Any:
    url = f"http://127.0.0.1:{port}{path}?{urllib.parse.urlencode(params)}"
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _wait_for_api(port: int, edges: int, timeout_s: float = 60.0) -> dict[str, Any]:
    """The worker's replica follows the topic on its own; wait until it has every edge."""
    deadline = time.monotonic() + timeout_s
    health: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            health = _get(port, "/health")
            if health["edges"] >= edges:
                return health
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.5)
    return health


def test_example_graph_through_cli_and_http(settings: Settings, tmp_path: Path) -> None:
    port = _free_port()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.data_dir / "worker.log", "ab") as log:
        worker = subprocess.Popen(
            [LINEAGE, "worker", *cli_args(settings), "--api-port", str(port),
             "--api-token", TOKEN], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        assert send_file(settings, EXAMPLE).returncode == 0
        edges = wait_for_graph(settings, lambda e: set(e) >= NEEDED)
        assert set(edges) >= NEEDED

        # -- CLI: its own replica, caught up to the topic's end per call --------
        down = _cli(settings, "downstream", WEB)
        assert down.returncode == 0, down.stderr
        doc = orjson.loads(down.stdout)
        assert doc["root"] == WEB and doc["direction"] == "downstream"
        assert WEB not in doc["nodes"]
        # Through the table-level edge location_analytics_tbl -> ads_audience_tbl.
        assert {ADS_TABLE, RANKER} <= set(doc["nodes"])
        strong = orjson.loads(_cli(settings, "downstream", WEB, "--min-confidence", "high").stdout)
        assert RANKER not in strong["nodes"]  # only via the medium table-level edge
        assert "http://ads-service/ad_targeting#location" not in strong["nodes"]  # static, low
        near = orjson.loads(_cli(settings, "downstream", WEB, "--max-hops", "1").stdout)
        assert "scribe://logs/photo_uploaded#location" in near["nodes"]
        assert ADS_TABLE not in near["nodes"]
        up = orjson.loads(_cli(settings, "upstream", RANKER).stdout)
        assert WEB in up["nodes"]

        path = _cli(settings, "path", WEB, RANKER)
        assert path.returncode == 0, path.stderr
        route = orjson.loads(path.stdout)
        assert route["found"] and route["nodes"][0] == WEB and route["nodes"][-1] == RANKER
        assert route["confidence"] == "medium"
        assert all("evidence" in edge for edge in route["edges"])
        assert _cli(settings, "path", RANKER, WEB).returncode == 1

        graphml = tmp_path / "graph.graphml"
        assert _cli(settings, "export", "--format", "graphml", "--out", str(graphml)
                    ).returncode == 0
        assert graphml.read_text().count("<edge ") == len(edges)
        exported = orjson.loads(_cli(settings, "export").stdout)["edges"]
        assert {e["edge_id"] for e in exported} == set(edges)

        # -- HTTP: the worker's own replica -------------------------------------
        health = _wait_for_api(port, len(edges))
        assert health.get("edges") == len(edges), health
        try:
            _get(port, "/health", token=None)
            raise AssertionError("the API answered without its token")
        except urllib.error.HTTPError as exc:
            assert exc.code == 401
        http_down = _get(port, "/graph/downstream", asset=WEB)
        assert set(http_down["nodes"]) == set(doc["nodes"])
        http_path = _get(port, "/graph/path", src=WEB, dst=RANKER)
        assert http_path["nodes"] == route["nodes"]
        assert len(_get(port, "/graph/edges")["edges"]) == len(edges)
    finally:
        stop_worker(worker)
