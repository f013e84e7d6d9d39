"""`lineage console`: the read-only console from the CLI's replica, against the real broker."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from streams.settings import Settings
from tests.integration.worker import LINEAGE, cli_args, send_file

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "photo_location.jsonl"
WEB = "web://photos-web/handlePhotoUpload#location"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _call(url: str, data: bytes | None = None, headers: dict[str, str] | None = None,
          ) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
            return response.status, (json.loads(body) if body[:1] in (b"{", b"[") else body)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_console_command_serves_read_only(settings: Settings) -> None:
    help_text = subprocess.run([LINEAGE, "console", "--help"], capture_output=True, text=True,
                               check=True).stdout
    assert "--port" in help_text and "read-only" in help_text
    refused = subprocess.run([LINEAGE, "console", "--bind", "0.0.0.0", *cli_args(settings)],
                             capture_output=True, text=True, check=False)
    assert refused.returncode != 0 and "token" in refused.stderr

    # The example's inputs (policies among them); no worker runs, so no graph
    # and no violations yet: the console still serves what there is.
    created = subprocess.run([LINEAGE, "topics", "create", *cli_args(settings)],
                             capture_output=True, text=True, check=False)
    assert created.returncode == 0, created.stderr
    sent = send_file(settings, EXAMPLE)
    assert sent.returncode == 0, sent.stderr
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([LINEAGE, "console", "--port", str(port), *cli_args(settings)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        status, session = 0, None
        while time.monotonic() < deadline:
            try:
                status, session = _call(f"{base}/api/v1/console/session")
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
        assert status == 200 and session["read_only"] is True
        status, page = _call(f"{base}/ui/")
        assert status == 200 and b"/ui/static/console.js" in page
        status, policies = _call(f"{base}/api/v1/console/policies")
        assert status == 200
        assert [p["policy_id"] for p in policies["policies"]] == ["location-not-for-ads"]
        status, body = _call(f"{base}/api/v1/console/reviews", data=json.dumps({
            "policy": "location-not-for-ads", "decision": "exclude", "assets": [WEB],
            "reviewer": "bob"}).encode(), headers={"Content-Type": "application/json",
                                                   "X-Lineage-CSRF": session["csrf"]})
        assert status == 403 and "read-only" in body["error"]
        status, found = _call(f"{base}/api/v1/console/violations")
        assert status == 200 and found == {"violations": []}  # no worker ran: none yet
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
