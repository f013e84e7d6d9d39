"""Graph answers as JSON, tables, DOT, GraphML, Parquet and PNG (through Graphviz)."""

from __future__ import annotations

import io
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from state.graph import EdgeRef, GraphPath, GraphStore, Traversal

_STYLE = {"high": "solid", "medium": "dashed", "low": "dotted"}


class RenderError(RuntimeError):
    """A format that cannot be produced here (Graphviz missing, failed)."""


def path_json(path: GraphPath | None, src: str, dst: str, graph: GraphStore) -> dict[str, Any]:
    """The path with each edge's evidence; `found: false` and no edges when there is none."""
    if path is None:
        return {"src": src, "dst": dst, "found": False, "hops": None, "confidence": None,
                "nodes": [], "edges": []}
    edges = []
    for edge in path.edges:
        full = graph.edge(edge.edge_id) or {}
        edges.append({**edge.to_json(), "score": full.get("score", edge.score),
                      "evidence": full.get("evidence", {}),
                      "first_seen": full.get("first_seen"), "last_seen": full.get("last_seen")})
    return {"src": src, "dst": dst, "found": True, "hops": len(path.edges),
            "confidence": path.confidence, "nodes": path.nodes, "edges": edges}


def _render(table: Table) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=200, force_terminal=False).print(table)
    return buffer.getvalue()


def traversal_table(result: Traversal) -> str:
    table = Table(title=f"{result.direction} of {result.root}: {len(result.nodes)} assets")
    for column in ("hops", "asset", "via", "confidence", "kinds"):
        table.add_column(column)
    reached_by: dict[str, EdgeRef] = {}
    for edge in result.edges:
        node = edge.dst if result.direction == "downstream" else edge.src
        reached_by.setdefault(node, edge)
    for node in result.nodes:
        edge = reached_by[node]
        via = edge.src if result.direction == "downstream" else edge.dst
        table.add_row(str(result.hops[node]), node, via, edge.confidence, ",".join(edge.kinds))
    return _render(table)


def path_table(doc: dict[str, Any]) -> str:
    if not doc["found"]:
        return f"no path from {doc['src']} to {doc['dst']}\n"
    table = Table(title=f"{doc['src']} -> {doc['dst']}: {doc['hops']} hops, "
                        f"weakest {doc['confidence']}")
    for column in ("src", "dst", "confidence", "kinds", "evidence"):
        table.add_column(column)
    for edge in doc["edges"]:
        evidence = ", ".join(f"{k}={v}" for k, v in edge["evidence"].items() if v)
        table.add_row(edge["src"], edge["dst"], edge["confidence"], ",".join(edge["kinds"]),
                      evidence)
    return _render(table)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot(edges: Iterable[dict[str, Any] | EdgeRef], *, highlight: Iterable[str] = ()) -> str:
    """A Graphviz digraph: one box per asset, edge style by confidence."""
    lines = ["digraph lineage {", "  rankdir=LR;", '  node [shape=box, fontname="Helvetica"];']
    for node in highlight:
        lines.append(f"  {_quote(node)} [style=filled, fillcolor=lightyellow];")
    for item in edges:
        edge = item.to_json() if isinstance(item, EdgeRef) else item
        label = f"{edge['confidence']} {','.join(edge['kinds'])}"
        lines.append(f"  {_quote(edge['src'])} -> {_quote(edge['dst'])} "
                     f"[label={_quote(label)}, style={_STYLE.get(edge['confidence'], 'solid')}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def png(dot_text: str, out: Path) -> None:
    """Render DOT to a PNG file with Graphviz's `dot`; RenderError when it is absent."""
    binary = shutil.which("dot")
    if binary is None:
        raise RenderError("--format png needs Graphviz's `dot` on PATH (apt install graphviz)")
    done = subprocess.run([binary, "-Tpng", "-o", str(out)], input=dot_text.encode(),
                          capture_output=True, check=False)
    if done.returncode != 0:
        raise RenderError(f"dot failed: {done.stderr.decode(errors='replace').strip()[:200]}")


def export_json(edges: Iterable[dict[str, Any]]) -> bytes:
    return orjson.dumps({"edges": list(edges)}, option=orjson.OPT_INDENT_2) + b"\n"


def export_graphml(edges: Iterable[dict[str, Any]]) -> bytes:
    """GraphML with confidence, kinds, score, evidence (JSON), times and version per edge."""
    ns = "http://graphml.graphdrawing.org/xmlns"
    root = ET.Element("graphml", xmlns=ns)
    keys = [("confidence", "string"), ("kinds", "string"), ("score", "double"),
            ("evidence", "string"), ("first_seen", "long"), ("last_seen", "long"),
            ("version", "long")]
    for name, kind in keys:
        ET.SubElement(root, "key", id=name, attrib={"for": "edge", "attr.name": name,
                                                    "attr.type": kind})
    graph = ET.SubElement(root, "graph", id="lineage", edgedefault="directed")
    nodes: set[str] = set()
    body = []
    for edge in edges:
        for node in (edge["src"], edge["dst"]):
            if node not in nodes:
                nodes.add(node)
                ET.SubElement(graph, "node", id=node)
        body.append(edge)
    for edge in body:
        element = ET.SubElement(graph, "edge", id=edge["edge_id"], source=edge["src"],
                                target=edge["dst"])
        values = {"confidence": edge["confidence"], "kinds": ",".join(edge["kinds"]),
                  "score": edge.get("score"), "evidence": orjson.dumps(edge.get("evidence") or {}
                                                                     ).decode(),
                  "first_seen": edge.get("first_seen"), "last_seen": edge.get("last_seen"),
                  "version": edge.get("version")}
        for name, _ in keys:
            if values[name] is not None:
                ET.SubElement(element, "data", key=name).text = str(values[name])
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"


def export_parquet(edges: Iterable[dict[str, Any]], out: Path) -> int:
    """One row per live edge; evidence as a JSON string. Returns the number of rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = list(edges)
    schema = pa.schema([
        ("edge_id", pa.string()), ("src", pa.string()), ("dst", pa.string()),
        ("confidence", pa.string()), ("score", pa.float64()), ("kinds", pa.list_(pa.string())),
        ("evidence", pa.string()), ("first_seen", pa.int64()), ("last_seen", pa.int64()),
        ("version", pa.int64()),
    ])
    table = pa.Table.from_pylist([
        {"edge_id": e["edge_id"], "src": e["src"], "dst": e["dst"],
         "confidence": e["confidence"], "score": e.get("score"), "kinds": e["kinds"],
         "evidence": orjson.dumps(e.get("evidence") or {}).decode(),
         "first_seen": e.get("first_seen"), "last_seen": e.get("last_seen"),
         "version": e.get("version")} for e in rows], schema=schema)
    pq.write_table(table, out)
    return len(rows)
