"""`lineage graph` on a local replica (--offline): formats, exports, errors; replica helpers."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from state.graph import GraphChange, GraphStore
from streams.cli.graph_cmd import graph_group
from streams.graph.replica import GraphMaterializer, cli_replica_path, open_replica
from streams.settings import Settings
from tests.unit.state.graph_fixtures import delta, record

T = "hive://w/db.t"


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    settings = Settings(topic_prefix="unit-", data_dir=tmp_path / "data")
    graph = GraphStore.open(cli_replica_path(settings))
    graph.apply_delta(delta("web#loc", f"{T}#loc", 1))
    graph.apply_delta(delta(T, "model", 1, confidence="medium", kinds=("CONFIG",)))
    graph.apply_delta(delta("web#loc", "logs", 1, confidence="low", kinds=("NO_MATCH",)))
    graph.close()
    return settings


def run(settings: Settings, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(graph_group, [
        *args, "--offline", "--topic-prefix", settings.topic_prefix,
        "--data-dir", str(settings.data_dir)])
    return result.exit_code, result.stdout, result.stderr


def test_downstream_json_follows_the_contract(settings: Settings) -> None:
    code, out, _ = run(settings, "downstream", "web#loc")
    assert code == 0
    doc = orjson.loads(out)
    assert doc["root"] == "web#loc" and doc["direction"] == "downstream"
    assert doc["nodes"] == [f"{T}#loc", "logs", "model"]
    assert all(set(edge) == {"src", "dst", "confidence", "kinds"} for edge in doc["edges"])


def test_options(settings: Settings) -> None:
    _, out, _ = run(settings, "downstream", "web#loc", "--min-confidence", "medium",
                    "--max-hops", "1")
    assert orjson.loads(out)["nodes"] == [f"{T}#loc"]
    _, out, _ = run(settings, "downstream", "web#loc", "--kind", "NO_MATCH")
    assert orjson.loads(out)["nodes"] == ["logs"]
    _, out, _ = run(settings, "upstream", "model")
    assert orjson.loads(out)["nodes"] == [T, "web#loc"]


def test_table_and_dot(settings: Settings) -> None:
    code, out, _ = run(settings, "downstream", "web#loc", "--format", "table")
    assert code == 0 and "model" in out and "CONFIG" in out
    _, out, _ = run(settings, "downstream", "web#loc", "--format", "dot")
    assert out.startswith("digraph lineage {")
    assert f'"{T}" -> "model" [label="medium CONFIG", style=dashed];' in out


def test_too_large_is_a_one_line_error(settings: Settings) -> None:
    code, _, err = run(settings, "downstream", "web#loc", "--max-nodes", "1")
    assert code == 1 and "more than 1 nodes" in err and len(err.strip().splitlines()) == 1


def test_path_with_evidence_and_no_path_exits_1(settings: Settings) -> None:
    code, out, _ = run(settings, "path", "web#loc", "model")
    doc = orjson.loads(out)
    assert code == 0 and doc["found"] and doc["hops"] == 2
    assert doc["edges"][1]["evidence"] == {"runtime_exact": 1}
    code, out, err = run(settings, "path", "model", "web#loc")
    assert code == 1 and orjson.loads(out)["found"] is False and "no path" in err
    code, out, _ = run(settings, "path", "web#loc", "model", "--format", "table")
    assert code == 0 and "weakest medium" in out


def test_export_formats(settings: Settings, tmp_path: Path) -> None:
    _, out, _ = run(settings, "export")
    assert len(orjson.loads(out)["edges"]) == 3
    _, out, _ = run(settings, "export", "--min-confidence", "medium")
    assert len(orjson.loads(out)["edges"]) == 2
    graphml = tmp_path / "g.graphml"
    assert run(settings, "export", "--format", "graphml", "--out", str(graphml))[0] == 0
    root = ET.parse(graphml).getroot()
    ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
    assert len(root.findall("g:graph/g:edge", ns)) == 3
    assert len(root.findall("g:graph/g:node", ns)) == 5
    parquet = tmp_path / "g.parquet"
    assert run(settings, "export", "--format", "parquet", "--out", str(parquet))[0] == 0
    table = pq.read_table(parquet)
    assert table.num_rows == 3 and "evidence" in table.column_names
    assert run(settings, "export", "--format", "parquet")[0] == 1  # needs --out
    _, out, _ = run(settings, "export", "--format", "dot")
    assert out.count(" -> ") == 3


def test_png_without_graphviz_is_a_clear_error(settings: Settings, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("streams.graph.format.shutil.which", lambda name: None)
    code, _, err = run(settings, "downstream", "web#loc", "--format", "png",
                       "--out", str(tmp_path / "x.png"))
    assert code == 1 and "Graphviz" in err
    code, _, err = run(settings, "downstream", "web#loc", "--format", "png")
    assert code == 1 and "--out" in err


def test_materializer_calls_listeners_and_survives_a_failing_one(tmp_path: Path) -> None:
    graph = GraphStore.open(tmp_path / "g")
    materializer = GraphMaterializer(graph, Settings(data_dir=tmp_path))
    seen: list[list[GraphChange]] = []

    def broken(changes: list[GraphChange]) -> None:
        raise RuntimeError("boom")

    materializer.add_listener(broken)
    materializer.add_listener(seen.append)
    assert materializer.apply([record(0, 0, delta("a", "b", 1))]) == 1
    assert materializer.apply([record(0, 0, delta("a", "b", 1))]) == 0  # already applied
    assert [[c.edge_id for c in batch] for batch in seen] == [["a -> b"]]
    graph.close()


def test_a_locked_replica_falls_back_to_a_temporary_one(tmp_path: Path) -> None:
    path = tmp_path / "replica"
    held = GraphStore.open(path)
    held.apply_delta(delta("a", "b", 1))
    try:
        with open_replica(path) as other:
            assert other is not held and other.edge_count() == 0
        with pytest.raises(Exception, match="in use"):
            GraphStore.open(path)
    finally:
        held.close()
    with open_replica(path) as again:
        assert again.edge_count() == 1
