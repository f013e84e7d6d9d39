"""How the probes' Kafka clients log in: the pipeline's security settings, as librdkafka keys.

The same settings, with the same environment variables and defaults, as
every `lineage` command (docs/OPERATIONS.md): protocol, SASL mechanism, user
and password (or a password file), CA, client certificate and key. They come
from `instrument()`'s arguments first, then the environment; `check()`
refuses, in one line naming the setting, what cannot work; `librdkafka()`
gives the keys both of the probes' clients (the producer and the zone feed's
consumer) take. The pipeline's own mapping (`streams.kafka.security`) gives
the same keys for the same settings (a test holds them to it); this package
cannot import it.

>>> sec = KafkaSecurity.resolve({"security_protocol": "sasl_plaintext",
...                              "sasl_username": "u", "sasl_password": "p"}, env={})
>>> sec
KafkaSecurity(protocol='SASL_PLAINTEXT', sasl_mechanism='SCRAM-SHA-512', sasl_username='u', \
ssl_cafile=None, ssl_certfile=None, ssl_keyfile=None)
>>> sec.librdkafka()  # doctest: +NORMALIZE_WHITESPACE
{'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'SCRAM-SHA-512',
 'sasl.username': 'u', 'sasl.password': 'p'}
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lineage_probes import counters

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
DEFAULT_SASL_MECHANISM = "SCRAM-SHA-512"

#: Each setting: the `instrument()` argument and its environment variable.
ENV = {
    "security_protocol": "KAFKA_SECURITY_PROTOCOL",
    "sasl_mechanism": "KAFKA_SASL_MECHANISM",
    "sasl_username": "KAFKA_SASL_USERNAME",
    "sasl_password": "KAFKA_SASL_PASSWORD",
    "sasl_password_file": "KAFKA_SASL_PASSWORD_FILE",
    "ssl_cafile": "KAFKA_SSL_CAFILE",
    "ssl_certfile": "KAFKA_SSL_CERTFILE",
    "ssl_keyfile": "KAFKA_SSL_KEYFILE",
}

log = logging.getLogger("lineage_probes.kafka")


class KafkaSecurityError(ValueError):
    """The settings cannot work; one line naming the setting, never the password."""


def _name(setting: str) -> str:
    return f"{setting} (env {ENV[setting]})"


@dataclass(frozen=True)
class KafkaSecurity:
    """Plain values; the password is never shown (`repr`), nor in an error."""

    protocol: str = "PLAINTEXT"
    sasl_mechanism: str = DEFAULT_SASL_MECHANISM
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None

    @property
    def uses_tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    @classmethod
    def resolve(cls, kwargs: Mapping[str, Any], env: Mapping[str, str] | None = None
                ) -> KafkaSecurity:
        """From `instrument()`'s arguments (the keys of `ENV`), else the environment.

        The password: `sasl_password`, else `sasl_password_file` (its first
        line), else KAFKA_SASL_PASSWORD, else KAFKA_SASL_PASSWORD_FILE, as
        the `lineage` commands read them.
        """
        env = os.environ if env is None else env

        def pick(setting: str) -> str | None:
            value = kwargs.get(setting)
            if value is not None:
                return os.fspath(value) if isinstance(value, os.PathLike) else str(value)
            return env.get(ENV[setting]) or None

        password = kwargs.get("sasl_password")
        if password is None and kwargs.get("sasl_password_file") is not None:
            password = read_password_file(os.fspath(kwargs["sasl_password_file"]))
        if password is None:
            password = env.get("KAFKA_SASL_PASSWORD") or None
        if password is None and env.get("KAFKA_SASL_PASSWORD_FILE"):
            password = read_password_file(env["KAFKA_SASL_PASSWORD_FILE"])
        return cls(protocol=(pick("security_protocol") or "PLAINTEXT").upper(),
                   sasl_mechanism=(pick("sasl_mechanism") or DEFAULT_SASL_MECHANISM).upper(),
                   sasl_username=pick("sasl_username"), sasl_password=password,
                   ssl_cafile=pick("ssl_cafile"), ssl_certfile=pick("ssl_certfile"),
                   ssl_keyfile=pick("ssl_keyfile"))

    def check(self) -> None:
        """Raise `KafkaSecurityError` when these settings cannot work (as the pipeline's check).

        TLS files must exist and load: a CA that is not PEM, a certificate
        that does not go with its key, an encrypted key are refused here,
        not on the first capture.
        """
        if self.protocol not in SECURITY_PROTOCOLS:
            raise KafkaSecurityError(f"{_name('security_protocol')}: {self.protocol!r} is not "
                                     "one of " + ", ".join(SECURITY_PROTOCOLS))
        if self.uses_sasl:
            if self.sasl_mechanism not in SASL_MECHANISMS:
                raise KafkaSecurityError(f"{_name('sasl_mechanism')}: {self.sasl_mechanism!r} "
                                         "is not one of " + ", ".join(SASL_MECHANISMS))
            if not self.sasl_username:
                raise KafkaSecurityError(f"security protocol {self.protocol} needs "
                                         f"{_name('sasl_username')}")
            if self.sasl_password is None:
                raise KafkaSecurityError(f"security protocol {self.protocol} needs a password: "
                                         f"{_name('sasl_password')} or "
                                         f"{_name('sasl_password_file')}")
        elif self.sasl_username or self.sasl_password is not None:
            raise KafkaSecurityError(f"SASL credentials given, but the security protocol is "
                                     f"{self.protocol} (use SASL_SSL or SASL_PLAINTEXT)")
        files = {"ssl_cafile": self.ssl_cafile, "ssl_certfile": self.ssl_certfile,
                 "ssl_keyfile": self.ssl_keyfile}
        given = [name for name, path in files.items() if path is not None]
        if given and not self.uses_tls:
            raise KafkaSecurityError(f"{_name(given[0])} given, but the security protocol is "
                                     f"{self.protocol} (use SSL or SASL_SSL)")
        if self.ssl_keyfile is not None and self.ssl_certfile is None:
            raise KafkaSecurityError(f"{_name('ssl_keyfile')} needs {_name('ssl_certfile')}")
        for name, path in files.items():
            if path is not None and not Path(path).is_file():
                raise KafkaSecurityError(f"{_name(name)}: {path}: no such file")
        self._load_tls_files()

    def _load_tls_files(self) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if self.ssl_cafile is not None:
            try:
                context.load_verify_locations(cafile=self.ssl_cafile)
            except (ssl.SSLError, OSError):
                raise KafkaSecurityError(f"{_name('ssl_cafile')}: {self.ssl_cafile}: no PEM "
                                         "certificate in it") from None
        if self.ssl_certfile is not None:
            try:  # the callback runs only for an encrypted key: librdkafka gets no key password
                context.load_cert_chain(self.ssl_certfile, self.ssl_keyfile,
                                        password=_no_key_password)
            except _EncryptedKey:
                raise KafkaSecurityError(f"{_name('ssl_keyfile')}: the key is encrypted "
                                         "(not supported: give an unencrypted PEM key)") from None
            except (ssl.SSLError, OSError):
                raise KafkaSecurityError(f"{_name('ssl_certfile')}: {self.ssl_certfile}: no PEM "
                                         "certificate with its private key") from None

    def librdkafka(self) -> dict[str, str]:
        """librdkafka's configuration keys for these settings (checked first)."""
        self.check()
        config = {"security.protocol": self.protocol}
        if self.uses_sasl:
            config.update({"sasl.mechanism": self.sasl_mechanism,
                           "sasl.username": self.sasl_username or "",
                           "sasl.password": self.sasl_password or ""})
        for key, path in (("ssl.ca.location", self.ssl_cafile),
                          ("ssl.certificate.location", self.ssl_certfile),
                          ("ssl.key.location", self.ssl_keyfile)):
            if path is not None:
                config[key] = path
        return config


class _EncryptedKey(Exception):
    pass


def _no_key_password() -> bytes:
    raise _EncryptedKey


def read_password_file(path: str) -> str:
    """The password in `path`: its first line, without the line end."""
    try:
        with open(path, encoding="utf-8") as file:
            first = file.readline()
    except OSError as exc:
        raise KafkaSecurityError(f"{_name('sasl_password_file')}: cannot read {path}: "
                                 f"{exc.strerror}") from None
    except UnicodeDecodeError:
        raise KafkaSecurityError(f"{_name('sasl_password_file')}: {path} is not text") from None
    return first.rstrip("\r\n")


# -- errors of a live client ----------------------------------------------------

#: librdkafka error names (`KafkaError.name()`) that mean the settings, not the network.
_CAUSES = {
    "_AUTHENTICATION": "auth", "SASL_AUTHENTICATION_FAILED": "auth",
    "_SSL": "tls", "_SSL_HANDSHAKE": "tls",
}
_warned: set[str] = set()
_warned_lock = threading.Lock()


def count_error(err: Any, counter: str) -> None:
    """An error librdkafka reported (`error_cb`): counted; a login or TLS refusal warned once.

    `counter` counts every error (`kafka_errors`); a refused login also
    counts `COUNTER.auth` and an untrusted certificate or failed handshake
    `COUNTER.tls`. The warning names the cause and the user, never the
    password (librdkafka's text has none either, and is not logged).
    """
    counters.incr(counter)
    try:
        cause = _CAUSES.get(err.name())
    except Exception:  # not a KafkaError: counted, nothing more to say
        return
    if cause is None:
        return
    counters.incr(f"{counter}.{cause}")
    with _warned_lock:
        if cause in _warned:
            return
        _warned.add(cause)
    what = ("the broker refused the SASL login (check the user, password and mechanism)"
            if cause == "auth" else
            "the TLS handshake failed (check the CA the broker is trusted by, and the protocol)")
    log.warning("lineage-probes: Kafka: %s; captures are dropped until it succeeds", what)
