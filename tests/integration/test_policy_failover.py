"""The policy monitor's leader is SIGKILLed: the other worker takes the lead and emits.

Two workers run the example; once its violations are open, the leading
worker is killed and a reviewer excludes the node every path crosses. The
survivor must become the leader and resolve both violations, each key sent
open once and resolved once. The time from the kill to the first resolution
is how long violations stop on a leader's death (printed, not asserted:
docs/RELIABILITY.md has the figure).
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from dataclasses import replace

from streams.settings import Settings
from tests.integration.test_policy_violations import (
    CUT,
    EXAMPLE,
    KEYS,
    POLICY,
    _events,
    _lineage,
    _wait_for_log,
    _wait_violations,
)
from tests.integration.worker import send_file, start_worker, stop_worker


def _leads(settings: Settings) -> bool:
    """Whether the worker's last policy monitor line says it leads."""
    lines = [line for line in (settings.data_dir / "worker.log").read_text().splitlines()
             if "policy monitor leading" in line or "policy monitor standing by" in line]
    return bool(lines) and "leading" in lines[-1]


def test_a_new_leader_emits_after_the_leader_dies(settings: Settings) -> None:
    dirs = {name: replace(settings, data_dir=settings.data_dir / name) for name in ("a", "b")}
    workers = {name: start_worker(s) for name, s in dirs.items()}
    try:
        assert _wait_for_log(dirs["b"].data_dir / "worker.log", "batch consumer assigned")
        assert send_file(settings, EXAMPLE).returncode == 0
        latest = _wait_violations(settings, lambda v: set(v) >= KEYS, timeout_s=120)
        assert set(latest) == KEYS
        leader = next(name for name, s in dirs.items() if _leads(s))
        survivor = "b" if leader == "a" else "a"

        stop_worker(workers[leader], signal.SIGKILL)
        killed_at = time.monotonic()
        review = _lineage(settings, "review", "exclude", POLICY, CUT, "--reason", "aggregated")
        assert review.returncode == 0, review.stderr
        latest = _wait_violations(
            settings, lambda v: any(e["status"] == "resolved" for e in v.values()),
            timeout_s=120)
        print(f"violations stopped for {time.monotonic() - killed_at:.1f} s after the "
              "leader's SIGKILL")
        latest = _wait_violations(
            settings, lambda v: all(e["status"] == "resolved" for e in v.values()))
    finally:
        for proc in workers.values():
            stop_worker(proc, signal.SIGKILL)

    assert _leads(dirs[survivor])
    assert set(latest) == KEYS and all(e["status"] == "resolved" for e in latest.values())
    sent = Counter((f"{e['policy_id']}|{e['sink']}", e["status"]) for e in _events(settings))
    assert sent == Counter({(key, status): 1 for key in KEYS for status in ("open", "resolved")})
