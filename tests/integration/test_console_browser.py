"""The console in a real headless Chromium, served by a real worker on the bundled example.

One worker (with an API token) runs the pipeline on examples/photo_location.jsonl;
the test signs in once per tab, searches for the protected field, opens
its neighbourhood, expands a node, filters by confidence, follows a shared
URL, opens the zone, previews and confirms a bulk exclusion, and watches
enforcement decisions arrive and both violations turn resolved live on the
violations page. Each view is
saved as a PNG; with LINEAGE_CONSOLE_SCREENSHOTS=1 into docs/console/ (shown
in docs/CONSOLE.md).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from playwright import sync_api as playwright_api

from streams.settings import Settings
from tests.integration.worker import LINEAGE, cli_args, send_file, stop_worker

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "photo_location.jsonl"
#: docs/console/ when LINEAGE_CONSOLE_SCREENSHOTS=1 (to refresh the docs' pictures);
#: otherwise a scratch directory, so a test run leaves the tree clean.
SHOTS = (ROOT / "docs" / "console" if os.environ.get("LINEAGE_CONSOLE_SCREENSHOTS") == "1"
         else Path(tempfile.gettempdir()) / "lineage-console-screenshots")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
TOKEN = "browser-test-token"
POLICY = "location-not-for-ads"
WEB = "web://photos-web/handlePhotoUpload#location"
MODEL = "model://registry/ad_targeting_model"
RANKER = "service://ads/ad_ranker"
STATIC_SINK = "http://ads-service/ad_targeting#location"
LIVE_SINK = "http://ads-service/audience"  # a decision produced after the page loaded
CUT = "hive://warehouse/default.location_analytics_tbl"  # every path to an ads sink crosses it
#: An asset whose name is markup: the page must show it as text, never run it.
HOSTILE = "web://evil/<img src=x onerror=window.__xss=1>#f"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _api(base: str, path: str, params: dict[str, str] | None = None) -> Any:
    url = f"{base}/api/v1/console/{path}" + (f"?{urlencode(params)}" if params else "")
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _wait(what: str, check: Any, timeout_s: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(1.0)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def _decision(settings: Settings, *, sink: str = STATIC_SINK, decision: str = "blocked",
              ts: int = 1737540961000) -> None:
    """One decision on enforcement-events (`blocked` by default), as the probes write it."""
    import asyncio

    from streams.kafka.producer import make_producer

    event = {"v": 1, "type": "enforcement", "policy_id": POLICY,
             "mode": "enforce" if decision == "blocked" else "log",
             "decision": decision, "sink": sink, "sink_kind": "http", "source": WEB,
             "service": "photos-web", "trace_id": "ab" * 16, "code_location": "photos/up.py:88",
             "ts": ts}

    async def send() -> None:
        producer = make_producer(settings)
        await producer.start()
        try:
            await producer.send_and_wait(settings.topic("enforcement-events"),
                                         key=f"{POLICY}|{sink}".encode(),
                                         value=json.dumps(event).encode())
        finally:
            await producer.stop()

    # In a thread of its own: Playwright's sync API keeps an event loop on this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, send()).result(timeout=60)


@pytest.fixture()
def worker(settings: Settings) -> Iterator[str]:
    """A worker serving the console on a free port, with the example loaded."""
    port = _free_port()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "LINEAGE_API_TOKEN": TOKEN}
    with open(settings.data_dir / "worker.log", "ab") as log:
        proc = subprocess.Popen([LINEAGE, "worker", *cli_args(settings), "--api-port", str(port)],
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait("the worker's API", lambda: _api(base, "session"), 90)
        sent = send_file(settings, EXAMPLE)
        assert sent.returncode == 0, sent.stderr
        hostile = settings.data_dir / "hostile.jsonl"
        hostile.write_text(json.dumps({
            "v": 1, "type": "static", "source": HOSTILE, "sink": "http://ads-service/x#f",
            "ts": 1737540000000, "code_location": "evil.py:1", "analyzer": "test"}) + "\n")
        sent = send_file(settings, hostile)
        assert sent.returncode == 0, sent.stderr
        _decision(settings)

        def two_open() -> bool:
            events = _api(base, "violations", {"status": "open"})["violations"]
            return {e["sink"] for e in events} == {MODEL, RANKER}

        _wait("both violations open", two_open, 150)
        _wait("the static edges", lambda: _api(base, "search", {"q": "web://evil"})["total"], 60)
        yield base
    finally:
        stop_worker(proc)


@pytest.fixture()
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _open(context: Any, url: str) -> Any:
    """A new tab at `url`, signed in (each tab asks for the token once)."""
    page = context.new_page()
    page.goto(url)
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    return page


def _loaded(page: Any) -> None:
    page.wait_for_selector("body[data-loaded]", timeout=30_000)


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _drawn(page: Any) -> set[str]:
    return set(page.eval_on_selector_all("#node-table tbody tr",
                                         "rows => rows.map(r => r.dataset.id)"))


def _until(page: Any, check: Any, timeout_s: float = 30.0) -> Any:
    """Poll `check()` (page state read through Playwright) until it is truthy.

    The page's CSP forbids evaluated strings, so `wait_for_function` cannot run.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        page.wait_for_timeout(200)
    raise AssertionError("the page did not get there in time")


def test_console_end_to_end(worker: str, browser: Any, settings: Settings) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    expect = playwright_api.expect

    # Search: the protected field, by a part of its name.
    page = _open(context, f"{worker}/ui/")
    page.fill("#q", "handlePhotoUpload")
    page.press("#q", "Enter")
    expect(page.locator("#search-results")).to_contain_text(WEB)
    expect(page.locator("#search-count")).to_contain_text("assets match")
    expect(page.locator("#recent-title")).to_be_visible()
    expect(page.get_by_role("link", name=POLICY)).to_be_visible(timeout=30_000)
    _shot(page, "search")

    # A name that is markup is shown as text and runs nothing.
    other = _open(context, f"{worker}/ui/?q=web://evil")
    expect(other.locator("#search-results")).to_contain_text(HOSTILE)
    other.goto(f"{worker}/ui/asset?uri={quote(HOSTILE)}")
    _loaded(other)
    assert other.locator("#asset-uri").text_content() == HOSTILE
    assert other.locator("#main img").count() == 0
    assert other.evaluate("() => window.__xss") is None
    other.close()

    # Its neighbourhood, from the search result (same tab: no second sign-in).
    page.get_by_role("link", name=WEB, exact=True).click()
    _loaded(page)
    assert page.locator("#asset-uri").text_content() == WEB
    near = _drawn(page)
    assert {WEB, STATIC_SINK, "scribe://logs/photo_uploaded#location"} <= near
    # Expand a node at the hop bound: more of the graph appears.
    expandable = page.locator("#node-table button.expand").first
    expandable.click()
    expanded = _until(page, lambda: _drawn(page) if len(_drawn(page)) > len(near) else None)
    assert len(expanded) > len(near)
    _shot(page, "asset")

    # Filter by confidence: the low static candidate disappears; the URL says so.
    page.select_option("#min_confidence", "high")
    _until(page, lambda: STATIC_SINK not in _drawn(page))
    assert "min_confidence=high" in page.url
    shared = page.url

    # A shared URL reproduces the view in another tab.
    other = _open(context, shared)
    _loaded(other)
    assert other.locator("#min_confidence").input_value() == "high"
    assert STATIC_SINK not in _drawn(other) and WEB in _drawn(other)
    # ... and a path between two assets is highlighted.
    other.goto(f"{worker}/ui/asset?uri={quote(WEB)}&hops=1&path={quote(RANKER)}")
    _loaded(other)
    assert RANKER in _drawn(other)
    _shot(other, "asset-path")
    other.close()

    # Violations, live: both open.
    live = _open(context, f"{worker}/ui/violations")
    expect(live.locator("#live")).to_have_text("live", timeout=30_000)
    expect(live.locator("#violation-count")).to_have_text("2 open, 0 resolved")
    expect(live.locator("#violation-table")).to_contain_text(MODEL)
    decision = live.locator(f"#enforcement-table tr[data-sink='{STATIC_SINK}']")
    expect(decision).to_have_attribute("data-decision", "blocked")
    expect(decision).to_contain_text("photos/up.py:88")
    expect(decision.locator("td").nth(4)).to_have_text("1")  # its count

    # Decisions the probes take after the page loaded appear on it, never reloaded.
    live.evaluate("() => { window.__sameDocument = true; }")
    _decision(settings, sink=LIVE_SINK, decision="logged", ts=1737540962000)
    _decision(settings, ts=1737540963000)
    arrived = live.locator(f"#enforcement-table tr[data-sink='{LIVE_SINK}']")
    expect(arrived).to_have_attribute("data-live", "1", timeout=30_000)
    expect(arrived).to_have_attribute("data-decision", "logged")
    expect(decision.locator("td").nth(4)).to_have_text("2", timeout=30_000)
    expect(decision).to_have_attribute("data-live", "1")
    assert live.evaluate("() => window.__sameDocument") is True
    _shot(live, "violations")

    # The zone: select the table every ads path crosses, preview, confirm.
    page.goto(f"{worker}/ui/zones/{quote(POLICY)}")
    _loaded(page)
    expect(page.locator("#counts")).to_contain_text("denied")
    page.fill("#filter", "location_analytics_tbl")
    page.press("#filter", "Enter")
    page.wait_for_selector("#member-table tbody tr")
    page.check("#select-all")
    expect(page.locator("#selection")).to_contain_text("selected")
    page.click("#preview-exclude")
    message = page.locator("#cascade-message")
    expect(message).to_contain_text("excluding")
    expect(message).to_contain_text("resolves 2 violations")
    page.fill("#reviewer", "alice")
    page.fill("#reason", "aggregated, no precise locations")
    _shot(page, "zone")
    page.click("#confirm")
    expect(page.locator("#preview")).to_contain_text("Recorded", timeout=30_000)

    # The violations page (never reloaded) shows both resolved.
    expect(live.locator("#violation-count")).to_have_text("0 open, 2 resolved", timeout=90_000)
    expect(live.locator(f"#violation-table tr[data-sink='{MODEL}']")).to_have_attribute(
        "data-status", "resolved")
    _shot(live, "violations-resolved")

    # The zone now shows the cut in grey, with the reviewer's name.
    page.goto(f"{worker}/ui/zones/{quote(POLICY)}")
    _loaded(page)
    expect(page.locator("#member-table")).to_contain_text("exclude by alice")
    expect(page.locator("#counts li[data-state=denied] strong")).to_have_text("0")
    _shot(page, "zone-after")
    context.close()
