"""The web UI served by `naiad server`: behind its tokens, with live updates by SSE."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import naiad
from tests.conftest import NaiadServer


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return e.code


def test_the_ui_needs_a_token_and_shows_only_what_it_may_read(http_server: NaiadServer) -> None:
    writer = http_server.token("trainer")
    for project in ("vision", "nlp"):
        with naiad.Run(store=http_server.url, project=project, run_id=f"{project}-1", token=writer) as run:
            run.log_metrics({"loss": 0.5}, step=0)
    assert _status(f"{http_server.url}/") == 401
    assert _status(f"{http_server.url}/api/info") == 401
    viewer = http_server.token("viewer", read=("vision",), write=())
    with urllib.request.urlopen(f"{http_server.url}/api/info?token={viewer}", timeout=30) as r:
        assert json.loads(r.read())["projects"] == ["vision"]
    assert _status(f"{http_server.url}/api/runs?project=nlp&token={viewer}") == 403


def test_live_updates_reach_the_browser(http_server: NaiadServer, browser: Any) -> None:
    token = http_server.token("viewer")
    run = naiad.Run(store=http_server.url, run_id="live", experiment_name="seabird", token=token)
    run.log_metrics({"loss": 1.0}, step=0)
    run.wait()
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(f"{http_server.url}/?token={token}")  # the cookie keeps it from here on
        page.wait_for_function("() => window.naiadTable && window.naiadTable.renderedAt > 0")
        assert "token=" not in page.url
        page.wait_for_function("() => window.naiadTable.rows.map((r) => r.key).join() === 'seabird'")
        page.evaluate(
            "() => { window.got = []; const s = new EventSource('/api/events');"
            " s.onmessage = (e) => window.got.push(JSON.parse(e.data)); }"
        )
        page.wait_for_timeout(500)  # the stream is open before the run writes again
        run.log_metrics({"loss": 0.5}, step=1)
        run.wait()
        page.wait_for_function("() => window.got.some((m) => m.run === 'live')")
    finally:
        context.close()
        run.close()
