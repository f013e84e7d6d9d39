"""`instrument()` and `uninstrument()`: the one live set of patches of a process."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from typing import Any

from lineage_probes import counters, hooks
from lineage_probes.capture import Recorder
from lineage_probes.config import ProbeConfig
from lineage_probes.emitter import Emitter, KafkaEmitter
from lineage_probes.enforcement import Enforcer
from lineage_probes.enforcement.feed import KafkaZoneFeed, ZoneSource
from lineage_probes.probe import Patches

log = logging.getLogger("lineage_probes")
_lock = threading.Lock()
_active: tuple[Recorder, Patches, list[str]] | None = None


def instrument(*, service: str | None = None, bootstrap_servers: str | None = None,
               topic_prefix: str | None = None, sample_rate: float | None = None,
               redact: Iterable[str] | None = None, probes: Iterable[str] | None = None,
               emitter: Emitter | None = None, enforce: bool | None = None,
               zones: ZoneSource | None = None, security_protocol: str | None = None,
               sasl_mechanism: str | None = None, sasl_username: str | None = None,
               sasl_password: str | None = None,
               sasl_password_file: str | os.PathLike[str] | None = None,
               ssl_cafile: str | os.PathLike[str] | None = None,
               ssl_certfile: str | os.PathLike[str] | None = None,
               ssl_keyfile: str | os.PathLike[str] | None = None) -> list[str]:
    """Turn the probes on; returns the names of the frameworks patched.

    Arguments left out come from the environment (`LINEAGE_PROBE_SERVICE`,
    `KAFKA_BOOTSTRAP_SERVERS`, `LINEAGE_TOPIC_PREFIX`,
    `LINEAGE_PROBE_SAMPLE_RATE`, `LINEAGE_PROBE_REDACT`). Nothing is patched
    when `LINEAGE_PROBE_DISABLED` is set, or when the probes are already on.
    `probes` limits which frameworks are patched (names as in
    `lineage_probes.hooks.NAMES`); `emitter` replaces the Kafka producer
    (`lineage_probes.emitter.MemoryEmitter` keeps captures in memory).

    Enforcement (docs/ENFORCEMENT.md) is on unless `enforce=False` or
    `LINEAGE_PROBE_ENFORCE=0`: it follows `policies` and `policy-zones` from
    Kafka, or reads `zones` (`enforcement.feed.StaticZones`) when given; with
    a custom `emitter` and no `zones` it stays off. At start it waits up to
    `LINEAGE_PROBE_ENFORCE_WAIT_S` (5 s) for the zones to be read.

    Kafka security (docs/PROBES.md, "A secured cluster"): `security_protocol`
    (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL), `sasl_mechanism` (PLAIN,
    SCRAM-SHA-256, SCRAM-SHA-512), `sasl_username`, `sasl_password` or
    `sasl_password_file`, `ssl_cafile`, `ssl_certfile`, `ssl_keyfile`; left
    out, the pipeline's variables (`KAFKA_SECURITY_PROTOCOL`, ...,
    `KAFKA_SASL_PASSWORD[_FILE]`). Both the producer and the zone feed use them.

    Raises:
        ProbeConfigError: a setting has a value the probes cannot use (one line
            naming it; never the password). Nothing is patched then.
    """
    global _active
    if ProbeConfig.disabled():
        return []
    cfg = ProbeConfig.resolve({
        "service": service, "bootstrap_servers": bootstrap_servers,
        "topic_prefix": topic_prefix, "sample_rate": sample_rate,
        "redact": None if redact is None else list(redact), "enforce": enforce,
        "security_protocol": security_protocol, "sasl_mechanism": sasl_mechanism,
        "sasl_username": sasl_username, "sasl_password": sasl_password,
        "sasl_password_file": sasl_password_file, "ssl_cafile": ssl_cafile,
        "ssl_certfile": ssl_certfile, "ssl_keyfile": ssl_keyfile})
    with _lock:
        if _active is not None:
            return list(_active[2])
        sender = emitter if emitter is not None else KafkaEmitter(cfg)
        enforcer = None
        if cfg.enforce and (zones is not None or emitter is None):
            source = zones if zones is not None else KafkaZoneFeed(cfg)
            source.start()
            source.ready.wait(cfg.enforce_wait_s)
            enforcer = Enforcer(cfg, source, sender)
        recorder = Recorder(cfg, sender, enforcer)
        patches = Patches()
        names = hooks.NAMES if probes is None else tuple(probes)
        installed = []
        for name in names:
            try:
                if hooks.installer(name)(recorder, patches):
                    installed.append(name)
            except Exception as exc:  # a framework version we cannot patch: leave it alone
                counters.incr(f"probe_errors.{name}")
                log.warning("lineage-probes: probe %s not installed (%s)", name,
                            type(exc).__name__)
        _active = (recorder, patches, installed)
        return list(installed)


def uninstrument(timeout: float = 2.0) -> None:
    """Undo every patch and flush what is queued (waiting at most `timeout` seconds)."""
    global _active
    with _lock:
        if _active is None:
            return
        recorder, patches, _ = _active
        _active = None
    patches.restore()
    if recorder.enforcer is not None:
        recorder.enforcer.source.close()
    recorder.emitter.close(timeout)


def active_config() -> ProbeConfig | None:
    return None if _active is None else _active[0].cfg


def stats() -> dict[str, Any]:
    """The probes' counters: captured, queued, dropped_*, probe_errors.NAME, ... (no values)."""
    return counters.snapshot()
