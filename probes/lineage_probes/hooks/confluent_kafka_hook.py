"""Kafka: `confluent_kafka` `Producer.produce` and `Consumer.poll` / `consume`.

Its classes are C types that cannot be patched, so the module's `Producer`
and `Consumer` names are replaced by probed subclasses: code that reads
`confluent_kafka.Producer` after `instrument()` (the usual import at the
top of a module, under the launcher) gets them. The probes' own producer
uses the C class and is never captured.
"""

from __future__ import annotations

from typing import Any

from lineage_probes import context, kafkacapture, naming
from lineage_probes.capture import Recorder
from lineage_probes.probe import Patches, Probe


def install(rec: Recorder, patches: Patches) -> bool:
    try:
        import confluent_kafka
        from confluent_kafka import cimpl
    except ImportError:
        return False
    probe = Probe("confluent_kafka")

    def bootstrap(config: Any, kwargs: dict[str, Any]) -> str:
        conf = config if isinstance(config, dict) else {}
        return str(conf.get("bootstrap.servers") or kwargs.get("bootstrap.servers") or "")

    class Producer(cimpl.Producer):
        def __init__(self, config: Any = None, /, **kwargs: Any) -> None:
            if config is None:
                super().__init__(**kwargs)
            else:
                super().__init__(config, **kwargs)
            self._lp_bootstrap = bootstrap(config, kwargs)

        def produce(self, topic: Any, *args: Any, **kwargs: Any) -> Any:
            trace = context.CURRENT.get()
            if trace is not None and probe.enabled and len(args) < 6:
                kwargs["headers"] = kafkacapture.guard_produce(
                    rec, probe, trace, naming.kafka(self._lp_bootstrap, topic),
                    kwargs.get("headers"), args[0] if args else kwargs.get("value"))
            if trace is not None and probe.enabled:
                try:
                    if len(args) < 6:
                        kwargs["headers"] = kafkacapture.with_traceparent(
                            kwargs.get("headers"), trace.child_traceparent())
                    if trace.sampled:
                        value = args[0] if args else kwargs.get("value")
                        if value is not None:
                            rec.sink(trace, naming.kafka(self._lp_bootstrap, topic),
                                     kafkacapture.value_payload(value), kind="kafka")
                except Exception as exc:
                    probe.fail(exc)
            return super().produce(topic, *args, **kwargs)

    class Consumer(cimpl.Consumer):
        def __init__(self, config: Any = None, /, **kwargs: Any) -> None:
            if config is None:
                super().__init__(**kwargs)
            else:
                super().__init__(config, **kwargs)
            self._lp_bootstrap = bootstrap(config, kwargs)

        def _lp_seen(self, message: Any) -> None:
            if message is None or not probe.enabled or message.error() is not None:
                return
            try:
                kafkacapture.consumed(rec, naming.kafka(self._lp_bootstrap, message.topic()),
                                      message.headers(), message.value())
            except Exception as exc:
                probe.fail(exc)

        def poll(self, *args: Any, **kwargs: Any) -> Any:
            message = super().poll(*args, **kwargs)
            self._lp_seen(message)
            return message

        def consume(self, *args: Any, **kwargs: Any) -> Any:
            messages = super().consume(*args, **kwargs)
            for message in messages:
                self._lp_seen(message)
            return messages

    patches.patch(confluent_kafka, "Producer", Producer)
    patches.patch(confluent_kafka, "Consumer", Consumer)
    return True
