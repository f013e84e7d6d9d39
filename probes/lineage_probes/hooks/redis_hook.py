"""Cache: `redis` (redis-py) `Redis.execute_command`, which every command goes through.

Writes (SET, SETEX, SETNX, GETSET, MSET, HSET) are sinks and reads (GET,
MGET, HGET, HGETALL) sources of `redis://HOST:PORT/DB`; the payload maps the
key, id-like parts templated (`session:{id}`), to the value. Pipelines are
not captured. For enforcement, a write is checked before it is sent and a read
taints once it ran (a precise policy keeps the values of its zone key spaces).
"""

from __future__ import annotations

from typing import Any

from lineage_probes import context, kafkacapture, naming
from lineage_probes.capture import Recorder
from lineage_probes.enforcement.enforcer import Deferred
from lineage_probes.probe import Patches, Probe

_WRITES = {"SET", "SETEX", "SETNX", "GETSET", "MSET", "HSET", "PSETEX"}
_READS = {"GET", "MGET", "HGET", "HGETALL", "GETSET"}


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def written(command: str, args: tuple[Any, ...]) -> dict[str, Any]:
    """Key template -> value for a write command's arguments.

    >>> written("SET", ("user:42", "Ada", "EX", 60))
    {'user:{id}': 'Ada'}
    >>> written("HSET", ("user:42", "name", "Ada", "city", "Paris"))
    {'user:{id}': {'name': 'Ada', 'city': 'Paris'}}
    """
    if command == "MSET":
        return {naming.key_template(_text(k)): kafkacapture.value_payload(v)
                for k, v in zip(args[::2], args[1::2], strict=False)}
    if not args:
        return {}
    key = naming.key_template(_text(args[0]))
    if command == "HSET":
        fields = args[1:]
        return {key: {_text(f): kafkacapture.value_payload(v)
                      for f, v in zip(fields[::2], fields[1::2], strict=False)}}
    index = {"SETEX": 2, "PSETEX": 2}.get(command, 1)
    return {key: kafkacapture.value_payload(args[index])} if len(args) > index else {}


def read(command: str, args: tuple[Any, ...], result: Any) -> dict[str, Any]:
    if result is None or not args:
        return {}
    if command == "MGET":
        return {naming.key_template(_text(k)): kafkacapture.value_payload(v)
                for k, v in zip(args, result, strict=False) if v is not None}
    key = naming.key_template(_text(args[0]))
    if command == "HGETALL" and isinstance(result, dict):
        return {key: {_text(f): kafkacapture.value_payload(v) for f, v in result.items()}}
    if command == "HGET" and len(args) > 1:
        return {key: {_text(args[1]): kafkacapture.value_payload(result)}}
    return {key: kafkacapture.value_payload(result)}


def _target(client: Any, args: tuple[Any, ...]) -> tuple[str, str | None]:
    """The command's name and, for a captured read or write, the asset of the client's DB."""
    command = _text(args[0]).upper()
    if command not in _WRITES and command not in _READS:
        return command, None
    kw = client.connection_pool.connection_kwargs
    return command, naming.redis(kw.get("host", "localhost"), kw.get("port", 6379),
                                 kw.get("db", 0))


def install(rec: Recorder, patches: Patches) -> bool:
    try:
        import redis
    except ImportError:
        return False
    probe = Probe("redis")
    original = redis.Redis.execute_command

    def enforced(self: Any, args: tuple[Any, ...]) -> tuple[context.Trace, str, str] | None:
        """Every request: a write checked before it runs; a read of a zone cache, returned
        to be given its result (`taint`)."""
        trace = context.CURRENT.get()
        if trace is None or not probe.enabled or not args:
            return None
        try:
            command, asset = _target(self, args)
        except Exception as exc:
            probe.fail(exc)
            return None
        if asset is not None and command in _WRITES:
            rec.guard(trace, asset, "cache", payload=Deferred(lambda: [_text(a) for a in args[1:]]))
        if asset is not None and command in _READS:
            return trace, asset, command
        return None

    def taint(reading: tuple[context.Trace, str, str], args: tuple[Any, ...],
              result: Any) -> None:
        """A read ran: taint with its zones (a precise policy: with the values read)."""
        trace, asset, command = reading
        rec.read_payload(trace, asset, Deferred(lambda: read(command, args[1:], result)))

    def execute_command(self: Any, *args: Any, **options: Any) -> Any:
        reading = enforced(self, args) if rec.enforcer is not None else None
        trace = context.sampled_trace()
        if trace is None or not probe.enabled or not args:
            result = original(self, *args, **options)
            if reading is not None:
                taint(reading, args, result)
            return result
        asset = command = None
        try:
            command, asset = _target(self, args)
            if asset is not None and command in _WRITES:
                rec.sink(trace, asset, written(command, args[1:]), kind="cache")
        except Exception as exc:
            probe.fail(exc)
        result = original(self, *args, **options)
        if reading is not None:
            taint(reading, args, result)
        if asset is not None and command in _READS and probe.enabled:
            try:
                payload = read(str(command), args[1:], result)
                if payload:
                    rec.source(trace, asset, payload)
            except Exception as exc:
                probe.fail(exc)
        return result

    patches.patch(redis.Redis, "execute_command", execute_command)
    return True
