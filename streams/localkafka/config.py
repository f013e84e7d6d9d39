"""The broker's configuration files, as text."""

from __future__ import annotations

from pathlib import Path


def server_properties(*, log_dir: Path, host: str, port: int, controller_port: int,
                      listener: str = "PLAINTEXT", extra: str = "") -> str:
    """A single-node KRaft broker+controller, sized for a laptop and for tests.

    `listener` is the clients' listener and its security protocol
    (PLAINTEXT, or SASL_SSL with `extra` from `sasl_ssl_properties`).
    """
    return f"""\
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers={host}:{controller_port}
listeners={listener}://{host}:{port},CONTROLLER://{host}:{controller_port}
advertised.listeners={listener}://{host}:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name={listener}
listener.security.protocol.map=CONTROLLER:PLAINTEXT,{listener}:{listener}
log.dirs={log_dir}
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
delete.topic.enable=true
log.retention.hours=168
log.segment.bytes=67108864
log.cleaner.dedupe.buffer.size=16777216
num.network.threads=2
num.io.threads=4
""" + extra


def sasl_ssl_properties(*, keystore: Path, truststore: Path, admin: str, password: str) -> str:
    """The SASL_SSL listener: TLS from PEM files, SCRAM logins, the broker's own login.

    The broker talks to itself over the same listener as user `admin`; the
    controller listener stays on loopback only (a single node).
    """
    login = ("org.apache.kafka.common.security.scram.ScramLoginModule required "
             f'username="{admin}" password="{password}";')
    return f"""\
sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config={login}
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config={login}
ssl.keystore.type=PEM
ssl.keystore.location={keystore}
ssl.truststore.type=PEM
ssl.truststore.location={truststore}
ssl.client.auth=requested
ssl.endpoint.identification.algorithm=https
"""


def log4j_properties(logs: Path) -> str:
    """Broker logs to a file, warnings and up from the noisy packages."""
    return f"""\
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = {logs}/kafka.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = info
logger.apache.name = org.apache.kafka
logger.apache.level = warn
"""
