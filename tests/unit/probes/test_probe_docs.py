"""The `>>>` examples in the probes' docstrings run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["config", "security", "tracecontext", "naming", "sanitize", "sqlplan", "webinputs",
           "hooks.flask_hook", "hooks.django_hook", "hooks.redis_hook"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    module = importlib.import_module(f"lineage_probes.{name}")
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
