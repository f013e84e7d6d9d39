"""The zone page's answers: a policy's zone coloured by state, a cascade preview, exports.

Pure functions of the graph and a `PolicyState` (run them in a thread: a
zone is a breadth-first search over the graph). What is drawn is bounded
(`limit` nodes: the roots, then the paths to denied assets, then the
nearest others); the table of members is bounded too (`rows`), and the page
says how many were left out.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import Any

from analyzers.policy import Policy, ZoneEntry, compute_zone, edges_from, glob_to_regex
from analyzers.policy.cascade import excluded_assets, member_state, preview
from state.graph import GraphStore
from state.graph.neighbourhood import namespace_of
from streams.console.policy_state import PolicyState
from streams.policy.inputs import StoreGraphView

_STATE_ORDER = {"root": 0, "denied": 1, "reached": 2, "included": 3, "excluded": 4}


class ZoneQueryError(ValueError):
    """A zone request that cannot be answered (unknown policy, bad selection)."""


def _policy(state: PolicyState, policy_id: str) -> Policy:
    policy = state.policies.get(policy_id)
    if policy is None:
        raise ZoneQueryError(f"no policy {policy_id!r}")
    return policy


def policies_json(state: PolicyState) -> list[dict[str, Any]]:
    return [{"policy_id": p.policy_id, "protects": sorted(p.protects),
             "deny": list(p.deny.patterns), "min_confidence": p.min_confidence,
             "reviews": len(state.reviews.get(p.policy_id, {}))}
            for p in sorted(state.policies.values(), key=lambda p: p.policy_id)]


def _matcher(query: str) -> Any:
    query = query.strip()
    if not query:
        return lambda name: True
    if "*" in query:
        pattern = re.compile(glob_to_regex(query))
        return lambda name: pattern.fullmatch(name) is not None
    needle = query.casefold()
    return lambda name: needle in name.casefold()


def _member(entry: ZoneEntry | None, asset: str, state: str,
            review: dict[str, Any] | None) -> dict[str, Any]:
    row: dict[str, Any] = {"id": asset, "state": state, "namespace": namespace_of(asset)}
    if entry is not None:
        row.update(hops=len(entry.path) - 1, confidence=entry.confidence, label=entry.label,
                   source=entry.source, parent=entry.path[-2] if len(entry.path) > 1 else None)
    if review is not None:
        row["review"] = {k: review.get(k) for k in ("decision", "reviewer", "reason", "ts")}
    return row


def zone_json(graph: GraphStore, state: PolicyState, policy_id: str, *,
              limit: int = 300, rows: int = 1000, query: str = "") -> dict[str, Any]:
    """The zone of `policy_id`: drawn nodes and edges, counts by state, member rows."""
    policy = _policy(state, policy_id)
    view = StoreGraphView(graph)
    reviews = state.decisions(policy_id)
    zone = compute_zone(view, policy, state.labels, reviews)
    review_events = state.reviews.get(policy_id, {})
    entries = zone.snapshot()
    states = {a: member_state(zone, policy, a) for a in entries}
    excluded = [a for a in excluded_assets(reviews) if a not in entries]
    counts = {s: 0 for s in _STATE_ORDER}
    for s in states.values():
        counts[s] += 1
    counts["excluded"] = len(excluded)

    # What to draw: roots, the paths to denied assets, then the nearest others.
    order: dict[str, None] = dict.fromkeys(sorted(zone.roots))
    for asset in sorted(a for a, s in states.items() if s == "denied"):
        order.update(dict.fromkeys(entries[asset].path))
    for entry in sorted(entries.values(), key=lambda e: (len(e.path), e.asset)):
        order.setdefault(entry.asset)
    drawn = list(order)[:limit]
    drawn_set = set(drawn)
    nodes = [_member(entries[a], a, states[a], review_events.get(a)) for a in drawn]
    edges = []
    for asset in drawn:
        path = entries[asset].path
        if len(path) > 1 and path[-2] in drawn_set:
            edges.append({"src": path[-2], "dst": asset, "kind": "zone"})
    excluded_set = set(excluded)
    shown_excluded: dict[str, None] = {}
    for asset in drawn:  # the edges a reviewer cut: into excluded assets
        for edge in edges_from(view, asset):
            if edge.dst in excluded_set or (edge.dst.partition("#")[0] in excluded_set
                                            and edge.dst not in entries):
                shown_excluded.setdefault(edge.dst)
                edges.append({"src": asset, "dst": edge.dst, "kind": "excluded"})
    for asset in shown_excluded:
        nodes.append(_member(None, asset, "excluded", review_events.get(asset)
                             or review_events.get(asset.partition("#")[0])))

    match = _matcher(query)
    members = [(states[a], entries[a]) for a in entries if match(a)]
    members.sort(key=lambda m: (_STATE_ORDER[m[0]], len(m[1].path), m[1].asset))
    table = [_member(e, e.asset, s, review_events.get(e.asset)) for s, e in members[:rows]]
    excluded_rows = [a for a in excluded if match(a)]
    table += [_member(None, a, "excluded", review_events.get(a))
              for a in excluded_rows[:max(0, rows - len(table))]]
    return {
        "policy": policies_json(PolicyState(policies={policy_id: policy},
                                            reviews={policy_id: review_events}))[0],
        "counts": counts, "size": len(entries),
        "nodes": nodes, "edges": edges, "hidden": len(entries) - len(drawn),
        "rows": table, "rows_total": len(members) + len(excluded_rows),
    }


def preview_json(graph: GraphStore, state: PolicyState, policy_id: str, decision: str,
                 assets: Iterable[str]) -> dict[str, Any]:
    """What recording `decision` (include, exclude, clear) on `assets` would do."""
    policy = _policy(state, policy_id)
    chosen = sorted(set(assets))
    if not chosen:
        raise ZoneQueryError("select at least one asset")
    if decision not in ("include", "exclude", "clear"):
        raise ZoneQueryError("decision must be include, exclude or clear")
    value = None if decision == "clear" else decision
    changes = dict.fromkeys(chosen, value)
    cascade = preview(StoreGraphView(graph), policy, state.labels,
                      state.decisions(policy_id), changes)  # type: ignore[arg-type]
    verb = {"exclude": "excluding", "include": "including", "clear": "clearing"}[decision]
    these = f"{'this' if len(chosen) == 1 else 'these'} {len(chosen)}"
    message = (f"{verb} {these} removes {len(cascade.removed)} downstream assets from the zone"
               f" and adds {len(cascade.added)}; resolves {len(cascade.resolved)} violations,"
               f" opens {len(cascade.opened)}")
    return {"policy_id": policy_id, "decision": decision, "assets": chosen,
            "in_zone": list(cascade.selected), "removed": len(cascade.removed),
            "added": len(cascade.added), "removed_sample": cascade.removed[:50],
            "added_sample": cascade.added[:50], "resolved": cascade.resolved,
            "opened": cascade.opened, "zone_before": len(cascade.before),
            "zone_after": len(cascade.after), "message": message}


DECISION_COLUMNS = ("policy_id", "asset", "decision", "reviewer", "reason", "ts")
FIX_COLUMNS = ("policy_id", "sink", "label", "source", "confidence", "confirmed", "path")


def export_rows(graph: GraphStore, state: PolicyState,
                policy_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The policy's decisions, and the assets to fix (denied assets in its zone, with paths)."""
    policy = _policy(state, policy_id)
    decisions = [{"policy_id": policy_id, "asset": asset, "decision": e.get("decision"),
                  "reviewer": e.get("reviewer"), "reason": e.get("reason"), "ts": e.get("ts")}
                 for asset, e in sorted(state.reviews.get(policy_id, {}).items())]
    zone = compute_zone(StoreGraphView(graph), policy, state.labels, state.decisions(policy_id))
    to_fix = []
    for asset, entry in sorted(zone.snapshot().items()):
        if member_state(zone, policy, asset) == "denied" or (
                asset in zone.roots and policy.deny.matches(asset)):
            to_fix.append({"policy_id": policy_id, "sink": asset, "label": entry.label,
                           "source": entry.source, "confidence": entry.confidence,
                           "confirmed": entry.confirmed, "path": list(entry.path)})
    return decisions, to_fix


def to_csv(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    """Rows as CSV; a list (a path) joined with ` -> `; formula-like cells defused."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in columns})
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = " -> ".join(value) if isinstance(value, list) else str(value)
    # A spreadsheet runs a cell starting with = + - @ as a formula: asset
    # names and reasons are data, so quote them out of that.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
