"""The secured local broker's files: a CA that vouches for the broker, and its config."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

from streams.localkafka.broker import LocalKafka
from streams.localkafka.config import sasl_ssl_properties, server_properties
from streams.localkafka.tls import make_tls_files, write_ca


def _handshake(server_pem: Path, cafile: Path) -> str:
    """A TLS handshake on loopback: '' when the client trusts the server, else the error."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(server_pem)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def accept() -> None:
            conn, _ = listener.accept()
            try:
                with server.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass

        thread = threading.Thread(target=accept)
        thread.start()
        client = ssl.create_default_context(cafile=str(cafile))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
                    client.wrap_socket(raw, server_hostname="127.0.0.1"):
                return ""
        except ssl.SSLCertVerificationError as exc:
            return exc.verify_message
        finally:
            thread.join(timeout=5)


def test_the_ca_vouches_for_the_broker_at_127_0_0_1_and_another_ca_does_not(
    tmp_path: Path,
) -> None:
    files = make_tls_files(tmp_path / "tls", "127.0.0.1")
    assert (files.broker.stat().st_mode & 0o777) == 0o600
    assert b"PRIVATE KEY" in files.broker.read_bytes()
    assert b"PRIVATE KEY" not in files.ca.read_bytes()  # the CA's key is not kept
    assert _handshake(files.broker, files.ca) == ""
    assert _handshake(files.broker, write_ca(tmp_path / "other.pem")) != ""


def test_the_secured_broker_has_its_own_ports_and_home(tmp_path: Path) -> None:
    plain, secure = LocalKafka(tmp_path), LocalKafka.secured(tmp_path)
    assert {plain.port, plain.controller_port}.isdisjoint({secure.port, secure.controller_port})
    assert plain.home != secure.home
    env = secure.client_env()
    assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:9094"


def test_the_sasl_ssl_listener_config(tmp_path: Path) -> None:
    text = server_properties(log_dir=tmp_path, host="127.0.0.1", port=9094,
                             controller_port=9095, listener="SASL_SSL",
                             extra=sasl_ssl_properties(keystore=tmp_path / "b.pem",
                                                       truststore=tmp_path / "ca.pem",
                                                       admin="admin", password="pw"))
    lines = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    assert lines["listeners"] == "SASL_SSL://127.0.0.1:9094,CONTROLLER://127.0.0.1:9095"
    assert lines["inter.broker.listener.name"] == "SASL_SSL"
    assert lines["sasl.enabled.mechanisms"] == "SCRAM-SHA-512,SCRAM-SHA-256"
    assert lines["ssl.keystore.type"] == "PEM"
    assert 'username="admin" password="pw";' in lines[
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config"]
