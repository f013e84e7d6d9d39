"""The page's source never turns text into markup, and its build is the one committed."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]
SOURCE = ROOT / "console" / "src"
STATIC = ROOT / "streams" / "console" / "static"

MARKUP_SINKS = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|"
                          r"new Function")


def test_no_markup_sinks_in_the_page_source() -> None:
    sources = sorted(SOURCE.rglob("*.js"))
    assert len(sources) >= 6
    for path in sources:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            assert not MARKUP_SINKS.search(line), f"{path.relative_to(ROOT)}:{number}: {line}"


def test_the_built_page_is_committed_with_the_package() -> None:
    html = (STATIC / "index.html").read_text()
    assert '<script src="/ui/static/console.js"></script>' in html
    assert "<script>" not in html  # no inline script: the CSP forbids it
    assert (STATIC / "console.js").stat().st_size > 100_000  # Cytoscape.js is bundled
    assert (SOURCE / "index.html").read_text() == html
    assert (SOURCE / "console.css").read_text() == (STATIC / "console.css").read_text()
