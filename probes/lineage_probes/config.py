"""The probes' settings: keyword arguments first, then the environment, then defaults.

>>> cfg = ProbeConfig.resolve({"service": "photos-web", "sample_rate": 0.5}, env={})
>>> (cfg.service, cfg.sample_rate, cfg.topic)
('photos-web', 0.5, 'probe-events')
>>> ProbeConfig.resolve({}, env={"LINEAGE_PROBE_REDACT": "SSN, pin"}).redact >= {"ssn", "pin"}
True
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lineage_probes.security import KafkaSecurity, KafkaSecurityError

# Field names that never leave the process, whatever LINEAGE_PROBE_REDACT adds.
DEFAULT_REDACT = frozenset({
    "password", "passwd", "secret", "token", "access_token", "refresh_token", "api_key",
    "apikey", "authorization", "cookie", "set-cookie", "session", "csrf", "csrftoken",
})

_TRUE = {"1", "true", "yes", "on"}


class ProbeConfigError(ValueError):
    """A setting has a value the probes cannot use (the message names the setting)."""


def _rate(value: Any) -> float:
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise ProbeConfigError("sample rate must be a number between 0 and 1") from None
    if not 0.0 <= rate <= 1.0:
        raise ProbeConfigError("sample rate must be between 0 and 1")
    return rate


@dataclass(frozen=True)
class ProbeConfig:
    service: str = "unknown-service"
    bootstrap_servers: str = "127.0.0.1:9092"
    topic_prefix: str = ""
    sample_rate: float = 0.01
    redact: frozenset[str] = DEFAULT_REDACT
    # caps on what one capture may hold
    max_string: int = 4096
    max_leaves: int = 256
    max_depth: int = 8
    max_list: int = 64
    max_event_bytes: int = 64 * 1024
    max_body_bytes: int = 256 * 1024
    max_rows: int = 20
    max_captures_per_trace: int = 256
    # the in-process Kafka queue (librdkafka), bounded in messages and KiB
    queue_messages: int = 10_000
    queue_kbytes: int = 16 * 1024
    # enforcement (docs/ENFORCEMENT.md): on, what to do before the zones were
    # ever read, and how long instrument() waits for them at start
    enforce: bool = True
    enforce_fail: str = "fail_open"
    enforce_wait_s: float = 5.0
    # zones count as unavailable when the broker has not answered for this long
    enforce_stale_s: float = 10.0
    # how the Kafka clients log in (security.py: the pipeline's settings and variables)
    security: KafkaSecurity = field(default_factory=KafkaSecurity)

    @property
    def topic(self) -> str:
        return f"{self.topic_prefix}probe-events"

    @staticmethod
    def disabled(env: Mapping[str, str] | None = None) -> bool:
        env = os.environ if env is None else env
        return env.get("LINEAGE_PROBE_DISABLED", "").strip().lower() in _TRUE

    @classmethod
    def resolve(cls, kwargs: Mapping[str, Any], env: Mapping[str, str] | None = None
                ) -> ProbeConfig:
        """Settings from `instrument(**kwargs)`, else the environment, else defaults.

        The Kafka security settings are checked here (`security.py`), so a
        bad one is a `ProbeConfigError` at `instrument()`, not a dropped capture.
        """
        env = os.environ if env is None else env

        def pick(key: str, var: str, default: Any) -> Any:
            if kwargs.get(key) is not None:
                return kwargs[key]
            return env.get(var) or default

        extra = kwargs.get("redact")
        if extra is None:
            extra = [n for n in env.get("LINEAGE_PROBE_REDACT", "").split(",") if n.strip()]
        service = pick("service", "LINEAGE_PROBE_SERVICE", "") or _default_service()
        enforce = pick("enforce", "LINEAGE_PROBE_ENFORCE", "1")
        fail = str(pick("enforce_fail", "LINEAGE_PROBE_ENFORCE_FAIL", "fail_open"))
        if fail not in ("fail_open", "fail_closed"):
            raise ProbeConfigError("enforce fail mode must be fail_open or fail_closed")
        try:
            security = KafkaSecurity.resolve(kwargs, env)
            security.check()
        except KafkaSecurityError as exc:
            raise ProbeConfigError(str(exc)) from None
        return cls(
            service=str(service),
            bootstrap_servers=str(pick("bootstrap_servers", "KAFKA_BOOTSTRAP_SERVERS",
                                       cls.bootstrap_servers)),
            topic_prefix=str(pick("topic_prefix", "LINEAGE_TOPIC_PREFIX", "")),
            sample_rate=_rate(pick("sample_rate", "LINEAGE_PROBE_SAMPLE_RATE", cls.sample_rate)),
            redact=DEFAULT_REDACT | {str(n).strip().lower() for n in extra},
            enforce=enforce if isinstance(enforce, bool) else str(enforce).lower() in _TRUE,
            enforce_fail=fail,
            enforce_wait_s=_seconds(pick("enforce_wait_s", "LINEAGE_PROBE_ENFORCE_WAIT_S",
                                         cls.enforce_wait_s)),
            enforce_stale_s=_seconds(pick("enforce_stale_s", "LINEAGE_PROBE_ENFORCE_STALE_S",
                                          cls.enforce_stale_s)),
            security=security,
        )


def _seconds(value: Any) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ProbeConfigError("enforce wait must be a number of seconds") from None
    if seconds < 0:
        raise ProbeConfigError("enforce wait must not be negative")
    return seconds


def _default_service() -> str:
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return os.path.splitext(name)[0] or "unknown-service"
