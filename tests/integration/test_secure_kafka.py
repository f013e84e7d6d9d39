"""The secured local broker (`lineage kafka up --secure`): SASL_SSL with SCRAM.

The bundled example runs end to end over it (worker, send, graph reads),
and clients without credentials, with the wrong password or trusting the
wrong CA are refused with one line naming the cause.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path

import pytest

from streams.localkafka.broker import PROJECT_ROOT, LocalKafka
from streams.localkafka.tls import write_ca
from streams.settings import KafkaSecurity, Settings
from tests.integration.test_topology_example import EXAMPLE, EXPECTED_HIGH, _complete
from tests.integration.worker import (
    LINEAGE,
    cli_args,
    command_env,
    running_worker,
    send_file,
    wait_for_graph,
)

#: Where `lineage kafka up --secure` keeps the secured broker (its --data-dir).
SECURE_DATA_DIR = Path(os.environ.get("LINEAGE_SECURE_KAFKA_DATA_DIR", PROJECT_ROOT / ".lineage"))


@pytest.fixture(scope="module")
def secure_kafka() -> LocalKafka:
    broker = LocalKafka.secured(SECURE_DATA_DIR)
    if not broker.answers(timeout=3.0):
        message = (f"no secured broker on {broker.bootstrap}: run `lineage kafka up --secure "
                   f"--data-dir {SECURE_DATA_DIR}`")
        if os.environ.get("LINEAGE_REQUIRE_SECURE_KAFKA"):
            pytest.fail(message)
        pytest.skip(message)
    return broker


@pytest.fixture()
def secure_settings(settings: Settings, secure_kafka: LocalKafka) -> Settings:
    """The test's prefix and data dir, on the secured broker with the SCRAM user."""
    return dataclasses.replace(
        settings, bootstrap_servers=secure_kafka.bootstrap,
        security=KafkaSecurity.from_env(secure_kafka.client_env()))


def test_example_runs_end_to_end_over_sasl_ssl(secure_settings: Settings) -> None:
    assert secure_settings.security.protocol == "SASL_SSL"
    with running_worker(secure_settings):
        sent = send_file(secure_settings, EXAMPLE)
        assert sent.returncode == 0, sent.stderr
        edges = wait_for_graph(secure_settings, _complete)
    for edge_id in EXPECTED_HIGH:
        assert edges[edge_id]["confidence"] == "high", edge_id


def _send_refused(settings: Settings) -> str:
    """`lineage send` with `settings`: it must fail; return its one-line error."""
    result = subprocess.run([LINEAGE, "send", str(EXAMPLE), *cli_args(settings)],
                            capture_output=True, text=True, check=False,
                            env=command_env(settings), timeout=120)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_client_without_credentials_is_refused(secure_settings: Settings) -> None:
    plain = dataclasses.replace(secure_settings, security=KafkaSecurity())
    assert "speaks TLS but --security-protocol is PLAINTEXT" in _send_refused(plain)
    tls_only = dataclasses.replace(secure_settings, security=dataclasses.replace(
        secure_settings.security, protocol="SSL", sasl_username=None, sasl_password=None))
    assert "wants a SASL login" in _send_refused(tls_only)


def test_a_wrong_password_is_refused(secure_settings: Settings) -> None:
    wrong = dataclasses.replace(secure_settings, security=dataclasses.replace(
        secure_settings.security, sasl_password="not-the-password"))
    line = _send_refused(wrong)
    assert "refused the SASL login of 'lineage'" in line
    assert "not-the-password" not in line


def test_a_client_trusting_another_ca_is_refused(secure_settings: Settings,
                                                 tmp_path: Path) -> None:
    other_ca = write_ca(tmp_path / "other-ca.pem", "some other CA")
    wrong = dataclasses.replace(secure_settings, security=dataclasses.replace(
        secure_settings.security, ssl_cafile=other_ca))
    line = _send_refused(wrong)
    assert f"is not trusted by {other_ca}" in line

