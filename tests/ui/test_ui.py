"""`naiad ui` in a real headless browser (Debian's chromium through Playwright), plus its guards.

The browser tests read the data the page charts from ``window.naiadCharts`` (what the page
drew, per chart: path, series of x/y per run, fork markers), never pixels.
"""

from __future__ import annotations

import http.client
import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

import naiad
from naiad._ui import start, stop
from naiad._ui._security import Guard
from naiad._ui._series import m4_indices

PROJECT = "ui"
SPIKE_STEP, SPIKE_VALUE, SPIKE_POINTS = 123_457, 40.0, 200_000
FILE_BYTES = b"id,label\n1,cat\n2,dog\n" + bytes(range(256))


def _loss(step: int, scale: float) -> float:
    return scale * math.exp(-step / 120) + 0.05


def _make_store(root: Path | str) -> dict[str, Any]:
    """A few runs: a sweep, a forked experiment, a 200,000-point series with one spike."""
    kw: dict[str, Any] = {"store": root, "project": PROJECT}
    with naiad.Run(experiment_name="seabird", run_id="seabird-1", tags=["baseline"], **kw) as run:
        run["config"] = {"lr": 0.001, "batch_size": 32, "optimizer": "adam"}
        for s in range(1, 301):
            run.log_metrics(
                {"training/val/loss": _loss(s, 2.0), "training/train/loss": _loss(s, 2.2)}, step=s
            )
        run["model/weights"].upload(naiad.File(FILE_BYTES, name='we"ird/../name.csv'))
        for i, line in enumerate(["loading data", "epoch 1 <b>loss</b>=0.5", "done"]):
            run["monitoring/stdout"].append(line, step=i)
    with naiad.Run(
        experiment_name="seabird", run_id="seabird-2", fork_run_id="seabird-1", fork_step=200, **kw
    ) as run:
        for s in range(201, 401):
            run.log_metrics(
                {"training/val/loss": _loss(s, 1.5), "training/train/loss": _loss(s, 1.6)}, step=s
            )
    for i, lr in enumerate([0.01, 0.003, 0.0003]):
        with naiad.Run(experiment_name=f"heron-{i}", run_id=f"heron-{i}", tags=["sweep"], **kw) as run:
            run["config"] = {"lr": lr, "batch_size": 64, "optimizer": "adam"}
            for s in range(1, 101):
                run.log_metrics({"training/train/loss": _loss(s, 1.0 + i)}, step=s)
    with naiad.Run(experiment_name="spike", run_id="spike-1", **kw) as run:
        run["config/lr"] = 0.1
        for s in range(SPIKE_POINTS):
            value = SPIKE_VALUE if s == SPIKE_STEP else math.sin(s / 3000)
            run.log_metrics({"training/train/loss": value}, step=s)
    return kw


@pytest.fixture(scope="module", params=["sqlite", "postgres", "http"])
def ui(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    module_stores: Callable[[str, Path], Path | str],
) -> Iterator[dict[str, Any]]:
    """The app over the embedded store and over the team store (PostgreSQL + S3), the same tests."""
    root = module_stores(request.param, tmp_path_factory.mktemp("ui") / "store")
    kw = _make_store(root)
    server = start(store=root, project=PROJECT, port=0)
    yield {"url": server.url, "port": server.server_address[1], "store": root, "kw": kw}
    stop(server)


@pytest.fixture
def page(browser: Any, ui: dict[str, Any]) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.set_default_timeout(30_000)
    yield pg
    context.close()
    assert not errors, errors


def _open(page: Any, ui: dict[str, Any], hash_: str = "#/runs") -> None:
    page.goto(ui["url"] + hash_)
    page.wait_for_function("() => window.naiadTable && window.naiadTable.renderedAt > 0")


def _chart(page: Any, path: str, runs: int) -> dict[str, Any]:
    page.wait_for_function(
        "([p, n]) => window.naiadCharts[p] && window.naiadCharts[p].series.length === n", arg=[path, runs]
    )
    return page.evaluate("(p) => window.naiadCharts[p]", path)  # type: ignore[no-any-return]


def _keys(page: Any) -> list[str]:
    return page.evaluate(  # type: ignore[no-any-return]
        "() => [...document.querySelectorAll('#tbody .tr[data-key]')]"
        ".sort((a, b) => a.offsetTop - b.offsetTop).map((r) => r.dataset.key)"
    )


def _wait_keys(page: Any, keys: list[str]) -> None:
    page.wait_for_function(
        "(k) => JSON.stringify(window.naiadTable.rows.map((r) => r.key)) === JSON.stringify(k)", arg=keys
    )


# -- browser ---------------------------------------------------------------------------------------
def test_runs_table_loads_filters_with_the_query_grammar_and_sorts(page: Any, ui: dict[str, Any]) -> None:
    _open(page, ui)
    assert sorted(_keys(page)) == ["heron-0", "heron-1", "heron-2", "seabird", "spike"]
    row = page.locator('#tbody .tr[data-key="seabird"]')
    assert "seabird-2" in row.inner_text()  # the experiment's head is the fork
    page.fill("#filter", 'config/lr >= 0.001 and sys/tags contains "sweep"')
    page.press("#filter", "Enter")
    page.wait_for_function("() => window.naiadTable.rows.length === 2")
    assert sorted(_keys(page)) == ["heron-0", "heron-1"]
    page.locator(".th", has_text="config/lr").click()  # ascending
    _wait_keys(page, ["heron-1", "heron-0"])
    assert _keys(page) == ["heron-1", "heron-0"]
    page.locator(".th", has_text="config/lr").click()  # descending
    _wait_keys(page, ["heron-0", "heron-1"])
    page.fill("#filter", "config/lr >")
    page.press("#filter", "Enter")
    page.wait_for_selector("#filter-error:not([hidden])")
    assert "column 12" in page.inner_text("#filter-error")
    page.fill("#filter", "")
    page.press("#filter", "Enter")
    page.click('#mode button[data-heads="0"]')  # every run, the fork's parent included
    page.wait_for_function("() => window.naiadTable.rows.length === 6")
    assert "seabird-1" in _keys(page)


def test_charts_keep_a_single_point_spike_and_stitch_the_fork(page: Any, ui: dict[str, Any]) -> None:
    _open(page, ui, "#/charts?run=seabird-2&run=spike-1&run=heron-0")
    loss = _chart(page, "training/train/loss", 3)
    spike = next(s for s in loss["series"] if s["run"] == "spike-1")
    assert spike["n"] == SPIKE_POINTS and spike["downsampled"]
    assert len(spike["x"]) <= 4 * 1400
    top = max(range(len(spike["y"])), key=lambda i: spike["y"][i])
    assert (spike["x"][top], spike["y"][top]) == (SPIKE_STEP, SPIKE_VALUE)

    val = _chart(page, "training/val/loss", 3)
    fork = next(s for s in val["series"] if s["run"] == "seabird-2")
    assert fork["x"] == list(range(1, 401))  # one continuous curve: parent to 200, child after
    assert fork["y"][199] == _loss(200, 2.0) and fork["y"][200] == _loss(201, 1.5)
    assert [(g["run"], g["from"], g["to"]) for g in fork["segments"]] == [
        ("seabird-1", 1, 200),
        ("seabird-2", 201, 400),
    ]
    assert [(f["run"], f["step"], f["parent"], f["x"]) for f in val["forks"]] == [
        ("seabird-2", 200, "seabird-1", 200)
    ]

    # zooming asks the server again: the visible step range comes back in full detail
    page.evaluate("() => Charts.setZoom([123000, 124000])")
    page.wait_for_function(
        "() => window.naiadCharts['training/train/loss'].series.find((s) => s.run === 'spike-1').n === 1001"
    )
    zoomed = page.evaluate(
        "() => window.naiadCharts['training/train/loss'].series.find((s) => s.run === 'spike-1')"
    )
    assert not zoomed["downsampled"] and zoomed["x"] == list(range(123000, 124001))

    page.dblclick('.chart[data-path="training/val/loss"] .u-over')  # resets the zoom of every chart
    page.wait_for_function(
        "() => window.naiadCharts['training/train/loss'].series.find((s) => s.run === 'spike-1').downsampled"
    )
    assert "zoom=" not in page.evaluate("() => window.__naiad.url")
    page.uncheck("#stitch")  # each run's own points
    page.wait_for_function(
        "() => window.naiadCharts['training/val/loss'] && !window.naiadCharts['training/val/loss'].stitched"
    )
    own = _chart(page, "training/val/loss", 3)
    mine = next(s for s in own["series"] if s["run"] == "seabird-2")
    assert mine["x"] == list(range(201, 401)) and own["forks"] == []


def test_run_page_shows_fields_lineage_console_and_downloads_a_file(page: Any, ui: dict[str, Any]) -> None:
    _open(page, ui, "#/run/seabird-1")
    page.wait_for_selector(".run-head h1")
    page.wait_for_selector("pre.console div")
    assert "seabird-2" in page.inner_text(".lineage") and "200" in page.inner_text(".lineage")
    assert "0.001" in page.inner_text(".tree")
    console = page.inner_text("pre.console")
    assert "epoch 1 <b>loss</b>=0.5" in console  # user strings are text, never markup
    assert page.locator("pre.console b").count() == 0
    with page.expect_download() as info:
        page.click("a.download")
    download = info.value
    assert Path(download.path()).read_bytes() == FILE_BYTES
    assert download.suggested_filename == "weights.csv"


def test_compare_highlights_only_the_differing_values(page: Any, ui: dict[str, Any]) -> None:
    _open(page, ui, "#/compare?run=heron-0&run=heron-1")
    page.wait_for_selector("table.compare")
    rows = {r["path"]: r for r in page.evaluate("() => window.naiadCompare.rows")}
    assert rows["config/lr"]["differs"] and not rows["config/batch_size"]["differs"]
    shown = page.locator("table.compare td.path").all_inner_texts()
    assert "config/lr" in shown and "config/batch_size" not in shown
    assert page.locator("table.compare td.diff").count() >= 2


def test_a_live_run_s_new_points_appear_while_the_page_polls(page: Any, ui: dict[str, Any]) -> None:
    with naiad.Run(experiment_name="otter", run_id="otter-1", **ui["kw"]) as run:
        for s in range(1, 11):
            run.log_metrics({"training/train/loss": 1.0 / s}, step=s)
        run.wait()
        _open(page, ui, "#/charts?run=otter-1")
        first = _chart(page, "training/train/loss", 1)["series"][0]
        assert first["active"] and first["last_step"] == 10
        for s in range(11, 31):
            run.log_metrics({"training/train/loss": 1.0 / s}, step=s)
        run.wait()
        page.wait_for_function(
            "() => window.naiadCharts['training/train/loss'].series[0].last_step === 30", timeout=20_000
        )
        live = page.evaluate("() => window.naiadCharts['training/train/loss'].series[0]")
        assert live["x"] == list(range(1, 31)) and live["y"][-1] == 1.0 / 30
        run.log_metrics({"training/val/loss": 0.5}, step=30)  # a new metric gets its own chart
        run.wait()
        val = _chart(page, "training/val/loss", 1)["series"][0]
        assert (val["x"], val["y"]) == ([30], [0.5])
        page.goto(ui["url"] + "#/runs")
        page.wait_for_selector('#tbody .tr[data-key="otter"] .state.active')


# -- guards (no browser) ---------------------------------------------------------------------------
def _get(port: int, path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers={"Host": f"127.0.0.1:{port}", **(headers or {})})
    resp = conn.getresponse()
    resp.read_body = resp.read()  # type: ignore[attr-defined]
    conn.close()
    return resp


def test_requests_from_other_origins_and_rebound_hosts_are_refused(ui: dict[str, Any]) -> None:
    port = ui["port"]
    assert _get(port, "/api/info").status == 200
    assert _get(port, "/api/info", {"Origin": f"http://127.0.0.1:{port}"}).status == 200
    assert _get(port, "/api/info", {"Origin": "http://evil.example"}).status == 403
    assert _get(port, "/api/info", {"Origin": f"http://127.0.0.1:{port + 1}"}).status == 403
    assert _get(port, "/api/info", {"Origin": "null"}).status == 403
    assert _get(port, "/api/info", {"Sec-Fetch-Site": "cross-site"}).status == 403
    assert _get(port, "/api/info", {"Host": f"evil.example:{port}"}).status == 403  # DNS rebinding
    assert _get(port, "/", {"Host": f"localhost:{port}"}).status == 200


def test_a_token_is_required_on_every_request_when_configured(ui: dict[str, Any]) -> None:
    server = start(store=ui["store"], project=PROJECT, port=0, token="s3cret-token")
    try:
        port = server.server_address[1]
        assert server.url.endswith("?token=s3cret-token")
        assert _get(port, "/").status == 401
        assert _get(port, "/api/runs").status == 401
        assert _get(port, "/api/info", {"X-Naiad-Token": "wrong"}).status == 401
        assert _get(port, "/api/info", {"X-Naiad-Token": "s3cret-token"}).status == 200
        assert _get(port, "/api/info", {"Authorization": "Bearer s3cret-token"}).status == 200
        first = _get(port, "/?token=s3cret-token")  # the printed address: sets a cookie, drops the token
        assert first.status == 303 and first.getheader("Location") == "/"
        cookie = first.getheader("Set-Cookie") or ""
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        again = _get(port, "/api/info", {"Cookie": cookie.split(";")[0]})
        assert again.status == 200
        assert (
            _get(port, "/api/info", {"Cookie": cookie.split(";")[0], "Origin": "http://evil.example"}).status
            == 403
        )
    finally:
        stop(server)


def test_guard_rules() -> None:
    g = Guard(token=None, hosts=frozenset({"box.lan"}))
    assert g.check({"Host": "127.0.0.1:1"}, {}).ok and g.check({"Host": "[::1]:8765"}, {}).ok
    assert g.check({"Host": "box.lan:8765"}, {}).ok and g.check({"Host": "localhost"}, {}).ok
    assert not g.check({}, {}).ok  # no Host at all
    assert not g.check({"Host": "attacker.example:8765"}, {}).ok
    assert not g.check({"Host": "127.0.0.1:x"}, {}).ok


def test_api_answers_json_errors_and_never_serves_files_outside_static(ui: dict[str, Any]) -> None:
    port = ui["port"]
    bad = _get(port, "/api/runs?filter=" + quote("config/lr >"))
    assert bad.status == 400
    body = json.loads(bad.read_body)  # type: ignore[attr-defined]
    assert body["column"] == 12 and "column 12" in body["error"]
    assert _get(port, "/api/run?id=nope").status == 404
    assert _get(port, "/../../etc/passwd").status == 404
    assert _get(port, "/%2e%2e/pyproject.toml").status == 404
    page = _get(port, "/")
    assert "script-src 'self'" in (page.getheader("Content-Security-Policy") or "")
    assert page.getheader("X-Frame-Options") == "DENY"
    download = _get(port, "/api/file?id=seabird-1&path=model/weights")
    assert download.read_body == FILE_BYTES  # type: ignore[attr-defined]
    assert download.getheader("Content-Type") == "application/octet-stream"
    assert download.getheader("Content-Disposition", "").startswith('attachment; filename="weights.csv"')


def test_m4_downsampling_keeps_extremes_of_every_pixel_bucket() -> None:
    np = pytest.importorskip("numpy")
    x = np.arange(1_000_000, dtype=float)
    y = np.sin(x / 1000)
    y[777_777], y[5] = -50.0, np.nan
    keep = m4_indices(x, y, 800)
    assert keep.size <= 4 * 800 and 777_777 in keep and 0 in keep and 999_999 in keep
    assert np.all(np.diff(keep) > 0)


def test_series_api_returns_only_new_points_after_since(ui: dict[str, Any]) -> None:
    port = ui["port"]
    resp = _get(port, "/api/series?run=seabird-2&path=training/val/loss&since=395")
    [series] = json.loads(resp.read_body)["charts"]["training/val/loss"]  # type: ignore[attr-defined]
    assert series["x"] == [396, 397, 398, 399, 400] and series["steps"] == series["x"]
    assert not series["active"]


def test_concurrent_requests_are_served(ui: dict[str, Any]) -> None:
    statuses: list[int] = []

    def hit() -> None:
        statuses.append(_get(ui["port"], "/api/series?run=spike-1&path=training/train/loss&width=300").status)

    threads = [threading.Thread(target=hit) for _ in range(12)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert statuses == [200] * 12, (statuses, time.monotonic() - started)
