"""Security settings: checked once, mapped alike for aiokafka, Faust and librdkafka."""

from __future__ import annotations

import doctest
import re
import ssl
from pathlib import Path

import faust
import pytest
from click.testing import CliRunner

from streams.cli.root import main
from streams.kafka import security
from streams.kafka.security import (
    KafkaSecurityError,
    aiokafka_options,
    check,
    faust_credentials,
    librdkafka_config,
)
from streams.localkafka.tls import make_tls_files
from streams.settings import KafkaSecurity


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tls_files(tmp_path_factory.mktemp("tls"), "127.0.0.1").ca


def sasl_ssl(ca: Path, **changes: object) -> KafkaSecurity:
    values: dict[str, object] = {"protocol": "SASL_SSL", "sasl_username": "u",
                                 "sasl_password": "secret", "ssl_cafile": ca}
    values.update(changes)
    return KafkaSecurity(**values)  # type: ignore[arg-type]


def test_doctests() -> None:
    assert doctest.testmod(security).failed == 0


def test_plaintext_is_the_default_and_maps_to_nothing_special() -> None:
    assert aiokafka_options(KafkaSecurity()) == {"security_protocol": "PLAINTEXT"}
    assert faust_credentials(KafkaSecurity()) is None
    assert librdkafka_config(KafkaSecurity()) == {"security.protocol": "PLAINTEXT"}


def test_sasl_ssl_maps_to_each_library(ca: Path) -> None:
    settings = sasl_ssl(ca, sasl_mechanism="SCRAM-SHA-256")
    options = aiokafka_options(settings)
    assert options["security_protocol"] == "SASL_SSL"
    assert (options["sasl_mechanism"], options["sasl_plain_username"],
            options["sasl_plain_password"]) == ("SCRAM-SHA-256", "u", "secret")
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    credentials = faust_credentials(settings)
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol.value == "SASL_SSL"
    assert credentials.mechanism.value == "SCRAM-SHA-256"
    assert librdkafka_config(settings)["ssl.ca.location"] == str(ca)


def test_tls_alone_is_faust_ssl_credentials(ca: Path) -> None:
    settings = KafkaSecurity(protocol="SSL", ssl_cafile=ca)
    assert isinstance(faust_credentials(settings), faust.SSLCredentials)
    assert "sasl_mechanism" not in aiokafka_options(settings)


@pytest.mark.parametrize(("changes", "message"), [
    ({"protocol": "KERBEROS"}, "--security-protocol: 'KERBEROS' is not one of"),
    ({"sasl_mechanism": "GSSAPI"}, "--sasl-mechanism: 'GSSAPI'"),
    ({"sasl_username": None}, "needs --sasl-username"),
    ({"sasl_password": None}, "needs a password (env KAFKA_SASL_PASSWORD"),
    ({"protocol": "SSL"}, "SASL credentials given, but --security-protocol is SSL"),
    ({"ssl_keyfile": Path("/k.pem")}, "--ssl-keyfile needs --ssl-certfile"),
    ({"ssl_cafile": Path("/nowhere/ca.pem")}, "--ssl-cafile: /nowhere/ca.pem: no such file"),
])
def test_settings_that_cannot_work_are_one_line_errors(ca: Path, changes: dict[str, object],
                                                      message: str) -> None:
    with pytest.raises(KafkaSecurityError, match=re.escape(message)) as info:
        check(sasl_ssl(ca, **changes))
    assert "\n" not in str(info.value) and "secret" not in str(info.value)


def test_tls_files_without_a_tls_protocol_are_an_error(ca: Path) -> None:
    with pytest.raises(KafkaSecurityError, match="--ssl-cafile given"):
        check(KafkaSecurity(protocol="SASL_PLAINTEXT", sasl_username="u", sasl_password="p",
                            ssl_cafile=ca))


def test_from_env_reads_every_variable_and_the_password_file(ca: Path, tmp_path: Path) -> None:
    password = tmp_path / "password"
    password.write_text("from-file\n")
    env = {"KAFKA_SECURITY_PROTOCOL": "sasl_ssl", "KAFKA_SASL_MECHANISM": "scram-sha-256",
           "KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD_FILE": str(password),
           "KAFKA_SSL_CAFILE": str(ca)}
    settings = KafkaSecurity.from_env(env)
    assert settings == sasl_ssl(ca, sasl_mechanism="SCRAM-SHA-256", sasl_password="from-file")
    assert KafkaSecurity.from_env({**env, "KAFKA_SASL_PASSWORD": "direct"}).sasl_password == (
        "direct")
    assert "from-file" not in repr(settings)


def test_every_command_takes_the_security_options() -> None:
    for name, command in main.commands.items():
        commands = getattr(command, "commands", {name: command})
        for sub in commands.values():
            names = {opt for param in sub.params for opt in getattr(param, "opts", [])}
            if "--bootstrap-servers" in names:
                assert {"--security-protocol", "--sasl-mechanism", "--sasl-username",
                        "--sasl-password-file", "--ssl-cafile", "--ssl-certfile",
                        "--ssl-keyfile"} <= names, sub.name


def test_a_bad_security_option_fails_the_command_in_one_line(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("")
    result = CliRunner().invoke(main, ["send", str(events), "--security-protocol", "SASL_SSL",
                                       "--data-dir", str(tmp_path)], env={})
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == [
        "Error: --security-protocol SASL_SSL needs --sasl-username (env KAFKA_SASL_USERNAME)"]


def test_settings_pass_to_a_child_command_through_its_environment(ca: Path) -> None:
    settings = sasl_ssl(ca)
    env = settings.child_env({"PATH": "/bin", "KAFKA_SASL_USERNAME": "someone-else",
                              "KAFKA_SASL_PASSWORD_FILE": "/stale"})
    assert env["PATH"] == "/bin" and "KAFKA_SASL_PASSWORD_FILE" not in env
    assert KafkaSecurity.from_env(env) == settings
