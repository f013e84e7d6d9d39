"""A throwaway PostgreSQL cluster: `initdb` into a fresh temporary directory,
`postgres` on a free loopback port with its unix socket in that directory,
one database; stopped and removed at the end. Used by the psycopg probe's
tests (tests/postgres.py: `live_postgres`) and benchmarks
(`loadtest.psycopg_instructions`).

The binaries come from Debian's `postgresql` package (`make install` installs
it when missing), under `/usr/lib/postgresql/<version>/bin` (the newest
version there), else from `PATH`. `initdb` refuses to run as root: as root the
cluster belongs to the `postgres` system user the package creates (`nobody`
without it) and every server command runs through `runuser`.
"""

from __future__ import annotations

import dataclasses
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from loadtest.probes_services import free_port

DEBIAN_ROOT = Path("/usr/lib/postgresql")
SUPERUSER = "postgres"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL is not installed, or a throwaway cluster could not start."""


@dataclass(frozen=True)
class PgCluster:
    host: str
    port: int
    dbname: str
    user: str
    directory: Path

    @property
    def conninfo(self) -> str:
        return f"host={self.host} port={self.port} dbname={self.dbname} user={self.user}"

    @property
    def namespace(self) -> str:
        """The probes' asset namespace of this database: `postgres://HOST:PORT`."""
        return f"postgres://{self.host}:{self.port}"

    def create_database(self, name: str) -> PgCluster:
        """A new empty database on the same server."""
        import psycopg
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return dataclasses.replace(self, dbname=name)


def bindir() -> Path | None:
    """Where `initdb` and `pg_ctl` are: Debian's newest version, else `PATH`."""
    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", path.name))
    if DEBIAN_ROOT.is_dir():
        found = [p / "bin" for p in DEBIAN_ROOT.iterdir()
                 if (p / "bin" / "initdb").is_file() and (p / "bin" / "pg_ctl").is_file()]
        if found:
            return max(found, key=lambda b: version(b.parent))
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


def _owner() -> str | None:
    """The user the server runs as when we are root (None: as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise PostgresUnavailable("running as root and neither a `postgres` nor a `nobody` user "
                              "exists to own the cluster (initdb refuses root)")


def _run(cmd: list[str], owner: str | None, what: str, *, check: bool = True) -> None:
    if owner is not None:
        cmd = ["runuser", "-u", owner, "--", *cmd]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
    if check and result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise PostgresUnavailable(f"{what} failed ({result.returncode}): {tail[0]}")


@contextmanager
def throwaway_cluster(dbname: str = "lineage") -> Iterator[PgCluster]:
    """A running cluster with an empty database `dbname`; stopped and removed after."""
    binaries = bindir()
    if binaries is None:
        raise PostgresUnavailable("PostgreSQL is not installed (no initdb under "
                                  f"{DEBIAN_ROOT}/*/bin or on PATH); `make install` "
                                  "installs Debian's postgresql package")
    owner = _owner()
    directory = Path(tempfile.mkdtemp(prefix="lineage-pg-"))
    data, log = directory / "data", directory / "server.log"
    try:
        if owner is not None:
            entry = pwd.getpwnam(owner)
            os.chown(directory, entry.pw_uid, entry.pw_gid)
        _run([str(binaries / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust",
              "-E", "UTF8", "--locale=C", "--no-sync"], owner, "initdb")
        port = free_port()
        options = (f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off")
        try:
            _run([str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
                  "-w", "-t", "60", "start"], owner, "pg_ctl start")
            admin = PgCluster("127.0.0.1", port, "postgres", SUPERUSER, directory)
            yield admin.create_database(dbname)
        finally:  # whatever may run, without hiding why it stopped
            _run([str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                 owner, "pg_ctl stop", check=False)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
