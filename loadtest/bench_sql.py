"""SQL analyzer benchmark: cold TPC-DS and a repetitive log stream, against peers.

Run: ``python -m loadtest.bench_sql --json`` (peers need the ``bench`` extra).

(a) *cold*: the 99 TPC-DS queries shipped by the sqllineage package, each
    analysed uncached, with full column lineage and kinds; ``--cold-passes``
    passes over the 99 (the machine is shared: the median pass is reported,
    with the first and the fastest). The schema is derived from TPC-DS's
    column prefixes (``ss_`` -> store_sales, ...) so that unqualified columns
    of comma joins resolve.
(b) *stream*: N statements (default 100k) where 95% repeat an earlier one
    verbatim and 5% are new, by a rule fixed before measuring (see
    :func:`make_stream`): half are a job's next run with new literal values
    (TPC-DS reports with re-drawn parameters, ETL jobs with a new date/id),
    half are new jobs (a TPC-DS report or an ETL template writing or reading
    fresh tables), each half split evenly between reports and ETL. Our
    analyzer goes through :class:`SqlAnalyzer` (text, fingerprint and template
    cache; ``stream_cache`` counts its hits, template hits and misses), a fresh
    one per run (``--stream-runs``, median reported); peers parse every
    statement (they have no cache), timed on a sample and reported as a rate.

(c) *log file*: the first ``--log-size`` statements (default 20k) of a stream
    built by the same rule, written as a JSON-lines query log and run through
    the command line, ``lineage analyze-sql --log FILE`` in a subprocess (its
    wall time includes starting Python and importing the CLI; an empty log is
    timed too, for that fixed cost), against openlineage-sql parsing every
    statement of the same file in this process, in the same run. The CLI runs
    with its default (one process), with ``--jobs 2`` and warm (``--cache``,
    filled by one run before: its own figure, the cold one is the goal's),
    alternated; its CPU seconds count every process of a run. ``--base-tree``
    adds another checkout's CLI (main), interleaved, for an A/B. The *next* log
    (the stream's next N statements: repeats, reruns and new jobs) runs cold and
    with the cache the first log left (a day's log after the day before's).

Times are wall clock; the ``*_cpu_*`` figures are the process's CPU time, which
other jobs on a shared machine disturb much less (compare those across runs).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from analyzers.sql import SqlAnalyzer
from analyzers.sql.naming import normalize_schema
from analyzers.sql.script import analyze_script
from loadtest.measure import print_figures

ENGINE = "spark"
NS = "hive://warehouse"

TPCDS_PREFIXES = {
    "ss": "store_sales", "sr": "store_returns", "cs": "catalog_sales", "cr": "catalog_returns",
    "ws": "web_sales", "wr": "web_returns", "inv": "inventory", "s": "store",
    "cc": "call_center", "cp": "catalog_page", "wp": "web_page", "web": "web_site",
    "w": "warehouse", "c": "customer", "ca": "customer_address",
    "cd": "customer_demographics", "hd": "household_demographics", "ib": "income_band",
    "i": "item", "p": "promotion", "r": "reason", "sm": "ship_mode", "d": "date_dim",
    "t": "time_dim",
}  # fmt: skip


def tpcds_queries() -> list[str]:
    import sqllineage

    root = Path(sqllineage.__file__).parent / "data" / "tpcds"
    return [p.read_text() for p in sorted(root.glob("query*.sql"))]


def tpcds_schema(queries: list[str]) -> dict[str, list[str]]:
    """Columns named in the queries, assigned to tables by TPC-DS's prefix convention."""
    schema: dict[str, set[str]] = {}
    for word in set(re.findall(r"\b([a-z]+_[a-z0-9_]+)\b", "\n".join(queries).lower())):
        prefix = word.split("_", 1)[0]
        table = TPCDS_PREFIXES.get(prefix)
        if table:
            schema.setdefault(f"default.{table}", set()).add(word)
    return {k: sorted(v) for k, v in schema.items()}


def _time(fn: Callable[[str], Any], items: list[str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of this process, failures) of ``fn`` over ``items``."""
    failures = 0
    c0 = time.process_time()
    t0 = time.perf_counter()
    for q in items:
        try:
            fn(q)
        except Exception:
            failures += 1
    return time.perf_counter() - t0, time.process_time() - c0, failures


def _peers() -> dict[str, Callable[[str], Any]]:
    peers: dict[str, Callable[[str], Any]] = {}
    try:
        import openlineage_sql

        peers["openlineage_sql"] = lambda q: openlineage_sql.parse([q], "hive", "default")
    except ImportError:
        pass
    try:
        from sqllineage.runner import LineageRunner

        def run_sqllineage(q: str) -> Any:
            return LineageRunner(q, dialect="sparksql").get_column_lineage()

        peers["sqllineage"] = run_sqllineage
    except ImportError:
        pass
    return peers


ETL = [
    "INSERT OVERWRITE TABLE warehouse.{t}_daily PARTITION (dt='{d}') "
    "SELECT user_id, md5(email) AS email_hash, location, COUNT(*) AS n "
    "FROM logs.{t}_events WHERE dt = '{d}' AND id > {n} GROUP BY user_id, email, location",
    "INSERT INTO analytics.{t}_agg SELECT c.country, SUM(o.amount) AS total "
    "FROM db.{t}_orders o JOIN db.customers c ON o.cid = c.id WHERE o.ts >= '{d}' "
    "GROUP BY c.country",
    "SELECT get_json_object(payload, '$.location') AS loc, user_id FROM logs.{t}_raw "
    "WHERE dt = '{d}' LIMIT 100",
]


# The stream's rule, fixed before any measurement (see the module docstring).
NEW_KINDS = ("report_rerun", "etl_rerun", "report_new_job", "etl_new_job")
_BIG_INT = re.compile(r"(?<![\w.])\d{3,}(?![\w.])")
_INSERT_INTO = re.compile(r"(?i)\b(insert\s+into\s+)(\w+)")


def _shift_ints(sql: str, offset: int) -> str:
    return _BIG_INT.sub(lambda m: str(int(m.group(0)) + offset), sql)


def _day(rng: random.Random) -> str:
    return f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def make_stream(
    n: int, queries: list[str], seed: int = 7, repeat: float = 0.95
) -> tuple[list[str], dict[str, int]]:
    """``n`` statements, ``repeat`` of them verbatim repeats of an earlier one.

    Each new statement is, with equal probability (``NEW_KINDS``):

    - ``report_rerun``: a TPC-DS report's next run, qgen style: a new run-tag
      comment and every integer literal of 3+ digits (years, month sequences,
      ids, limits) shifted by one offset drawn from 1..9;
    - ``etl_rerun``: one of 40 ETL jobs (3 templates) with a new date and id;
    - ``report_new_job``: a new job: a TPC-DS report written to a fresh table;
    - ``etl_new_job``: a new job: an ETL template on fresh table names.

    Returns the stream and the count of each kind (and of distinct texts).
    """
    rng = random.Random(seed)
    seen: list[str] = []
    stream: list[str] = []
    counts = dict.fromkeys(NEW_KINDS, 0)
    for _ in range(n):
        if seen and rng.random() < repeat:
            stream.append(rng.choice(seen))
            continue
        kind = rng.choice(NEW_KINDS)
        counts[kind] += 1
        if kind == "report_rerun":
            body = _shift_ints(rng.choice(queries), rng.randint(1, 9))
            q = f"/* run {len(seen)} */ {body}"
        elif kind == "etl_rerun":
            job = f"job{rng.randint(0, 39)}"
            q = rng.choice(ETL).format(t=job, d=_day(rng), n=rng.randint(0, 99999))
        elif kind == "report_new_job":
            q = _INSERT_INTO.sub(rf"\1\2_job{counts[kind]}", rng.choice(queries))
        else:
            q = rng.choice(ETL).format(t=f"new{counts[kind]}", d=_day(rng), n=1)
        seen.append(q)
        stream.append(q)
    counts["distinct_texts"] = len(set(seen))
    return stream, counts


def run(
    stream_size: int,
    sqllineage_subset: int,
    peer_sample: int,
    cold_passes: int = 5,
    stream_runs: int = 3,
) -> dict[str, Any]:
    queries = tpcds_queries()
    schema = tpcds_schema(queries)
    out: dict[str, Any] = {"tpcds_queries": len(queries)}

    normalized = normalize_schema(schema, "default")

    def ours(q: str) -> Any:
        r = analyze_script(
            q, engine=ENGINE, namespace=NS, default_schema="default", schema=normalized
        )
        if r.errors:
            raise RuntimeError(r.errors[0].message)
        return r

    for q in queries[:5]:  # warm up imports and dialect tables
        ours(q)
    passes = []
    cpu_passes = []
    fails = 0
    for _ in range(max(1, cold_passes)):
        secs, cpu, fails = _time(ours, queries)
        passes.append(secs * 1e3 / len(queries))
        cpu_passes.append(cpu * 1e3 / len(queries))
    out["cold_ms_per_query"] = round(statistics.median(passes), 3)
    out["cold_ms_per_query_first_pass"] = round(passes[0], 3)
    out["cold_ms_per_query_fastest_pass"] = round(min(passes), 3)
    out["cold_cpu_ms_per_query"] = round(statistics.median(cpu_passes), 3)
    out["cold_passes"] = len(passes)
    out["cold_failures"] = fails
    edges = sum(len(c.sources) for q in queries for s in ours(q).statements for c in s.columns)
    out["cold_column_edges"] = edges
    peers = _peers()
    for name, fn in peers.items():
        subset = queries if name != "sqllineage" else queries[:sqllineage_subset]
        secs, cpu, fails = _time(fn, subset)
        out[f"{name}_cold_ms_per_query"] = round(secs * 1e3 / len(subset), 3)
        out[f"{name}_cold_cpu_ms_per_query"] = round(cpu * 1e3 / len(subset), 3)
        out[f"{name}_cold_queries"] = len(subset)
        out[f"{name}_cold_failures"] = fails

    stream, counts = make_stream(stream_size, queries)
    out["stream_statements"] = len(stream)
    out["stream_distinct_texts"] = counts.pop("distinct_texts")
    out["stream_new_statements"] = counts
    rates = []
    cpu_rates = []
    for _ in range(max(1, stream_runs)):
        analyzer = SqlAnalyzer(
            engine=ENGINE, namespace=NS, default_schema="default", schema=schema, maxsize=20_000
        )
        secs, cpu, _ = _time(analyzer.analyze, stream)
        rates.append(len(stream) / secs)
        cpu_rates.append(len(stream) / cpu)
    out["stream_statements_per_s"] = round(statistics.median(rates))
    out["stream_statements_per_s_runs"] = [round(r) for r in rates]
    out["stream_cpu_statements_per_s"] = round(statistics.median(cpu_rates))
    out["stream_cache"] = analyzer.stats()
    for name, fn in peers.items():
        size = peer_sample if name != "sqllineage" else min(peer_sample, sqllineage_subset * 10)
        sample = stream[:size]
        secs, cpu, _ = _time(fn, sample)
        out[f"{name}_stream_statements_per_s"] = round(len(sample) / secs)
        out[f"{name}_stream_cpu_statements_per_s"] = round(len(sample) / cpu)
        out[f"{name}_stream_sample"] = len(sample)
    ol = out.get("openlineage_sql_stream_statements_per_s")
    if ol:
        out["stream_speedup_vs_openlineage_sql"] = round(out["stream_statements_per_s"] / ol, 1)
        ol_cpu = out["openlineage_sql_stream_cpu_statements_per_s"]
        out["stream_cpu_speedup_vs_openlineage_sql"] = round(
            out["stream_cpu_statements_per_s"] / ol_cpu, 1
        )
    return out


ROOT = Path(__file__).resolve().parents[1]


def _cli_run(
    log: Path, schema: Path, *options: str, script: bool = False, tree: Path = ROOT
) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of ``lineage analyze-sql --log LOG`` (``script``:
    ``analyze-sql LOG``, the script path) in a subprocess, output discarded. The CPU is
    user + system time of the command and of the worker processes it forks. ``tree``:
    the source tree whose CLI runs (``--base-tree``: another checkout, for an A/B)."""
    source = [str(log)] if script else ["--log", str(log)]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "from streams.cli import main; main()",
         "analyze-sql", *source, "--engine", ENGINE, "--namespace", NS,
         "--default-schema", "default", "--schema", str(schema), *options],
        check=True, stdout=subprocess.DEVNULL, cwd=log.parent, env=env,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def _medians(out: dict[str, Any], name: str, runs: list[tuple[float, float]], n: int) -> None:
    out[f"{name}_seconds_runs"] = [round(t, 3) for t, _ in runs]
    out[f"{name}_cpu_seconds_runs"] = [round(c, 3) for _, c in runs]
    out[f"{name}_statements_per_s"] = round(n / statistics.median(t for t, _ in runs))
    out[f"{name}_cpu_seconds"] = round(statistics.median(c for _, c in runs), 3)


def run_log_file(log_size: int, runs: int = 3, base_tree: Path | None = None) -> dict[str, Any]:
    """(c): the query log through the CLI against openlineage-sql on the same file.

    The CLI runs cold (no cache: the goal's figure) with its default (one process)
    and with ``--jobs 2``, and warm, ``--cache DIR`` after one run filled DIR (a
    figure of its own, never the cold one), alternated round by round; with
    ``base_tree``, that tree's CLI (main) runs cold in each round too. The ``*_cpu_*``
    figures count the CPU of every process of a run."""
    queries = tpcds_queries()
    both, _ = make_stream(2 * log_size, queries)
    stream, day2 = both[:log_size], both[log_size:]  # the stream's first N, and its next N
    n = len(stream)
    out: dict[str, Any] = {"log_statements": n, "log_distinct_texts": len(set(stream))}
    out["log_next_distinct_texts"] = len(set(day2))
    out["log_next_new_texts"] = len(set(day2) - set(stream))
    with tempfile.TemporaryDirectory() as tmp:
        log, empty, schema = Path(tmp, "log.jsonl"), Path(tmp, "empty.jsonl"), Path(tmp, "s.json")
        log.write_text("".join(json.dumps({"query": q}) + "\n" for q in stream))
        log2 = Path(tmp, "log2.jsonl")
        log2.write_text("".join(json.dumps({"query": q}) + "\n" for q in day2))
        empty.write_text("")
        schema.write_text(json.dumps(tpcds_schema(queries)))
        cache = ["--cache", str(Path(tmp, "cache"))]
        next_cache = Path(tmp, "cache-next")
        startup = [_cli_run(empty, schema) for _ in range(runs)]
        fill = _cli_run(log, schema, *cache)
        day1_file = Path(tmp, "cache", "analyze-sql.cache").read_bytes()
        total: list[tuple[float, float]] = []
        two: list[tuple[float, float]] = []
        warm: list[tuple[float, float]] = []
        base: list[tuple[float, float]] = []
        nxt: list[tuple[float, float]] = []
        nxt_cached: list[tuple[float, float]] = []
        for _ in range(runs):
            if base_tree is not None:
                base.append(_cli_run(log, schema, tree=base_tree))
            total.append(_cli_run(log, schema))
            warm.append(_cli_run(log, schema, *cache))
            two.append(_cli_run(log, schema, "--jobs", "2"))
            nxt.append(_cli_run(log2, schema))
            next_cache.mkdir(exist_ok=True)  # the cache as the first log left it
            (next_cache / "analyze-sql.cache").write_bytes(day1_file)
            nxt_cached.append(_cli_run(log2, schema, "--cache", str(next_cache)))
        out["log_cli_startup_seconds"] = round(statistics.median(t for t, _ in startup), 3)
        out["log_cli_startup_cpu_seconds"] = round(statistics.median(c for _, c in startup), 3)
        _medians(out, "log_cli", total, n)
        secs = statistics.median(t for t, _ in total)
        work = max(secs - out["log_cli_startup_seconds"], 1e-9)
        out["log_cli_statements_per_s_after_startup"] = round(n / work)
        _medians(out, "log_cli_jobs2", two, n)
        out["log_cli_cache_fill_cpu_seconds"] = round(fill[1], 3)
        _medians(out, "log_cli_cached", warm, n)
        if base:
            _medians(out, "log_cli_base", base, n)
        _medians(out, "log_cli_next", nxt, len(day2))
        _medians(out, "log_cli_next_cached", nxt_cached, len(day2))
        script = Path(tmp, "script.sql")  # the same statements as one script, the script path
        script.write_text("".join(q.strip().rstrip(";") + ";\n" for q in stream))
        out["script_cli_statements_per_s"] = round(
            n / _cli_run(script, schema, script=True)[0]
        )
        peers = _peers()
        if "openlineage_sql" in peers:
            entries = [json.loads(line)["query"] for line in log.read_text().splitlines()]
            ol, ol_cpu, fails = _time(peers["openlineage_sql"], entries)
            out["openlineage_sql_log_statements_per_s"] = round(len(entries) / ol)
            out["openlineage_sql_log_cpu_seconds"] = round(ol_cpu, 3)
            out["openlineage_sql_log_failures"] = fails
            rate = out["openlineage_sql_log_statements_per_s"]
            out["log_speedup_vs_openlineage_sql"] = round(out["log_cli_statements_per_s"] / rate, 1)
            out["log_speedup_vs_openlineage_sql_after_startup"] = round(
                out["log_cli_statements_per_s_after_startup"] / rate, 1
            )
            for key in ("log_jobs2", "log_cached", "log_base"):
                cli = key.replace("log", "log_cli", 1)
                if f"{cli}_cpu_seconds" in out:
                    out[f"{key}_speedup_vs_openlineage_sql"] = round(
                        out[f"{cli}_statements_per_s"] / rate, 1
                    )
            for key in ("log", "log_jobs2", "log_cached", "log_base"):
                cpu = key.replace("log", "log_cli", 1) + "_cpu_seconds"
                if cpu in out:
                    out[f"{key}_cpu_speedup_vs_openlineage_sql"] = round(ol_cpu / out[cpu], 1)
            # the next log (the stream's next N statements): openlineage-sql on it too
            ol2, ol2_cpu, _ = _time(peers["openlineage_sql"], day2)
            out["openlineage_sql_next_statements_per_s"] = round(len(day2) / ol2)
            out["openlineage_sql_next_cpu_seconds"] = round(ol2_cpu, 3)
            for key in ("log_next", "log_next_cached"):
                cli = key.replace("log", "log_cli", 1)
                out[f"{key}_speedup_vs_openlineage_sql"] = round(
                    out[f"{cli}_statements_per_s"] / out["openlineage_sql_next_statements_per_s"], 1
                )
                out[f"{key}_cpu_speedup_vs_openlineage_sql"] = round(
                    ol2_cpu / out[f"{cli}_cpu_seconds"], 1
                )
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--stream-size", type=int, default=100_000)
    p.add_argument("--sqllineage-subset", type=int, default=10)
    p.add_argument("--peer-sample", type=int, default=10_000)
    p.add_argument("--cold-passes", type=int, default=5)
    p.add_argument("--stream-runs", type=int, default=3)
    p.add_argument("--log-size", type=int, default=20_000, help="statements of (c); 0: skip")
    p.add_argument("--only-log", action="store_true", help="run (c) only")
    p.add_argument("--log-runs", type=int, default=3, help="rounds of (c)'s CLI runs")
    p.add_argument(
        "--base-tree", type=Path, default=None,
        help="(c): also run this source tree's CLI (e.g. `git archive main`), interleaved",
    )  # fmt: skip
    args = p.parse_args(argv)
    if args.only_log:
        print_figures(run_log_file(args.log_size, args.log_runs, args.base_tree), as_json=args.json)
        return
    result = run(
        args.stream_size,
        args.sqllineage_subset,
        args.peer_sample,
        cold_passes=args.cold_passes,
        stream_runs=args.stream_runs,
    )
    if args.log_size:
        result.update(run_log_file(args.log_size, args.log_runs, args.base_tree))
    print_figures(result, as_json=args.json)


if __name__ == "__main__":
    main()
