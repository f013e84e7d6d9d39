from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from lineage_probes import counters
from lineage_probes.config import ProbeConfig
from lineage_probes.emitter import KafkaEmitter

LAUNCHER = str(Path(sys.executable).parent / "lineage-probe")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_kafka_down_drops_and_counts_with_a_bounded_queue() -> None:
    counters.reset()
    cfg = ProbeConfig(service="t", bootstrap_servers=f"127.0.0.1:{closed_port()}",
                      queue_messages=100)
    emitter = KafkaEmitter(cfg)
    for n in range(1000):
        emitter.send(b"k", b'{"n": %d}' % n)  # never blocks, never raises
    counts = counters.snapshot()
    assert counts["queued"] == 100
    assert counts["dropped_queue_full"] == 900
    emitter.close(timeout=0.2)
    assert counters.snapshot()["dropped_at_close"] == 100


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    base["KAFKA_BOOTSTRAP_SERVERS"] = f"127.0.0.1:{closed_port()}"
    base["LINEAGE_PROBE_ENFORCE_WAIT_S"] = "0"  # no broker: do not wait for policy zones
    return subprocess.run([LAUNCHER, *args], capture_output=True, text=True, timeout=60,
                          env={**base, **(env or {})}, check=False)


SHOW = ("import json, sqlite3, lineage_probes as p; c = p.active_config(); "
        "print(json.dumps(c and [c.service, c.sample_rate, c.topic, "
        "sqlite3.connect.__module__]))")


def test_launcher_starts_the_probes_in_the_command() -> None:
    done = _run("run", "--service", "photos-web", "--sample-rate", "0.5", "--topic-prefix",
                "x-", "--", sys.executable, "-c", SHOW)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == ["photos-web", 0.5, "x-probe-events",
                                       "lineage_probes.hooks.sqlite3_hook"]


def test_launcher_respects_disabled() -> None:
    done = _run("run", "--service", "s", "--", sys.executable, "-c", SHOW,
                env={"LINEAGE_PROBE_DISABLED": "true"})
    assert done.returncode == 0 and json.loads(done.stdout) is None


def test_launcher_errors_are_one_line() -> None:
    assert "--service" in _run("run", "--help").stdout
    done = _run("run", "--service", "s")
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0
    done = _run("run", "--", "/nonexistent/cmd")
    assert done.returncode == 127 and "cannot run" in done.stderr
    done = _run("run", "--service", "s", "--", sys.executable, "-c", "print('ok')",
                env={"LINEAGE_PROBE_SAMPLE_RATE": "7"})
    assert done.stdout.strip() == "ok" and "not started" in done.stderr


def test_launcher_sets_enforcement() -> None:
    show = ("import json, lineage_probes as p; c = p.active_config(); "
            "print(json.dumps([c.enforce, c.enforce_fail]))")
    done = _run("run", "--service", "s", "--", sys.executable, "-c", show)
    assert json.loads(done.stdout) == [True, "fail_open"]
    done = _run("run", "--service", "s", "--no-enforce", "--enforce-fail", "fail_closed", "--",
                sys.executable, "-c", show)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [False, "fail_closed"]
