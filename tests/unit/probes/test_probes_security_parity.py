"""The probes and the pipeline read the same security variables into the same librdkafka keys.

`lineage_probes.security` cannot import `streams.kafka.security` (the probes are
their own distribution), so this test holds the two mappings to each other:
same names, same defaults, same keys for the same environment, and the same
environments refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lineage_probes import security as probes
from lineage_probes.config import ProbeConfig, ProbeConfigError

from streams import settings as pipeline_settings
from streams.kafka import security as pipeline
from streams.localkafka.tls import TlsFiles, make_tls_files


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[TlsFiles, Path]:
    directory = tmp_path_factory.mktemp("tls")
    password = directory / "password"
    password.write_text("from-the-file\n")
    return make_tls_files(directory, "127.0.0.1"), password


def _environments(tls: TlsFiles, password: Path) -> list[dict[str, str]]:
    sasl = {"KAFKA_SASL_USERNAME": "lineage", "KAFKA_SASL_PASSWORD": "pw"}
    return [
        {},
        {"KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"},
        {"KAFKA_SECURITY_PROTOCOL": "SSL"},
        {"KAFKA_SECURITY_PROTOCOL": "ssl", "KAFKA_SSL_CAFILE": str(tls.ca)},
        {"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CAFILE": str(tls.ca),
         "KAFKA_SSL_CERTFILE": str(tls.broker), "KAFKA_SSL_KEYFILE": str(tls.broker)},
        {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", **sasl},
        {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_MECHANISM": "plain", **sasl},
        {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
         "KAFKA_SSL_CAFILE": str(tls.ca), **sasl},
        {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_USERNAME": "lineage",
         "KAFKA_SASL_PASSWORD_FILE": str(password), "KAFKA_SSL_CAFILE": str(tls.ca),
         "KAFKA_SSL_CERTFILE": str(tls.broker), "KAFKA_SSL_KEYFILE": str(tls.broker)},
        {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_PASSWORD_FILE": str(password),
         **sasl},  # the variable wins over the file in both
    ]


def _bad_environments(tls: TlsFiles) -> list[dict[str, str]]:
    return [
        {"KAFKA_SECURITY_PROTOCOL": "KERBEROS"},
        {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_USERNAME": "u"},
        {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_PASSWORD": "pw"},
        {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "GSSAPI",
         "KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": "pw"},
        {"KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": "pw"},
        {"KAFKA_SSL_CAFILE": str(tls.ca)},
        {"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_KEYFILE": str(tls.broker)},
        {"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CAFILE": "/nowhere/ca.pem"},
        {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_USERNAME": "u",
         "KAFKA_SASL_PASSWORD_FILE": "/nowhere/password"},
    ]


def test_same_names_and_defaults() -> None:
    assert probes.SECURITY_PROTOCOLS == pipeline_settings.SECURITY_PROTOCOLS
    assert probes.SASL_MECHANISMS == pipeline_settings.SASL_MECHANISMS
    assert probes.DEFAULT_SASL_MECHANISM == pipeline_settings.DEFAULT_SASL_MECHANISM
    every = pipeline_settings.KafkaSecurity(
        sasl_username="u", sasl_password="p", ssl_cafile=Path("c"), ssl_certfile=Path("c"),
        ssl_keyfile=Path("k"))
    # to_env passes the password itself, never its file
    assert set(probes.ENV.values()) == set(every.to_env()) | {"KAFKA_SASL_PASSWORD_FILE"}


def test_same_librdkafka_keys_for_the_same_environment(files: tuple[TlsFiles, Path]) -> None:
    for env in _environments(*files):
        expected = pipeline.librdkafka_config(pipeline_settings.KafkaSecurity.from_env(env))
        assert ProbeConfig.resolve({}, env=env).security.librdkafka() == expected, env


def test_same_environments_refused(files: tuple[TlsFiles, Path]) -> None:
    for env in _bad_environments(files[0]):
        with pytest.raises(ValueError):
            pipeline.librdkafka_config(pipeline_settings.KafkaSecurity.from_env(env))
        with pytest.raises(ProbeConfigError):
            ProbeConfig.resolve({}, env=env)
