"""The examples in the native module's stub (matcher_rs/_native.pyi) run against the module.

The stub documents the Rust classes and functions; `test_doctests` cannot
import a `.pyi`, so its docstrings are read with `ast` and run here.
"""

from __future__ import annotations

import ast
import doctest
from pathlib import Path

import pytest

import matcher_rs
from matcher_rs import _native

STUB = Path(matcher_rs.__file__).with_name("_native.pyi")


def _docstrings() -> list[tuple[str, str]]:
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)):
            doc = ast.get_docstring(node, clean=True)
            if doc and ">>> " in doc:
                found.append((getattr(node, "name", "_native"), doc))
    return found


DOCSTRINGS = _docstrings()


def test_examples_are_found() -> None:
    assert {"ProbeBatch", "SignalBatch"} <= {name for name, _ in DOCSTRINGS}


@pytest.mark.parametrize(("name", "doc"), DOCSTRINGS, ids=[name for name, _ in DOCSTRINGS])
def test_stub_examples(name: str, doc: str) -> None:
    test = doctest.DocTestParser().get_doctest(doc, dict(vars(_native)), name, str(STUB), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {name} fail"
