"""`Deferred`: what a read or a write carries is built only when a decision needs it.

The hooks hand the enforcer their payloads as `Deferred` (route inputs, a
consumed message, a cache read or write, an outbound call's body, a log
record); these tests hold the enforcer to building each at most once, and
never for a decision that does not look at the values.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from lineage_probes.config import ProbeConfig
from lineage_probes.context import Trace
from lineage_probes.emitter import MemoryEmitter
from lineage_probes.enforcement import Enforcer, FlowBlocked
from lineage_probes.enforcement.enforcer import UNKNOWN, Deferred
from lineage_probes.enforcement.feed import StaticZones
from lineage_probes.enforcement.index import ZoneState

CITY = "Valparaiso-4711"
SINK = "kafka://local/ads"


class Counted:
    """A payload maker that counts its calls."""

    def __init__(self, value: Any) -> None:
        self.value = value
        self.calls = 0

    def __call__(self) -> Any:
        self.calls += 1
        return self.value


def _enforcer(*policies: tuple[str, str, str], emitter: MemoryEmitter | None = None
              ) -> Enforcer:
    """Policies as (id, match, zone member), each denying `SINK` in enforce mode."""
    state = ZoneState()
    for policy_id, match, member in policies:
        state.apply_policy(policy_id.encode(), json.dumps({
            "policy_id": policy_id, "mode": "enforce", "match": match,
            "deny": [SINK]}).encode())
        state.apply_member(f"{policy_id}|{member}".encode(), b'{"state":"root"}')
    return Enforcer(ProbeConfig(service="svc"), StaticZones(state), emitter or MemoryEmitter())


def _trace() -> Trace:
    return Trace("cd" * 16, False)


def test_a_read_judged_at_request_level_never_builds_its_payload() -> None:
    enforcer = _enforcer(("loc", "request", "web://svc/where#city"))
    trace, made = _trace(), Counted({"city": CITY})
    enforcer.on_payload(trace, "web://svc/where", Deferred(made))
    assert made.calls == 0
    assert trace.taint == {"loc": "web://svc/where#city"}


def test_a_read_two_precise_policies_judge_builds_its_payload_once() -> None:
    enforcer = _enforcer(("loc", "value", "web://svc/where#city"),
                         ("geo", "value", "web://svc/where#city"))
    trace, made = _trace(), Counted({"city": CITY, "note": "x"})
    enforcer.on_payload(trace, "web://svc/where", Deferred(made))
    assert made.calls == 1
    assert set(trace.taint or {}) == {"loc", "geo"}
    assert trace.values is not None and set(trace.values) == {"loc", "geo"}


def test_a_precise_read_without_zone_values_taints_nothing() -> None:
    enforcer = _enforcer(("loc", "value", "web://svc/where#city"))
    trace = _trace()
    enforcer.on_payload(trace, "web://svc/where", Deferred(Counted({"note": "x"})))
    assert not trace.taint


@pytest.mark.parametrize("read", [UNKNOWN, Deferred(lambda: UNKNOWN),
                                  Deferred(lambda: 1 / 0)],
                         ids=["unknown", "deferred-unknown", "deferred-failing"])
def test_a_precise_read_whose_values_cannot_be_seen_taints_at_request_level(read: Any) -> None:
    enforcer = _enforcer(("loc", "value", "web://svc/where#city"))
    trace = _trace()
    enforcer.on_payload(trace, "web://svc/where", read)
    assert trace.taint == {"loc": "web://svc/where#city"}
    assert not trace.values  # request level: no values kept for `loc`


def test_a_sink_payload_is_built_only_for_a_precise_decision_and_once() -> None:
    enforcer = _enforcer(("loc", "value", "web://svc/where#city"))
    untainted, made = _trace(), Counted([CITY])
    enforcer.check_sink(untainted, SINK, "kafka", payload=Deferred(made))
    assert made.calls == 0  # untainted: no decision looks at the values

    trace = _trace()
    enforcer.on_payload(trace, "web://svc/where", {"city": CITY})
    other = Counted(["nothing read"])
    enforcer.check_sink(trace, "kafka://local/other", "kafka", payload=Deferred(other))
    assert other.calls == 0  # no policy denies that sink

    with pytest.raises(FlowBlocked):
        enforcer.check_sink(trace, SINK, "kafka", payload=Deferred(made))
    assert made.calls == 1
    harmless = Counted(["generic"])
    enforcer.check_sink(trace, SINK, "kafka", payload=Deferred(harmless))
    assert harmless.calls == 1  # precise: judged by the values, and they carry none


def test_a_code_location_is_built_only_when_an_event_is_recorded() -> None:
    emitter = MemoryEmitter()
    enforcer = _enforcer(("loc", "request", "web://svc/where#city"), emitter=emitter)
    where = Counted("app.py:12")
    enforcer.check_sink(_trace(), SINK, "kafka", code_location=Deferred(where))
    assert where.calls == 0
    trace = _trace()
    enforcer.on_payload(trace, "web://svc/where", UNKNOWN)
    with pytest.raises(FlowBlocked):
        enforcer.check_sink(trace, SINK, "kafka", code_location=Deferred(where))
    assert where.calls == 1
    sent = [json.loads(value) for _, _, value in emitter.other]
    assert [e["code_location"] for e in sent] == ["app.py:12"]
