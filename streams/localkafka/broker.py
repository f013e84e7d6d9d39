"""Install, format, start, probe and stop one local Kafka broker.

The jars come from Maven Central through `mvn dependency:copy-dependencies` on
`scripts/kafka/pom.xml` and are cached in `.lineage-kafka/jars` at the project
root (ignored by git). Broker data, config, logs and the pid file live under
the data dir, so `down` only ever stops the process that `up` started.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from streams.localkafka.config import log4j_properties, sasl_ssl_properties, server_properties
from streams.localkafka.tls import make_tls_files

PROJECT_ROOT = Path(__file__).resolve().parents[2]
POM = PROJECT_ROOT / "scripts" / "kafka" / "pom.xml"
JAR_CACHE = Path(os.environ.get("LINEAGE_KAFKA_JARS", PROJECT_ROOT / ".lineage-kafka" / "jars"))


def new_cluster_id() -> str:
    """A KRaft cluster id (base64url of a random UUID), never starting with "-": the
    storage tool would read one that does as an option (Kafka's own `Uuid.randomUuid`
    skips those too)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


class LocalKafkaError(RuntimeError):
    """The local broker could not be installed, started or stopped."""


#: The secured broker's ports: next to the plain one (9092, controller 9093).
SECURE_PORT, SECURE_CONTROLLER_PORT = 9094, 9095
#: The SCRAM user clients log in as, and the broker's own user.
CLIENT_USER, ADMIN_USER = "lineage", "admin"


@dataclass(frozen=True)
class LocalKafka:
    """One broker on `host:port` with its KRaft controller on `controller_port`.

    `secure`: a SASL_SSL listener instead of PLAINTEXT, with a CA and a
    broker certificate made on the spot and SCRAM users created at format
    time; its own home (`kafka-secure`), so it runs next to the plain one.
    """

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 9092
    controller_port: int = 9093
    heap: str = "512m"
    jars: Path = JAR_CACHE
    secure: bool = False

    @classmethod
    def secured(cls, data_dir: Path) -> LocalKafka:
        return cls(data_dir, port=SECURE_PORT, controller_port=SECURE_CONTROLLER_PORT,
                   heap="384m", secure=True)

    @property
    def home(self) -> Path:
        if self.secure:
            return self.data_dir / "kafka-secure"
        return self.data_dir / ("kafka" if self.port == 9092 else f"kafka-{self.port}")

    @property
    def client_dir(self) -> Path:
        """What a client of the secured broker needs: ca.pem, password, client.env."""
        return self.home / "client"

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
        """True when the broker answers a Kafka metadata request (secured: a TLS handshake)."""
        from streams.localkafka.probe import metadata_ok

        if self.secure:
            return _tls_answers(self.host, self.port, self.client_dir / "ca.pem", timeout)
        return metadata_ok(self.host, self.port, timeout=timeout)

    def client_env(self) -> dict[str, str]:
        """The environment a client of the secured broker runs with."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "KAFKA_SASL_USERNAME": CLIENT_USER,
            "KAFKA_SASL_PASSWORD_FILE": str(self.client_dir / "password"),
            "KAFKA_SSL_CAFILE": str(self.client_dir / "ca.pem"),
        }

    def _secrets(self) -> tuple[str, str]:
        """The (admin, client) passwords; made with the certificates on first start."""
        secret_dir, client_dir = self.home / "secrets", self.client_dir
        admin_file, client_file = secret_dir / "admin-password", client_dir / "password"
        if not admin_file.exists():
            if (self.home / "data" / "meta.properties").exists():
                raise LocalKafkaError(f"{self.home}: data without its secrets; remove the "
                                      "directory to start afresh")
            for directory in (secret_dir, client_dir):
                directory.mkdir(parents=True, exist_ok=True)
                directory.chmod(0o700)
            tls = make_tls_files(secret_dir, self.host)
            shutil.copyfile(tls.ca, client_dir / "ca.pem")
            for path in (admin_file, client_file):
                path.write_text(secrets.token_urlsafe(24) + "\n")
                path.chmod(0o600)
            (client_dir / "client.env").write_text(
                "".join(f"export {k}={v}\n" for k, v in self.client_env().items()))
        return admin_file.read_text().strip(), client_file.read_text().strip()

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
        listener, extra = "PLAINTEXT", ""
        if self.secure:
            admin, _ = self._secrets()
            secret_dir = self.home / "secrets"
            listener, extra = "SASL_SSL", sasl_ssl_properties(
                keystore=secret_dir / "broker.pem", truststore=secret_dir / "ca.pem",
                admin=ADMIN_USER, password=admin)
        props.write_text(server_properties(
            log_dir=self.home / "data", host=self.host, port=self.port,
            controller_port=self.controller_port, listener=listener, extra=extra,
        ))
        props.chmod(0o600)
        (self.home / "log4j2.properties").write_text(log4j_properties(self.home / "logs"))
        return props

    def _format(self, props: Path) -> None:
        if (self.home / "data" / "meta.properties").exists():
            return
        cluster_id = new_cluster_id()
        cmd = self._java(
            "kafka.tools.StorageTool", "format", "--standalone",
            "-t", cluster_id, "-c", str(props),
        )
        if self.secure:
            admin, client = self._secrets()
            for mechanism in ("SCRAM-SHA-512", "SCRAM-SHA-256"):
                for user, password in ((ADMIN_USER, admin), (CLIENT_USER, client)):
                    cmd += ["--add-scram", f"{mechanism}=[name={user},password={password}]"]
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


def _tls_answers(host: str, port: int, cafile: Path, timeout: float) -> bool:
    """A TLS handshake with the broker, its certificate checked against `cafile`."""
    try:
        context = ssl.create_default_context(cafile=str(cafile))
        with socket.create_connection((host, port), timeout=timeout) as raw, \
                context.wrap_socket(raw, server_hostname=host):
            return True
    except (OSError, ssl.SSLError):
        return False


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0
