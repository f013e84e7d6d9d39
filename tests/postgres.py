"""A throwaway PostgreSQL cluster for tests (`loadtest/pgcluster.py`), or the test
skipped with the reason when PostgreSQL is missing. With `LINEAGE_REQUIRE_POSTGRES`
set (as `make test` sets it) such a test fails instead, so CI cannot skip it
silently."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from loadtest.pgcluster import PgCluster, PostgresUnavailable, throwaway_cluster

REQUIRE_ENV = "LINEAGE_REQUIRE_POSTGRES"


@contextmanager
def live_postgres(dbname: str = "lineage") -> Iterator[PgCluster]:
    """`throwaway_cluster`, or the test skipped (failed under LINEAGE_REQUIRE_POSTGRES)
    when PostgreSQL is missing or cannot start."""
    started = False
    try:
        with throwaway_cluster(dbname) as cluster:
            started = True
            yield cluster
    except PostgresUnavailable as exc:
        if started:
            raise
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"{exc} ({REQUIRE_ENV} is set)")
        pytest.skip(str(exc))


__all__ = ["PgCluster", "live_postgres"]
