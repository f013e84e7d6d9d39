"""The secured local broker (`lineage kafka up --secure`): SASL_SSL with SCRAM.

The bundled example runs end to end over it (worker, send, graph reads),
with the worker on either set of Kafka clients (aiokafka, topology.yaml's,
or librdkafka's producer and batch consumer), and clients without
credentials, with the wrong password or trusting the wrong CA are refused
with one line naming the cause. The broker and the
settings of its SCRAM user are conftest.py's `secure_kafka` and
`secure_settings` (LINEAGE_SECURE_KAFKA_DATA_DIR, LINEAGE_SECURE_KAFKA_PORT).
"""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from streams.localkafka.tls import write_ca
from streams.pipeline.topology import KafkaClient, write_consumer_variant
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


@pytest.mark.parametrize("clients", ["aiokafka", "confluent"])
def test_example_runs_end_to_end_over_sasl_ssl(secure_settings: Settings, tmp_path: Path,
                                               clients: KafkaClient) -> None:
    assert secure_settings.security.protocol == "SASL_SSL"
    topology = write_consumer_variant(None, tmp_path / "topology", producer=clients,
                                      batch_client=clients)
    with running_worker(secure_settings, topology=topology):
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

