"""`/metrics` of a real worker: behind the token, the documented names, counters that move."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from streams.settings import Settings
from tests.integration.test_topology_example import EXAMPLE, _complete
from tests.integration.worker import running_worker, send_file, wait_for_graph

TOKEN = "metrics-test-token"
NAMES = {
    "lineage_agent_events", "lineage_agent_outputs", "lineage_agent_dead_letters",
    "lineage_agent_handler_seconds", "lineage_probe_captures", "lineage_sql_io_halves",
    "lineage_windows_closed", "lineage_probe_captures_lost", "lineage_probe_windows_lost",
    "lineage_matcher_seconds", "lineage_matcher_bytes", "lineage_matcher_failures",
    "lineage_sql_cache_hits", "lineage_sql_cache_misses", "lineage_sql_cache_hit_ratio",
    "lineage_open_windows", "lineage_state_bytes", "lineage_graph_edges",
    "lineage_graph_replica_lag", "lineage_consumer_lag",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _get(port: int, token: str | None) -> tuple[int, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _scrape(port: int, timeout_s: float = 60.0) -> dict[tuple[str, tuple[tuple[str, str], ...]],
                                                        float]:
    """Every sample by (name, labels), once the endpoint answers."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            status, text = _get(port, TOKEN)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    assert status == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
           **labels: str) -> float:
    return sum(v for (n, ls), v in samples.items()
               if n == name and all((k, labels[k]) in ls for k in labels))


def _lag_groups(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> set[str]:
    return {dict(ls)["group"] for n, ls in samples if n == "lineage_consumer_lag"}


def _sampled(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float],
             settings: Settings) -> bool:
    return (_value(samples, "lineage_graph_edges") > 0
            and _lag_groups(samples) == set(settings.consumer_groups))


def test_metrics_endpoint_of_a_real_worker(settings: Settings) -> None:
    port = _free_port()
    with running_worker(settings, args=["--metrics-port", str(port), "--api-token", TOKEN]):
        before = _scrape(port)
        assert _get(port, None)[0] == 401
        assert _get(port, "wrong")[0] == 401
        assert send_file(settings, EXAMPLE).returncode == 0
        wait_for_graph(settings, _complete)
        deadline = time.monotonic() + 30
        after = _scrape(port)
        while not _sampled(after, settings) and time.monotonic() < deadline:
            time.sleep(1)  # the replica and the lag sampler follow within seconds
            after = _scrape(port)

    names = {name.removesuffix("_total").removesuffix("_count").removesuffix("_sum")
             for name, _ in after}
    assert names >= NAMES, sorted(NAMES - names)
    for agent in ("probe-join", "sql-analysis", "config-parsing", "edge-merge"):
        assert (_value(after, "lineage_agent_events_total", agent=agent)
                > _value(before, "lineage_agent_events_total", agent=agent)), agent
        assert _value(after, "lineage_agent_handler_seconds_count", agent=agent) > 0, agent
    assert _value(after, "lineage_probe_captures_total", admission="stored") > 0
    assert _value(after, "lineage_matcher_bytes_total") > 0
    assert _value(after, "lineage_sql_cache_misses_total") > 0
    assert _value(after, "lineage_state_bytes", agent="probe-join") > 0
    assert _value(after, "lineage_graph_edges") > 0
    assert _lag_groups(after) == set(settings.consumer_groups)
    label_values = " ".join(v for _, labels in after for _, v in labels)
    assert "Main St" not in label_values  # a payload value of the example
