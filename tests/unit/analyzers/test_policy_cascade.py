"""The cascade preview and member states: what a reviewer sees before deciding."""

from __future__ import annotations

from analyzers.policy import Edge, MemoryGraph, Policy, compute_zone
from analyzers.policy.cascade import member_state, preview


def _graph(*edges: tuple[str, str, str]) -> MemoryGraph:
    graph = MemoryGraph()
    for src, dst, confidence in edges:
        graph.upsert(Edge(src, dst, confidence))
    return graph


POLICY = Policy.create("p", ["L"], ["ads/*"], "medium")
LABELS = {"web#loc": ["L"]}


def test_exclusion_cascades_except_where_a_diamond_keeps_another_branch() -> None:
    graph = _graph(("web#loc", "a", "high"), ("web#loc", "b", "high"), ("a", "c", "high"),
                   ("b", "c", "high"), ("a", "d", "high"), ("d", "ads/x", "high"))
    cascade = preview(graph, POLICY, LABELS, {}, {"a": "exclude"})
    assert cascade.selected == ("a",)
    assert cascade.removed == ["ads/x", "d"]  # c stays: b still reaches it
    assert cascade.resolved == ["ads/x"] and cascade.opened == [] and cascade.added == []
    assert len(cascade.before) == 6 and len(cascade.after) == 3


def test_inclusion_confirms_a_weak_edge_and_clearing_undoes_a_review() -> None:
    graph = _graph(("web#loc", "a", "low"), ("a", "ads/x", "high"))
    cascade = preview(graph, POLICY, LABELS, {}, {"a": "include"})
    assert cascade.added == ["a", "ads/x"] and cascade.opened == ["ads/x"]
    cascade = preview(graph, POLICY, LABELS, {"a": "include"}, {"a": None})
    assert cascade.removed == ["ads/x"] and cascade.resolved == ["ads/x"]


def test_member_states() -> None:
    graph = _graph(("web#loc", "a", "high"), ("a", "ads/x", "high"), ("web#loc", "b", "high"))
    zone = compute_zone(graph, POLICY, LABELS, {"a": "include", "b": "exclude"})
    assert [member_state(zone, POLICY, n) for n in ("web#loc", "a", "ads/x", "b")] == [
        "root", "included", "denied", "excluded"]
