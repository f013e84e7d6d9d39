"""Install, format, start, probe and stop one local Kafka broker.

The jars come from Maven Central through `mvn dependency:copy-dependencies` on
`scripts/kafka/pom.xml` and are cached in `.lineage-kafka/jars` at the project
root (ignored by git). Broker data, config, logs and the pid file live under
the data dir, so `down` only ever stops the process that `up` started.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from streams.localkafka.config import log4j_properties, server_properties

PROJECT_ROOT = Path(__file__).resolve().parents[2]
POM = PROJECT_ROOT / "scripts" / "kafka" / "pom.xml"
JAR_CACHE = Path(os.environ.get("LINEAGE_KAFKA_JARS", PROJECT_ROOT / ".lineage-kafka" / "jars"))


class LocalKafkaError(RuntimeError):
    """The local broker could not be installed, started or stopped."""


@dataclass(frozen=True)
class LocalKafka:
    """One broker on `host:port` with its KRaft controller on `controller_port`."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 9092
    controller_port: int = 9093
    heap: str = "512m"
    jars: Path = JAR_CACHE

    @property
    def home(self) -> Path:
        return self.data_dir / "kafka"

    @property
    def pid_file(self) -> Path:
        return self.home / "kafka.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "logs" / "server.out"

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    # -- install ---------------------------------------------------------

    def installed(self) -> bool:
        return any(self.jars.glob("kafka_2.13-*.jar"))

    def install(self) -> None:
        """Fetch the broker's jars from Maven Central, once."""
        if self.installed():
            return
        mvn = shutil.which("mvn")
        if mvn is None:
            raise LocalKafkaError(
                "Maven (mvn) is not installed; install it or set --bootstrap-servers"
            )
        self.jars.mkdir(parents=True, exist_ok=True)
        cmd = [
            mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
            f"-DoutputDirectory={self.jars}", "-DincludeScope=runtime",
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not self.installed():
            tail = (result.stdout + result.stderr).strip().splitlines()[-1:] or ["no output"]
            raise LocalKafkaError(f"fetching Kafka jars with Maven failed: {tail[0]}")

    # -- process ---------------------------------------------------------

    def running_pid(self) -> int | None:
        """The pid from the pid file, if that process is still alive."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        return pid

    def answers(self, timeout: float = 1.0) -> bool:
        """True when the broker answers a Kafka metadata request."""
        from streams.localkafka.probe import metadata_ok

        return metadata_ok(self.host, self.port, timeout=timeout)

    def _java(self, main: str, *args: str) -> list[str]:
        java = shutil.which("java")
        if java is None:
            raise LocalKafkaError("java is not installed (Java 17 is needed for the local Kafka)")
        return [
            java, f"-Xms{self.heap}", f"-Xmx{self.heap}", "-XX:+UseG1GC",
            f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.home / 'logs'}",
            "-cp", f"{self.jars}/*", main, *args,
        ]

    def _write_config(self) -> Path:
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        props = self.home / "server.properties"
        props.write_text(server_properties(
            log_dir=self.home / "data", host=self.host, port=self.port,
            controller_port=self.controller_port,
        ))
        (self.home / "log4j2.properties").write_text(log4j_properties(self.home / "logs"))
        return props

    def _format(self, props: Path) -> None:
        if (self.home / "data" / "meta.properties").exists():
            return
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        cmd = self._java(
            "kafka.tools.StorageTool", "format", "--standalone",
            "-t", cluster_id, "-c", str(props),
        )
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            tail = (result.stdout + result.stderr).strip().splitlines()[-1:] or ["no output"]
            raise LocalKafkaError(f"formatting KRaft storage failed: {tail[0]}")

    def up(self, wait_s: float = 90.0) -> str:
        """Start the broker unless it already runs; wait until it answers."""
        if self.running_pid() is not None and self.answers():
            return "already running"
        if self.running_pid() is None and _port_in_use(self.host, self.port):
            if self.answers():
                return f"a Kafka broker not started by lineage already answers on {self.bootstrap}"
            raise LocalKafkaError(f"port {self.port} is in use by another program")
        self.install()
        props = self._write_config()
        self._format(props)
        if self.running_pid() is None:
            with open(self.log_file, "ab") as log:
                proc = subprocess.Popen(
                    self._java("kafka.Kafka", str(props)),
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            self.pid_file.write_text(str(proc.pid))
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if self.running_pid() is None:
                raise LocalKafkaError(f"Kafka exited during start; see {self.log_file}")
            if self.answers():
                return f"started (pid {self.running_pid()}) on {self.bootstrap}"
            time.sleep(0.5)
        raise LocalKafkaError(f"Kafka did not answer within {wait_s:.0f}s; see {self.log_file}")

    def down(self, wait_s: float = 30.0) -> str:
        """Stop the broker this data dir started (and only that one)."""
        pid = self.running_pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return "not running"
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and self.running_pid() is not None:
            time.sleep(0.3)
        if self.running_pid() is not None:
            os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return f"stopped (pid {pid})"


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0
