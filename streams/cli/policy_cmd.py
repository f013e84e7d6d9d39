"""`lineage violations`, `lineage review`, `lineage zone`: the policy monitor from outside.

- `violations` reads `policy-violations` (latest event per key) or tails it;
- `review` records a reviewer's decision on the `reviews` topic;
- `zone` computes a policy's zone offline, from the CLI's own graph replica
  (caught up to `lineage-graph`'s end, as `lineage graph` does) and the
  current labels, policies and reviews, and says why each asset is in it;
  with `--simulate-enforce`, the dry run of an enforce mode over the probe
  evidence in Kafka or an archive (`streams.cli.dry_run`).
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
import orjson
from aiokafka.errors import KafkaError
from rich.table import Table

from analyzers.events import InvalidEvent, validate_event
from analyzers.policy import PolicyZones
from streams.cli.common import common_options, fail, kafka_failure, render
from streams.cli.dry_run import (
    open_archive,
    parse_since,
    read_archive,
    read_kafka,
    simulation_table,
    skipped_failure,
)
from streams.cli.graph_cmd import synced_graph
from streams.kafka.producer import make_producer
from streams.kafka.topic_reader import read_latest
from streams.policy.enforcement import TOPIC as ENFORCEMENT_TOPIC
from streams.policy.enforcement import enforcement_decisions
from streams.policy.inputs import (
    INPUT_TOPICS,
    PolicyInput,
    StoreGraphView,
    load_inputs,
    parse_input,
)
from streams.policy.subscriber import TOPIC, SubscriberError, topic_exists, violations
from streams.settings import Settings

FORMAT = click.Choice(["json", "table"])


def _now_ms() -> int:
    return int(time.time() * 1000)


def _write(data: str | bytes) -> None:
    sys.stdout.buffer.write(data.encode() if isinstance(data, str) else data)
    sys.stdout.flush()


def _require_topic(settings: Settings, topic: str) -> None:
    try:
        exists = asyncio.run(topic_exists(settings, topic))
    except SubscriberError as exc:
        raise kafka_failure(settings, exc) from exc
    if not exists:
        raise fail(f"topic {settings.topic(topic)} does not exist "
                   "(no worker has run under this prefix)")


# -- lineage violations ----------------------------------------------------------

def _keep(event: dict[str, Any], policy: str | None, status: str) -> bool:
    return ((policy is None or event.get("policy_id") == policy)
            and (status == "all" or event.get("status") == status))


def violations_table(events: Iterable[dict[str, Any]]) -> str:
    rows = list(events)
    table = Table(title=f"{len(rows)} violations")
    for column in ("status", "policy", "sink", "confidence", "label", "path", "detected_at"):
        table.add_column(column)
    for e in rows:
        table.add_row(str(e.get("status")), str(e.get("policy_id")), str(e.get("sink")),
                      str(e.get("confidence")) + (" (confirmed)" if e.get("confirmed") else ""),
                      str(e.get("label")), " -> ".join(e.get("path") or ()),
                      str(e.get("detected_at")))
    return render(table)


def _line(event: dict[str, Any]) -> str:
    return (f"{event.get('status', '?'):8} {event.get('policy_id')}  {event.get('sink')}  "
            f"[{event.get('confidence')}]  {' -> '.join(event.get('path') or ())}\n")


async def _follow(settings: Settings, *, from_beginning: bool, fmt: str, policy: str | None,
                  status: str, max_events: int | None, timeout_s: float | None) -> None:
    loop = asyncio.get_running_loop()
    deadline = None if timeout_s is None else loop.time() + timeout_s
    seen = 0
    stream = violations(settings, from_beginning=from_beginning)
    async with contextlib.aclosing(stream):
        while max_events is None or seen < max_events:
            wait = None if deadline is None else deadline - loop.time()
            if wait is not None and wait <= 0:
                break
            try:
                event = await asyncio.wait_for(anext(stream), wait)
            except TimeoutError:
                break
            if not _keep(event, policy, status):
                continue
            seen += 1
            _write(orjson.dumps(event) + b"\n" if fmt == "json" else _line(event))




def enforcement_table(rows: Iterable[dict[str, Any]]) -> str:
    rows = list(rows)
    table = Table(title=f"{len(rows)} enforcement decisions (policy, sink, decision)")
    for column in ("decision", "policy", "sink", "kind", "count", "services", "sources",
                   "code locations", "last_ts"):
        table.add_column(column)
    for r in rows:
        table.add_row(str(r["decision"]), str(r["policy_id"]), str(r["sink"]),
                      str(r["sink_kind"]), str(r["count"]), ", ".join(r["services"]),
                      ", ".join(r["sources"]), ", ".join(r["code_locations"]),
                      str(r["last_ts"]))
    return render(table)


def _enforcement(settings: Settings, fmt: str, policy: str | None) -> None:
    """The probes' decisions (`enforcement-events`), summed per policy, sink and decision."""
    _require_topic(settings, ENFORCEMENT_TOPIC)
    try:
        rows = asyncio.run(enforcement_decisions(settings, policy))
    except KafkaError as exc:
        raise fail(f"cannot read {settings.topic(ENFORCEMENT_TOPIC)}: {exc}") from exc
    if fmt == "json":
        _write(orjson.dumps(rows, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        _write(enforcement_table(rows))


@click.command("violations")
@common_options
@click.option("--follow", is_flag=True,
              help="Tail new events (one JSON line each) until Ctrl-C instead of the state.")
@click.option("--format", "fmt", type=FORMAT, default="json", show_default=True)
@click.option("--from-beginning", is_flag=True,
              help="With --follow: start with every retained event, not only new ones.")
@click.option("--policy", default=None, help="Only this policy's violations.")
@click.option("--status", type=click.Choice(["open", "resolved", "all"]), default="all",
              show_default=True, help="Only violations in this state.")
@click.option("--max-events", type=click.IntRange(min=1), default=None,
              help="With --follow: stop after this many events.")
@click.option("--timeout", "timeout_s", type=float, default=None,
              help="With --follow: stop after this many seconds.")
@click.option("--enforcement", is_flag=True,
              help="The probes' enforcement decisions instead (enforcement-events: logged and "
                   "blocked writes per policy, sink and decision, with counts).")
def violations_command(settings: Settings, follow: bool, fmt: str, from_beginning: bool,
                       policy: str | None, status: str, max_events: int | None,
                       timeout_s: float | None, enforcement: bool) -> None:
    """The latest state of every violation key (a JSON array), or a live tail."""
    if enforcement:
        _enforcement(settings, fmt, policy)
        return
    _require_topic(settings, TOPIC)
    if follow:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_follow(settings, from_beginning=from_beginning, fmt=fmt, policy=policy,
                                status=status, max_events=max_events, timeout_s=timeout_s))
        return
    try:
        latest = asyncio.run(read_latest(settings, TOPIC))
    except KafkaError as exc:
        raise fail(f"cannot read {settings.topic(TOPIC)}: {exc}") from exc
    events = []
    for _, value in sorted(latest.items()):
        if value is None:
            continue
        with contextlib.suppress(orjson.JSONDecodeError):
            event = orjson.loads(value)
            if isinstance(event, dict) and _keep(event, policy, status):
                events.append(event)
    if fmt == "json":
        _write(orjson.dumps(events, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        _write(violations_table(events))


# -- lineage review --------------------------------------------------------------

async def _produce(settings: Settings, topic: str, key: bytes, value: bytes | None) -> None:
    producer = make_producer(settings)
    await producer.start()
    try:
        await producer.send_and_wait(settings.topic(topic), value=value, key=key)
    finally:
        await producer.stop()


@click.command("review")
@common_options
@click.argument("decision", type=click.Choice(["include", "exclude", "clear"]))
@click.argument("policy_id")
@click.argument("asset")
@click.option("--reason", default=None, help="Why (kept with the decision).")
@click.option("--reviewer", default=None, help="Who decides (default: the login name).")
def review_command(settings: Settings, decision: str, policy_id: str, asset: str,
                   reason: str | None, reviewer: str | None) -> None:
    """Record a review of ASSET for POLICY_ID: include, exclude, or clear (delete it).

    `exclude` takes ASSET and everything reached only through it out of the
    policy's zone; `include` confirms it; `clear` removes the decision.
    """
    event: dict[str, Any] = {"v": 1, "type": "review", "policy_id": policy_id, "asset": asset,
                             "decision": decision, "ts": _now_ms(),
                             "reviewer": reviewer or _login()}
    if reason:
        event["reason"] = reason
    value: bytes | None = None
    try:
        spec = validate_event({**event, "decision": "include"} if decision == "clear" else event,
                              expected_topic="reviews")
    except InvalidEvent as exc:
        raise fail(exc.reason) from exc
    key = spec.key_of(event).encode()
    if decision != "clear":
        value = orjson.dumps(event)
    _require_topic(settings, "reviews")
    try:
        asyncio.run(_produce(settings, "reviews", key, value))
    except KafkaError as exc:
        raise fail(f"cannot write {settings.topic('reviews')}: {exc}") from exc
    click.echo(f"{decision} {asset} for {policy_id}: recorded", err=True)


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in this environment
        return "unknown"


# -- lineage zone ----------------------------------------------------------------

async def _read_inputs(settings: Settings) -> tuple[list[PolicyInput], int]:
    inputs: list[PolicyInput] = []
    bad = 0
    for topic in INPUT_TOPICS:
        for key, value in (await read_latest(settings, topic)).items():
            try:
                inputs.append(parse_input(topic, key, value, 0))
            except InvalidEvent:
                bad += 1
    return inputs, bad


def zone_json(zones: PolicyZones, policy_id: str, inputs: list[PolicyInput]) -> dict[str, Any]:
    """The zone of `policy_id` with, per asset, its path and the edge of each hop."""
    policy = zones.policies()[policy_id]
    zone = zones.zone(policy_id)
    assert zone is not None
    assets = []
    entries = sorted(zone.snapshot().values(), key=lambda e: (len(e.path), e.asset))
    for entry in entries:
        explained = zones.explain(policy_id, entry.asset)
        hops = [] if explained is None else explained[1]
        assets.append({
            "asset": entry.asset, "source": entry.source, "label": entry.label,
            "path": list(entry.path), "confidence": entry.confidence,
            "confirmed": entry.confirmed, "denied": policy.deny.matches(entry.asset),
            "hops": [{"src": h.src, "dst": h.dst, "edge": f"{h.edge_src} -> {h.edge_dst}",
                      "confidence": h.confidence, "confirmed": h.confirmed} for h in hops],
        })
    reviews = {i.asset: i.value for i in inputs
               if i.kind == "review" and i.policy_id == policy_id and i.value is not None}
    return {"policy_id": policy_id, "protects": sorted(policy.protects),
            "deny": list(policy.deny.patterns), "min_confidence": policy.min_confidence,
            "roots": sorted(zone.roots), "reviews": dict(sorted(reviews.items())),
            "size": len(assets), "assets": assets}


def zone_table(data: dict[str, Any]) -> str:
    table = Table(title=f"zone of {data['policy_id']}: {data['size']} assets "
                        f"(min confidence {data['min_confidence']})")
    for column in ("hops", "asset", "confidence", "reached from", "by edge"):
        table.add_column(column)
    for a in data["assets"]:
        flags = [f for f, on in (("DENIED", a["denied"]), ("confirmed", a["confirmed"])) if on]
        asset = a["asset"] + (f" [{', '.join(flags)}]" if flags else "")
        if a["hops"]:
            hop = a["hops"][-1]
            via, edge = hop["src"], f"{hop['edge']} ({hop['confidence']})"
        else:
            via, edge = "-", f"protected root ({a['label']})"
        table.add_row(str(len(a["path"]) - 1), asset, a["confidence"], via, edge)
    return render(table)


@click.command("zone")
@common_options
@click.argument("policy_id")
@click.option("--format", "fmt", type=FORMAT, default="json", show_default=True)
@click.option("--simulate-enforce", is_flag=True,
              help="Dry run: replay the recorded probe evidence (probe-events) against the "
                   "current zone and report which services, sinks and code locations an "
                   "enforce mode would have blocked, and how often.")
@click.option("--since", default=None,
              help="With --simulate-enforce: only evidence from this time on (epoch ms, ISO "
                   "8601, or an age such as 2h), by the captures' own ts.")
@click.option("--archive", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None,
              help="With --simulate-enforce: read the probe evidence from this archive "
                   "directory (`lineage archive`) instead of Kafka.")
def zone_command(settings: Settings, policy_id: str, fmt: str, simulate_enforce: bool,
                 since: str | None, archive: Path | None) -> None:
    """The current zone of POLICY_ID: every asset, its path from a protected root, and why.

    With --simulate-enforce, the dry run of an enforce mode over the recorded
    probe evidence (probe-events, or an archive of it with --archive DIR).
    """
    if (since is not None or archive is not None) and not simulate_enforce:
        raise fail("--since and --archive need --simulate-enforce")
    since_ms = parse_since(since, _now_ms())
    reader = open_archive(archive) if archive is not None else None
    with synced_graph(settings) as graph:
        try:
            inputs, bad = asyncio.run(_read_inputs(settings))
        except KafkaError as exc:
            raise fail(f"cannot read the policy inputs: {exc}") from exc
        zones = PolicyZones(StoreGraphView(graph), clock=_now_ms)
        load_inputs(zones, inputs)
        zones.rebuild_all(ts=0)
        if policy_id not in zones.policies():
            raise fail(f"no policy {policy_id!r} on {settings.topic('policies')}")
        data = zone_json(zones, policy_id, inputs)
    if bad:
        click.echo(f"{bad} unusable label/policy/review records skipped", err=True)
    if simulate_enforce:
        policy, zone = zones.policies()[policy_id], {a["asset"] for a in data["assets"]}
        data = (read_kafka(settings, policy, zone, since_ms) if reader is None
                else read_archive(reader, policy, zone, since_ms))
        if fmt == "json":
            _write(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
        else:
            _write(simulation_table(data))
        if reader is not None and reader.skipped:
            raise skipped_failure(reader)
        return
    if fmt == "json":
        _write(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        _write(zone_table(data))
