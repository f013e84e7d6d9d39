"""Kafka security settings turned into each client library's options, in one place.

`Settings.security` (streams/settings.py) holds the values the command line
and the environment give: protocol, SASL mechanism, user and password, CA,
client certificate and key. This module checks them once and maps them to

- aiokafka's keyword arguments (`aiokafka_options`), used by every client
  streams/kafka/clients.py builds;
- Faust's `broker_credentials` (`faust_credentials`), for the worker's app;
- librdkafka's configuration keys (`librdkafka_config`), for confluent-kafka
  clients such as the probes' producer.

When a connection fails, `diagnose` finds the cause and says it in one line:
nothing listening, a broker that speaks TLS to a client that does not, a
certificate the CA does not vouch for, refused credentials.

>>> from streams.settings import KafkaSecurity
>>> librdkafka_config(KafkaSecurity(protocol="SASL_PLAINTEXT", sasl_username="u",
...                                 sasl_password="p"))  # doctest: +NORMALIZE_WHITESPACE
{'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'SCRAM-SHA-512',
 'sasl.username': 'u', 'sasl.password': 'p'}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from streams.settings import SASL_MECHANISMS, SECURITY_PROTOCOLS, KafkaSecurity, Settings

if TYPE_CHECKING:
    import ssl

# asyncio and ssl are imported where a connection is made: every command checks its
# settings with `check`, and the offline ones (analyze-sql) start faster without them.


class KafkaSecurityError(ValueError):
    """The security settings are incomplete or contradict each other (one line)."""


def check(security: KafkaSecurity) -> None:
    """Raise `KafkaSecurityError` naming the option when the settings cannot work."""
    if security.protocol not in SECURITY_PROTOCOLS:
        raise KafkaSecurityError(f"--security-protocol: {security.protocol!r} is not one of "
                                 + ", ".join(SECURITY_PROTOCOLS))
    if security.uses_sasl:
        if security.sasl_mechanism not in SASL_MECHANISMS:
            raise KafkaSecurityError(f"--sasl-mechanism: {security.sasl_mechanism!r} is not one "
                                     "of " + ", ".join(SASL_MECHANISMS))
        if not security.sasl_username:
            raise KafkaSecurityError(f"--security-protocol {security.protocol} needs "
                                     "--sasl-username (env KAFKA_SASL_USERNAME)")
        if security.sasl_password is None:
            raise KafkaSecurityError(f"--security-protocol {security.protocol} needs a password "
                                     "(env KAFKA_SASL_PASSWORD or --sasl-password-file)")
    elif security.sasl_username or security.sasl_password is not None:
        raise KafkaSecurityError(f"SASL credentials given, but --security-protocol is "
                                 f"{security.protocol} (use SASL_SSL or SASL_PLAINTEXT)")
    files = {"--ssl-cafile": security.ssl_cafile, "--ssl-certfile": security.ssl_certfile,
             "--ssl-keyfile": security.ssl_keyfile}
    given = [name for name, path in files.items() if path is not None]
    if given and not security.uses_tls:
        raise KafkaSecurityError(f"{given[0]} given, but --security-protocol is "
                                 f"{security.protocol} (use SSL or SASL_SSL)")
    if security.ssl_keyfile is not None and security.ssl_certfile is None:
        raise KafkaSecurityError("--ssl-keyfile needs --ssl-certfile (the client certificate)")
    for name, path in files.items():
        if path is not None and not path.is_file():
            raise KafkaSecurityError(f"{name}: {path}: no such file")


def ssl_context(security: KafkaSecurity) -> ssl.SSLContext | None:
    """The TLS context of a TLS protocol (the system CAs unless --ssl-cafile), else None."""
    if not security.uses_tls:
        return None
    import ssl

    from aiokafka.helpers import create_ssl_context  # aiokafka only when a client needs TLS

    try:
        return create_ssl_context(cafile=security.ssl_cafile, certfile=security.ssl_certfile,
                                  keyfile=security.ssl_keyfile)
    except (ssl.SSLError, OSError) as exc:
        raise KafkaSecurityError(f"TLS files cannot be loaded: {exc}") from None


def aiokafka_options(security: KafkaSecurity) -> dict[str, Any]:
    """Keyword arguments for any aiokafka client (consumer, producer, admin)."""
    check(security)
    options: dict[str, Any] = {"security_protocol": security.protocol}
    context = ssl_context(security)
    if context is not None:
        options["ssl_context"] = context
    if security.uses_sasl:
        options.update(sasl_mechanism=security.sasl_mechanism,
                       sasl_plain_username=security.sasl_username,
                       sasl_plain_password=security.sasl_password)
    return options


def faust_credentials(security: KafkaSecurity) -> Any:
    """Faust's `broker_credentials`: SASL (with TLS when SASL_SSL), TLS alone, or None."""
    check(security)
    import faust  # the worker's dependency; the rest of this module needs only aiokafka

    if security.uses_sasl:
        return faust.SASLCredentials(username=security.sasl_username,
                                     password=security.sasl_password,
                                     ssl_context=ssl_context(security),
                                     mechanism=security.sasl_mechanism)
    if security.uses_tls:
        return faust.SSLCredentials(ssl_context(security))
    return None


def librdkafka_config(security: KafkaSecurity) -> dict[str, str]:
    """The same settings as librdkafka (confluent-kafka) configuration keys."""
    check(security)
    config = {"security.protocol": security.protocol}
    if security.uses_sasl:
        config.update({"sasl.mechanism": security.sasl_mechanism,
                       "sasl.username": security.sasl_username or "",
                       "sasl.password": security.sasl_password or ""})
    for key, path in (("ssl.ca.location", security.ssl_cafile),
                      ("ssl.certificate.location", security.ssl_certfile),
                      ("ssl.key.location", security.ssl_keyfile)):
        if path is not None:
            config[key] = str(path)
    return config


def _first_broker(bootstrap: str) -> tuple[str, int]:
    host, _, port = bootstrap.split(",")[0].strip().rpartition(":")
    return host or "127.0.0.1", int(port)


async def _speaks_tls(host: str, port: int, timeout: float) -> bool:
    """Whether the listener completes a TLS handshake (certificate not checked)."""
    import asyncio
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context), timeout)
    except (OSError, TimeoutError, ssl.SSLError):
        return False
    writer.close()
    return True


async def diagnose(settings: Settings, timeout: float = 10.0) -> str:
    """Why clients of `settings` cannot use the cluster, in one line ('' if they can).

    Connects to the first bootstrap server the way every client does: TCP,
    then TLS with the configured CA, then the SASL login.
    """
    import asyncio
    import ssl

    from aiokafka.conn import create_conn
    from aiokafka.errors import KafkaError
    from aiokafka.protocol.metadata import MetadataRequest

    security = settings.security
    try:
        check(security)
        host, port = _first_broker(settings.bootstrap_servers)
    except (KafkaSecurityError, ValueError) as exc:
        return str(exc)
    where = f"{host}:{port}"
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        writer.close()
    except (OSError, TimeoutError):
        return f"nothing answers on {where}"
    if security.uses_tls:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(
                host, port, ssl=ssl_context(security), server_hostname=host), timeout)
            writer.close()
        except ssl.SSLCertVerificationError as exc:
            return (f"TLS: the certificate of {where} is not trusted by "
                    f"{security.ssl_cafile or 'the system CAs'} ({exc.verify_message})")
        except (ssl.SSLError, OSError, TimeoutError) as exc:
            return f"TLS handshake with {where} failed: {exc or type(exc).__name__}"
    elif await _speaks_tls(host, port, timeout):
        return (f"{where} speaks TLS but --security-protocol is {security.protocol} "
                "(use SSL or SASL_SSL)")
    try:
        conn = await asyncio.wait_for(create_conn(
            host, port, request_timeout_ms=int(timeout * 1000),
            **aiokafka_options(security)), timeout)
        try:  # a listener that wants a login hangs up at the first request
            await asyncio.wait_for(conn.send(MetadataRequest([])), timeout)
        finally:
            conn.close()
    except KafkaError as exc:
        text = str(exc).split("\n")[0]
        if "authentic" in text.lower() or "sasl" in text.lower():
            return f"{where} refused the SASL login of {security.sasl_username!r}: {text}"
        if "closed" in text.lower() and not security.uses_sasl:
            return (f"{where} closed the connection: it wants a SASL login "
                    f"(--security-protocol SASL_{'SSL' if security.uses_tls else 'PLAINTEXT'})")
        return f"{where}: {text}"
    except (OSError, TimeoutError) as exc:
        return f"{where} closed the connection: {exc or type(exc).__name__}"
    return ""


def connection_error(settings: Settings, exc: BaseException) -> str:
    """The one-line reason a command reports when Kafka could not be used."""
    import asyncio

    cause = asyncio.run(diagnose(settings)) or str(exc).split("\n")[0]
    return f"cannot use Kafka at {settings.bootstrap_servers}: {cause}"

