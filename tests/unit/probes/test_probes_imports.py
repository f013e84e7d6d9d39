"""`lineage-probes` is a separate light distribution: it imports nothing of the pipeline."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
FORBIDDEN = {"streams", "analyzers", "state", "vocab", "matcher_rs", "loadtest", "scripts",
             "tests", "faust", "rocksdict", "orjson", "aiokafka"}
# aiokafka is patched when the application has it, never needed: imported inside install()
LAZY_ONLY = {"aiokafka"}


def test_no_pipeline_imports() -> None:
    bad = []
    for path in sorted((ROOT / "probes" / "lineage_probes").rglob("*.py")):
        tree = ast.parse(path.read_text())
        top_level = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            for name in names:
                top = name.split(".")[0]
                if top in FORBIDDEN and (top not in LAZY_ONLY or id(node) in top_level):
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")
    assert not bad, "\n".join(bad)
