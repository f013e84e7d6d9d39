"""The probes' Kafka security: from arguments and the pipeline's variables, checked at
`instrument()`, mapped to librdkafka keys, the password never shown."""

from __future__ import annotations

import io
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any

import lineage_probes
import pytest
from lineage_probes import auto, counters, security
from lineage_probes.config import ProbeConfig, ProbeConfigError
from lineage_probes.emitter import KafkaEmitter, MemoryEmitter
from lineage_probes.launcher import environment, parser
from lineage_probes.security import KafkaSecurity, KafkaSecurityError

from streams.localkafka.tls import TlsFiles, make_tls_files
from tests.unit.probes.test_emitter_and_launcher import _run, closed_port

SECRET = "s3cr3t-Pa55"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"), "127.0.0.1")


@pytest.fixture()
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "password"
    path.write_text(f"{SECRET}\nsecond line ignored\n")
    return path


@pytest.fixture(autouse=True)
def _no_ambient_security(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in security.ENV.values():
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("LINEAGE_PROBE_DISABLED", raising=False)


def test_plaintext_by_default() -> None:
    sec = KafkaSecurity.resolve({}, env={})
    assert sec == KafkaSecurity()
    assert sec.librdkafka() == {"security.protocol": "PLAINTEXT"}
    assert ProbeConfig.resolve({}, env={}).security == KafkaSecurity()


def test_from_the_pipelines_variables(tls: TlsFiles, password_file: Path) -> None:
    env = {"KAFKA_SECURITY_PROTOCOL": "sasl_ssl", "KAFKA_SASL_USERNAME": "lineage",
           "KAFKA_SASL_PASSWORD_FILE": str(password_file), "KAFKA_SSL_CAFILE": str(tls.ca)}
    cfg = ProbeConfig.resolve({}, env=env)
    assert cfg.security.librdkafka() == {
        "security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "lineage", "sasl.password": SECRET, "ssl.ca.location": str(tls.ca)}
    # KAFKA_SASL_PASSWORD wins over the file, as in every lineage command
    env["KAFKA_SASL_PASSWORD"] = "from-env"
    env["KAFKA_SASL_MECHANISM"] = "scram-sha-256"
    sec = ProbeConfig.resolve({}, env=env).security
    assert (sec.sasl_password, sec.sasl_mechanism) == ("from-env", "SCRAM-SHA-256")


def test_arguments_win_over_the_environment(tls: TlsFiles, password_file: Path) -> None:
    env = {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_USERNAME": "env-user",
           "KAFKA_SASL_PASSWORD": "env-password"}
    sec = KafkaSecurity.resolve({"security_protocol": "SASL_SSL", "sasl_username": "me",
                                 "sasl_password_file": password_file,
                                 "ssl_cafile": tls.ca, "ssl_certfile": tls.broker,
                                 "ssl_keyfile": tls.broker, "sasl_mechanism": "PLAIN"}, env=env)
    assert sec.librdkafka() == {
        "security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN", "sasl.username": "me",
        "sasl.password": SECRET, "ssl.ca.location": str(tls.ca),
        "ssl.certificate.location": str(tls.broker), "ssl.key.location": str(tls.broker)}
    assert KafkaSecurity.resolve({"sasl_password": "given"}, env=env).sasl_password == "given"
    assert KafkaSecurity.resolve({"protocol": "x"}, env={}).protocol == "PLAINTEXT"  # unknown key


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"security_protocol": "KERBEROS"}, "security_protocol (env KAFKA_SECURITY_PROTOCOL): "
                                        "'KERBEROS' is not one of PLAINTEXT, SSL"),
    ({"security_protocol": "SASL_SSL", "sasl_mechanism": "GSSAPI", "sasl_username": "u",
      "sasl_password": SECRET}, "sasl_mechanism (env KAFKA_SASL_MECHANISM): 'GSSAPI'"),
    ({"security_protocol": "SASL_SSL", "sasl_password": SECRET},
     "security protocol SASL_SSL needs sasl_username (env KAFKA_SASL_USERNAME)"),
    ({"security_protocol": "SASL_PLAINTEXT", "sasl_username": "u"},
     "needs a password: sasl_password (env KAFKA_SASL_PASSWORD) or sasl_password_file"),
    ({"sasl_username": "u", "sasl_password": SECRET},
     "SASL credentials given, but the security protocol is PLAINTEXT"),
    ({"ssl_cafile": "/ca.pem"}, "ssl_cafile (env KAFKA_SSL_CAFILE) given, but the security "
                                "protocol is PLAINTEXT"),
    ({"security_protocol": "SSL", "ssl_keyfile": "/k.pem"},
     "ssl_keyfile (env KAFKA_SSL_KEYFILE) needs ssl_certfile"),
    ({"security_protocol": "SSL", "ssl_cafile": "/nowhere/ca.pem"},
     "ssl_cafile (env KAFKA_SSL_CAFILE): /nowhere/ca.pem: no such file"),
    ({"security_protocol": "SSL", "sasl_password_file": "/nowhere/pw"},
     "sasl_password_file (env KAFKA_SASL_PASSWORD_FILE): cannot read /nowhere/pw"),
])
def test_settings_that_cannot_work_are_one_line_errors(kwargs: dict[str, Any],
                                                      message: str) -> None:
    with pytest.raises(ProbeConfigError, match=re.escape(message)) as info:
        ProbeConfig.resolve(kwargs, env={})
    assert "\n" not in str(info.value) and SECRET not in str(info.value)


def test_tls_files_that_do_not_load_are_refused(tls: TlsFiles, password_file: Path,
                                                tmp_path: Path) -> None:
    with pytest.raises(KafkaSecurityError, match="no PEM certificate in it"):
        KafkaSecurity(protocol="SSL", ssl_cafile=str(password_file)).check()
    with pytest.raises(KafkaSecurityError, match="no PEM certificate with its private key"):
        KafkaSecurity(protocol="SSL", ssl_certfile=str(tls.ca)).check()  # a cert, no key
    from cryptography.hazmat.primitives import serialization
    key = serialization.load_pem_private_key(tls.broker.read_bytes(), None)
    locked = tmp_path / "locked.pem"
    locked.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw")))
    with pytest.raises(KafkaSecurityError, match="the key is encrypted"):
        KafkaSecurity(protocol="SSL", ssl_certfile=str(tls.broker),
                      ssl_keyfile=str(locked)).check()


def test_the_password_is_never_shown(password_file: Path, tls: TlsFiles,
                                     caplog: pytest.LogCaptureFixture) -> None:
    cfg = ProbeConfig.resolve({"security_protocol": "SASL_SSL", "sasl_username": "u",
                               "sasl_password_file": password_file, "ssl_cafile": tls.ca},
                              env={})
    assert cfg.security.sasl_password == SECRET
    assert SECRET not in repr(cfg) and SECRET not in str(cfg.security)
    # a refused login: counted and warned once, naming the cause, never the password
    counters.reset()
    security._warned.clear()

    class Refused:
        def name(self) -> str:
            return "_AUTHENTICATION"

        def str(self) -> str:
            return f"SASL authentication failed for u/{SECRET}"

    with caplog.at_level(logging.DEBUG, logger="lineage_probes"):
        for _ in range(3):
            security.count_error(Refused(), "kafka_errors")
    assert counters.snapshot() == {"kafka_errors": 3, "kafka_errors.auth": 3}
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "refused the SASL login" in warnings[0]
    assert SECRET not in caplog.text


def test_network_errors_are_counted_without_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    counters.reset()

    class Down:
        def name(self) -> str:
            return "_TRANSPORT"

    with caplog.at_level(logging.DEBUG, logger="lineage_probes"):
        security.count_error(Down(), "enforcement_kafka_errors")
        security.count_error(object(), "enforcement_kafka_errors")
    assert counters.snapshot() == {"enforcement_kafka_errors": 2}
    assert not caplog.records


def test_instrument_refuses_bad_settings_and_patches_nothing() -> None:
    import sqlite3
    before = sqlite3.connect
    with pytest.raises(ProbeConfigError, match="needs sasl_username") as info:
        lineage_probes.instrument(service="s", security_protocol="SASL_SSL",
                                  sasl_password=SECRET, emitter=MemoryEmitter())
    assert SECRET not in str(info.value)
    assert sqlite3.connect is before and lineage_probes.active_config() is None


def test_instrument_takes_the_settings(tls: TlsFiles, password_file: Path) -> None:
    lineage_probes.instrument(service="s", emitter=MemoryEmitter(), probes=[],
                              security_protocol="sasl_ssl", sasl_username="u",
                              sasl_password_file=password_file, ssl_cafile=tls.ca)
    try:
        cfg = lineage_probes.active_config()
        assert cfg is not None and cfg.security.librdkafka()["sasl.password"] == SECRET
    finally:
        lineage_probes.uninstrument()


def test_auto_start_says_why_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", SECRET)
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    auto.start()  # never raises: the service starts without its probes
    assert err.getvalue() == ("lineage-probes: not started (security protocol SASL_SSL needs "
                              "sasl_username (env KAFKA_SASL_USERNAME))\n")
    assert lineage_probes.active_config() is None


def test_the_producer_logs_in_and_never_blocks(tls: TlsFiles) -> None:
    """Against a closed port: the SASL_SSL producer is made, queues and drops as before."""
    counters.reset()
    sec = KafkaSecurity(protocol="SASL_SSL", sasl_username="u", sasl_password=SECRET,
                        ssl_cafile=str(tls.ca))
    emitter = KafkaEmitter(ProbeConfig(service="t", bootstrap_servers=f"127.0.0.1:"
                                       f"{closed_port()}", queue_messages=10, security=sec))
    for n in range(20):
        emitter.send(b"k", b'{"n": %d}' % n)
    assert (counters.snapshot()["queued"], counters.snapshot()["dropped_queue_full"]) == (10, 10)
    emitter.close(timeout=0.2)


def test_a_producer_librdkafka_refuses_drops_every_capture(tmp_path: Path, tls: TlsFiles,
                                                           caplog: pytest.LogCaptureFixture
                                                           ) -> None:
    counters.reset()
    ca = tmp_path / "ca.pem"
    ca.write_bytes(tls.ca.read_bytes())
    cfg = ProbeConfig.resolve({"security_protocol": "SSL", "ssl_cafile": ca}, env={})
    ca.unlink()  # gone after instrument() checked it
    emitter = KafkaEmitter(cfg)
    with caplog.at_level(logging.WARNING, logger="lineage_probes"):
        for _ in range(3):
            emitter.send(b"k", b"{}")  # never raises into the hook
    counts = counters.snapshot()
    assert (counts["kafka_client_errors"], counts["dropped_no_client"]) == (1, 3)
    assert "queued" not in counts
    assert [r.getMessage() for r in caplog.records] == [
        "lineage-probes: no Kafka producer (KafkaSecurityError); captures are dropped"]
    emitter.close()


def test_launcher_flags_become_the_pipelines_variables(tmp_path: Path) -> None:
    args = parser().parse_args([
        "run", "--service", "s", "--security-protocol", "sasl_ssl", "--sasl-mechanism",
        "scram-sha-256", "--sasl-username", "lineage", "--sasl-password-file", "pw",
        "--ssl-cafile", "ca.pem", "--ssl-certfile", "/c.pem", "--ssl-keyfile", "/k.pem",
        "--", "app"])
    env = environment(args, {"KAFKA_SSL_CAFILE": "/old.pem", "KAFKA_SASL_PASSWORD": "kept"})
    assert {k: v for k, v in env.items() if k.startswith("KAFKA_")} == {
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
        "KAFKA_SASL_USERNAME": "lineage", "KAFKA_SASL_PASSWORD_FILE": os.path.abspath("pw"),
        "KAFKA_SSL_CAFILE": os.path.abspath("ca.pem"), "KAFKA_SSL_CERTFILE": "/c.pem",
        "KAFKA_SSL_KEYFILE": "/k.pem", "KAFKA_SASL_PASSWORD": "kept"}
    untouched = environment(parser().parse_args(["run", "--", "app"]), {"KAFKA_X": "1"})
    assert {k for k in untouched if k.startswith("KAFKA_")} == {"KAFKA_X"}


def test_launcher_has_no_password_flag_and_checks_choices() -> None:
    assert "--sasl-password " not in parser().format_help()
    for flag in (["--sasl-password", SECRET], [f"--sasl-password={SECRET}"],
                 ["--sasl-pass", SECRET]):  # no abbreviation of --sasl-password-file either
        done = _run("run", *flag, "--", sys.executable, "-c", "print(1)")
        assert done.returncode == 2 and SECRET not in done.stderr + done.stdout
        assert "never a flag" in done.stderr or "unrecognized" in done.stderr
    done = _run("run", "--security-protocol", "TLS", "--", sys.executable, "-c", "print(1)")
    assert done.returncode == 2 and "invalid choice" in done.stderr


SHOW = ("import json, lineage_probes as p; c = p.active_config(); s = c.security; "
        "print(json.dumps([s.protocol, s.sasl_mechanism, s.sasl_username, "
        "s.sasl_password == open(__import__('os').environ['KAFKA_SASL_PASSWORD_FILE'])"
        ".readline().strip(), s.ssl_cafile]))")


def test_launcher_gives_the_command_the_settings(tls: TlsFiles, password_file: Path) -> None:
    done = _run("run", "--service", "s", "--security-protocol", "SASL_SSL", "--sasl-username",
                "lineage", "--sasl-password-file", str(password_file), "--ssl-cafile",
                str(tls.ca), "--", sys.executable, "-c", SHOW)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (f'["SASL_SSL", "SCRAM-SHA-512", "lineage", true, '
                                   f'"{tls.ca}"]')
    assert SECRET not in done.stdout + done.stderr


def test_launcher_with_bad_settings_still_runs_the_command(password_file: Path) -> None:
    done = _run("run", "--service", "s", "--security-protocol", "SASL_SSL",
                "--sasl-password-file", str(password_file), "--", sys.executable, "-c",
                "print('app ok')")
    assert done.returncode == 0 and done.stdout.strip() == "app ok"
    assert done.stderr.strip() == ("lineage-probes: not started (security protocol SASL_SSL "
                                   "needs sasl_username (env KAFKA_SASL_USERNAME))")

