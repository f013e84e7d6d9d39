"""SQL analyzer benchmark: cold TPC-DS and a repetitive log stream, against peers.

Run: ``python -m loadtest.bench_sql --json`` (peers need the ``bench`` extra).

(a) *cold*: the 99 TPC-DS queries shipped by the sqllineage package, each
    analysed once, uncached, with full column lineage and kinds. The schema is
    derived from TPC-DS's column prefixes (``ss_`` -> store_sales, ...) so that
    unqualified columns of comma joins resolve.
(b) *stream*: N statements (default 100k) where 95% repeat an earlier one
    verbatim. The 5% new ones are a job's next run (TPC-DS and ETL templates
    with a fresh run tag, date or id literal) and a smaller share of
    structurally new ETL statements (fresh table names). Our analyzer goes
    through :class:`SqlAnalyzer` (fingerprint cache); peers parse every
    statement (they have no cache), timed on a sample and reported as a rate.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from analyzers.sql import SqlAnalyzer
from analyzers.sql.naming import normalize_schema
from analyzers.sql.script import analyze_script

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


def _time(fn: Callable[[str], Any], items: list[str]) -> tuple[float, int]:
    failures = 0
    t0 = time.perf_counter()
    for q in items:
        try:
            fn(q)
        except Exception:
            failures += 1
    return time.perf_counter() - t0, failures


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


def make_stream(n: int, queries: list[str], seed: int = 7) -> tuple[list[str], int]:
    """``n`` statements, 95% repeats of earlier ones; returns (stream, distinct texts)."""
    rng = random.Random(seed)
    seen: list[str] = []
    stream: list[str] = []
    new_tables = 0
    for _ in range(n):
        if seen and rng.random() >= 0.05:
            stream.append(rng.choice(seen))
            continue
        r = rng.random()
        if r < 0.5:  # the next run of a TPC-DS report, tagged by the scheduler
            q = f"/* run {len(seen)} */ " + rng.choice(queries)
        elif r < 0.90:  # the next daily run of an ETL job
            day = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            q = rng.choice(ETL).format(t=f"job{rng.randint(0, 19)}", d=day, n=rng.randint(0, 99999))
        elif r < 0.99:  # the next daily run of a big ETL job (more columns)
            day = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            q = rng.choice(ETL).format(t=f"job{rng.randint(20, 39)}", d=day, n=rng.randint(0, 9))
        else:  # a new job
            new_tables += 1
            q = rng.choice(ETL).format(t=f"new{new_tables}", d="2024-01-01", n=1)
        seen.append(q)
        stream.append(q)
    return stream, len(set(seen))


def run(stream_size: int, sqllineage_subset: int, peer_sample: int) -> dict[str, Any]:
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
    secs, fails = _time(ours, queries)
    out["cold_ms_per_query"] = round(secs * 1e3 / len(queries), 3)
    out["cold_failures"] = fails
    edges = sum(len(c.sources) for q in queries for s in ours(q).statements for c in s.columns)
    out["cold_column_edges"] = edges
    peers = _peers()
    for name, fn in peers.items():
        subset = queries if name != "sqllineage" else queries[:sqllineage_subset]
        secs, fails = _time(fn, subset)
        out[f"{name}_cold_ms_per_query"] = round(secs * 1e3 / len(subset), 3)
        out[f"{name}_cold_queries"] = len(subset)
        out[f"{name}_cold_failures"] = fails

    stream, distinct = make_stream(stream_size, queries)
    out["stream_statements"] = len(stream)
    out["stream_distinct_texts"] = distinct
    analyzer = SqlAnalyzer(
        engine=ENGINE, namespace=NS, default_schema="default", schema=schema, maxsize=20_000
    )
    t0 = time.perf_counter()
    for q in stream:
        analyzer.analyze(q)
    secs = time.perf_counter() - t0
    out["stream_statements_per_s"] = round(len(stream) / secs)
    out["stream_cache"] = analyzer.stats()
    for name, fn in peers.items():
        size = peer_sample if name != "sqllineage" else min(peer_sample, sqllineage_subset * 10)
        sample = stream[:size]
        secs, _ = _time(fn, sample)
        out[f"{name}_stream_statements_per_s"] = round(len(sample) / secs)
        out[f"{name}_stream_sample"] = len(sample)
    ol = out.get("openlineage_sql_stream_statements_per_s")
    if ol:
        out["stream_speedup_vs_openlineage_sql"] = round(out["stream_statements_per_s"] / ol, 1)
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--stream-size", type=int, default=100_000)
    p.add_argument("--sqllineage-subset", type=int, default=10)
    p.add_argument("--peer-sample", type=int, default=10_000)
    args = p.parse_args(argv)
    result = run(args.stream_size, args.sqllineage_subset, args.peer_sample)
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:45} {v}")


if __name__ == "__main__":
    main()
