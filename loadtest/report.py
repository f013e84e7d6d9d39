"""The load test's report: JSON, a table, and PNG plots of rate and lag."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import orjson

HEADLINE = ("sustained_events_per_s", "p50_latency_ms", "p99_latency_ms", "max_lag",
            "precision", "recall", "dead_letters", "events_sent", "drained", "workers",
            "target_rate", "driver_cpu_s", "workers_cpu_s", "events_per_worker_cpu_s")


def write_report(result: dict[str, Any], out: Path) -> list[Path]:
    """report.json plus rate.png and lag.png when matplotlib is installed."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "report.json"]
    written[0].write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return written
    series = result["series"]
    sent = series["sent"]
    if len(sent) > 1:
        times = [t for t, _ in sent[1:]]
        rates = [(n1 - n0) / max(t1 - t0, 1e-6)
                 for (t0, n0), (t1, n1) in itertools.pairwise(sent)]
        fig, ax = plt.subplots(figsize=(7, 3))
        ax.plot(times, rates)
        ax.set_xlabel("seconds")
        ax.set_ylabel("events/s sent")
        ax.set_title(f"send rate (target {result['target_rate']}/s)")
        fig.tight_layout()
        fig.savefig(out / "rate.png")
        plt.close(fig)
        written.append(out / "rate.png")
    if series["lag"]:
        fig, ax = plt.subplots(figsize=(7, 3))
        ax.plot([t for t, _ in series["lag"]], [lag for _, lag in series["lag"]])
        ax.set_xlabel("seconds")
        ax.set_ylabel("consumer lag (messages)")
        ax.set_title("pipeline lag")
        fig.tight_layout()
        fig.savefig(out / "lag.png")
        plt.close(fig)
        written.append(out / "lag.png")
    return written


def headline(result: dict[str, Any]) -> dict[str, Any]:
    return {key: result[key] for key in HEADLINE if key in result}
