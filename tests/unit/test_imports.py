"""The house rules: which package may import which (docs/ARCHITECTURE.md draws them).

Every import statement of the project's source is read with `ast` (function-
level and TYPE_CHECKING imports included) and checked against the table below.
A new top-level package names what it may import in LAYERS.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Top-level package -> the project packages it may import (besides itself).
LAYERS: dict[str, frozenset[str]] = {
    "vocab": frozenset(),
    "matcher_rs": frozenset(),
    "analyzers": frozenset({"vocab", "matcher_rs"}),
    "state": frozenset({"vocab"}),
    "streams": frozenset({"vocab", "matcher_rs", "analyzers", "state"}),
    "loadtest": frozenset({"vocab", "matcher_rs", "analyzers", "state", "streams"}),
}
#: Project names no package above may import (test and demo scaffolding).
OUTSIDE = frozenset({"tests", "scripts"})

#: Inside `streams/`: subpackage (or module) -> the `streams.*` parts it may import.
#: `streams.pipeline.app` assembles the worker, so it alone in `pipeline/` sees the
#: graph and policy services; `streams.cli` is imported by nothing but itself.
STREAMS: dict[str, frozenset[str]] = {
    "streams.settings": frozenset(),
    "streams.kafka": frozenset({"streams.settings", "streams.pipeline.topology"}),
    "streams.pipeline": frozenset({"streams.settings", "streams.kafka", "streams.pipeline"}),
    "streams.pipeline.app": frozenset({"streams.settings", "streams.kafka", "streams.pipeline",
                                       "streams.graph", "streams.policy"}),
    "streams.graph": frozenset({"streams.settings", "streams.kafka", "streams.pipeline"}),
    "streams.policy": frozenset({"streams.settings", "streams.kafka", "streams.pipeline",
                                 "streams.graph"}),
    "streams.archive": frozenset({"streams.settings", "streams.kafka"}),
    "streams.localkafka": frozenset({"streams.settings"}),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) of every absolute import in `path`."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:  # `from streams import kafka` names a module too
                yield node.lineno, f"{node.module}.{alias.name}"


def _sources(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "target" not in p.parts)


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _streams_rule(module: str) -> frozenset[str] | None:
    """The rule of the most specific STREAMS entry that holds `module`."""
    owners = [key for key in STREAMS if _under(module, key)]
    return STREAMS[max(owners, key=len)] if owners else None


def test_every_packaged_python_package_has_a_rule() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packaged = set(config["tool"]["maturin"]["python-packages"]) | {"matcher_rs"}
    assert packaged <= set(LAYERS), f"add {sorted(packaged - set(LAYERS))} to LAYERS"


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_imports_point_downward(package: str) -> None:
    project = set(LAYERS) | OUTSIDE
    bad = []
    for path in _sources(package):
        for line, name in _imports(path):
            top = name.split(".")[0]
            if top in project and top != package and top not in LAYERS[package]:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert not bad, "\n".join(bad)


def test_streams_rooms_import_only_what_their_rule_allows() -> None:
    bad = []
    for path in _sources("streams"):
        module = _module_name(path)
        own = ".".join(module.split(".")[:2])
        rule = _streams_rule(module)
        for line, name in _imports(path):
            if not _under(name, "streams") or name == "streams" or _under(name, own):
                continue
            if _under(name, "streams.cli") and own != "streams.cli":
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {name} (the CLI is a leaf)")
            elif rule is not None and not any(_under(name, allowed) for allowed in rule):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert not bad, "\n".join(bad)


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    """The scan finds function-level imports too (the old loadtest cycle hid in one)."""
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from loadtest.driver import run_load\n")
    assert (2, "loadtest.driver") in list(_imports(source))
