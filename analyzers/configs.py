"""ML platform configs -> flow signals (the contract's `config-events`).

`config_signals(event)` turns one validated `config` event into `CONFIG`
signals (origin `config`, `ts` = the event's `ts`). Pure: no I/O.

What is accepted (unknown keys are ignored; aliases in brackets):

feature    `{"feature" ["name"]: NAME, "sources" ["inputs"]: [asset, ...]
             | "source": asset, "store" ["feature_store"]: STORE?}`
           -> each source -> `feature://STORE/NAME` (STORE defaults to `store`).
training   `{"model_name": NAME, "input_dataset" ["dataset"]: asset?,
             "input_datasets" ["datasets"]: [asset, ...]?,
             "features": [NAME or feature URI, ...]?, "store" ["feature_store"]: STORE?,
             "output_model" ["output", "model"]: model?}`
           -> each dataset -> model, each feature -> model. The model is
           `output_model` (else `output`, else `model`, else
           `model://registry/<model_name>`); at least one input is required.
inference  `{"service": service, "models": [model, ...] | "model": model}`
           -> each model -> service.

Names: a value holding `://` is an asset URI and is used as is. Otherwise a
feature name F is `feature://STORE/F`, a model name M is
`model://registry/M`, a service name S is `service://inference/S`. Datasets
and feature sources must be asset URIs (there is no default namespace).

Bad content raises `ConfigError`; its `reason` names keys and types, never a
value, so the agent can dead-letter the event and log the reason.
Duplicate (src, dst) pairs in one config give one signal; self-loops none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from analyzers.signals import FlowSignal

DEFAULT_STORE = "store"
MODEL_NAMESPACE = "model://registry"
SERVICE_NAMESPACE = "service://inference"


class ConfigError(ValueError):
    """A config event whose content cannot be used; `reason` is safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_uri(value: str) -> bool:
    """True when `value` is already an asset URI (`SCHEME://...`)."""
    return "://" in value


def feature_asset(name: str, store: str | None = None) -> str:
    """The asset of feature NAME: `feature://STORE/NAME`; a URI is kept as is.

    >>> feature_asset("USER_AGE"), feature_asset("F", "online")
    ('feature://store/USER_AGE', 'feature://online/F')
    >>> feature_asset("feature://other/F", "online")
    'feature://other/F'
    """
    if is_uri(name):
        return name
    store = store or DEFAULT_STORE
    if is_uri(store):  # a store given as a namespace URI
        return f"{store.rstrip('/')}/{name}"
    return f"feature://{store}/{name}"


def model_asset(name: str) -> str:
    """`model://registry/NAME` for a plain name; a URI is kept as is."""
    return name if is_uri(name) else f"{MODEL_NAMESPACE}/{name}"


def service_asset(name: str) -> str:
    """`service://inference/NAME` for a plain name; a URI is kept as is."""
    return name if is_uri(name) else f"{SERVICE_NAMESPACE}/{name}"


# -- field access -------------------------------------------------------------


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string",
            list: "list", dict: "object"}.get(type(value), type(value).__name__)


def _first_key(config: Mapping[str, Any], keys: Iterable[str]) -> str | None:
    """The first of `keys` present with a non-null value."""
    for key in keys:
        if config.get(key) is not None:
            return key
    return None


def _str(kind: str, config: Mapping[str, Any], key: str) -> str:
    value = config[key]
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            f"{kind} config: {key!r} must be a non-empty string (got {_type_name(value)})"
        )
    return value.strip()


def _str_list(kind: str, config: Mapping[str, Any], key: str) -> list[str]:
    value = config[key]
    if not isinstance(value, list):
        raise ConfigError(
            f"{kind} config: {key!r} must be a list of strings (got {_type_name(value)})"
        )
    out: list[str] = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise ConfigError(
                f"{kind} config: '{key}[{i}]' must be a non-empty string (got {_type_name(item)})"
            )
        out.append(item.strip())
    return out


def _asset(kind: str, key: str, value: str) -> str:
    if not is_uri(value):
        raise ConfigError(f"{kind} config: {key!r} must be an asset URI (SCHEME://NAME)")
    return value


def _optional_str(kind: str, config: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    key = _first_key(config, keys)
    return None if key is None else _str(kind, config, key)


# -- kinds --------------------------------------------------------------------


def _feature(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    kind = "feature"
    name_key = _first_key(config, ("feature", "name"))
    if name_key is None:
        raise ConfigError("feature config: missing 'feature' (the feature name)")
    name = _str(kind, config, name_key)
    store = _optional_str(kind, config, ("store", "feature_store"))
    sources: list[str] = []
    for key in ("sources", "inputs"):
        if config.get(key) is not None:
            sources += [_asset(kind, f"{key}[{i}]", s)
                        for i, s in enumerate(_str_list(kind, config, key))]
    if config.get("source") is not None:
        sources.append(_asset(kind, "source", _str(kind, config, "source")))
    if not sources:
        raise ConfigError("feature config: missing or empty 'sources'")
    target = feature_asset(name, store)
    return [(src, target) for src in sources]


def _training(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    kind = "training"
    model_key = _first_key(config, ("output_model", "output", "model"))
    if model_key is not None:
        model = model_asset(_str(kind, config, model_key))
    elif config.get("model_name") is not None:
        model = model_asset(_str(kind, config, "model_name"))
    else:
        raise ConfigError("training config: missing 'model_name' (or 'output_model')")
    if model_key is not None and config.get("model_name") is not None:
        _str(kind, config, "model_name")  # still type-checked when present
    store = _optional_str(kind, config, ("store", "feature_store"))

    inputs: list[str] = []
    for key in ("input_dataset", "dataset"):
        if config.get(key) is not None:
            inputs.append(_asset(kind, key, _str(kind, config, key)))
    for key in ("input_datasets", "datasets"):
        if config.get(key) is not None:
            inputs += [_asset(kind, f"{key}[{i}]", d)
                       for i, d in enumerate(_str_list(kind, config, key))]
    if config.get("features") is not None:
        inputs += [feature_asset(f, store) for f in _str_list(kind, config, "features")]
    if not inputs:
        raise ConfigError("training config: no inputs (needs 'input_dataset' or 'features')")
    return [(src, model) for src in inputs]


def _inference(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    kind = "inference"
    if config.get("service") is None:
        raise ConfigError("inference config: missing 'service'")
    service = service_asset(_str(kind, config, "service"))
    models: list[str] = []
    if config.get("models") is not None:
        models += [model_asset(m) for m in _str_list(kind, config, "models")]
    if config.get("model") is not None:
        models.append(model_asset(_str(kind, config, "model")))
    if not models:
        raise ConfigError("inference config: missing or empty 'models'")
    return [(model, service) for model in models]


_KINDS: dict[str, Callable[[Mapping[str, Any]], list[tuple[str, str]]]] = {
    "feature": _feature,
    "training": _training,
    "inference": _inference,
}


def config_pairs(kind: Any, config: Any) -> list[tuple[str, str]]:
    """The (src, dst) pairs a config of `kind` declares, deduplicated, in order."""
    parse = _KINDS.get(kind) if isinstance(kind, str) else None
    if parse is None:
        raise ConfigError("config event: 'kind' must be one of 'feature', 'training', 'inference'")
    if not isinstance(config, Mapping):
        raise ConfigError(f"config event: 'config' must be an object (got {_type_name(config)})")
    seen: set[tuple[str, str]] = set()
    out: list[tuple[str, str]] = []
    for pair in parse(config):
        if pair[0] != pair[1] and pair not in seen:
            seen.add(pair)
            out.append(pair)
    return out


def config_signals(event: Mapping[str, Any]) -> list[FlowSignal]:
    """The `CONFIG` flow signals of one (envelope-validated) `config` event.

    >>> [s.dst for s in config_signals({"v": 1, "type": "config", "config_id": "c", "ts": 5,
    ...     "kind": "inference", "config": {"service": "svc", "models": ["m"]}})]
    ['service://inference/svc']
    """
    ts = event.get("ts")
    if not isinstance(ts, int) or isinstance(ts, bool):
        raise ConfigError(f"config event: 'ts' must be an integer (got {_type_name(ts)})")
    pairs = config_pairs(event.get("kind"), event.get("config"))
    return [FlowSignal(src=src, dst=dst, kind="CONFIG", origin="config", ts=ts)
            for src, dst in pairs]
