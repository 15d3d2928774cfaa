"""The UI's views, in a real browser, on a generated store: live charts, shared zoom, fork
markers, colours for many runs, log scale, metric filter, columns, failures, URL state, saved
views, media, groups, parallel coordinates, dark mode and shortcuts.

Assertions read what the page exposes for tests (``window.__naiad``: chart data and scales,
table rows, the address), never pixels. Every test runs over the embedded store and over the
team store (PostgreSQL + S3), as in ``test_ui.py``.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from conftest import png

import naiad
from naiad._cli import main as cli
from naiad._storage import open_store
from naiad._ui import start, stop

PROJECT = "views"


def _store(root: Path | str) -> None:
    kw: dict[str, Any] = {"store": root, "project": PROJECT}
    for i, (opt, values) in enumerate(
        [("adam", 1.0), ("adam", 2.0), ("adam", 3.0), ("sgd", 10.0), ("sgd", 20.0)]
    ):
        with naiad.Run(experiment_name=f"grp-{i}", run_id=f"grp-{i}", **kw) as run:
            run["config"] = {"opt": opt, "lr": 0.1 * (i + 1)}
            run["checkpoints/best/path"] = f"/ckpt/{i}.pt"
            run["model/hash"] = "0123456789abcdef0123456789abcdef"
            for s in range(1, 21):
                run.log_metrics({"training/train/loss": values, "training/val/acc": values / 100}, step=s)
    with naiad.Run(experiment_name="parent", run_id="parent", **kw) as run:
        for s in range(1, 101):
            run.log_metrics({"training/val/loss": 1 / s}, step=s)
    for step in (48, 50, 52):
        with naiad.Run(
            experiment_name=f"child-{step}",
            run_id=f"child-{step}",
            fork_run_id="parent",
            fork_step=step,
            **kw,
        ) as run:
            for s in range(step + 1, 101):
                run.log_metrics({"training/val/loss": 2 / s}, step=s)
    with naiad.Run(experiment_name="narrow", run_id="narrow", **kw) as run:
        for s in range(1, 51):
            run.log_metrics({"training/val/loss": 0.10 + 0.02 * s / 50, "training/eval/loss": 0.5}, step=s)
    for i in range(52):
        with naiad.Run(experiment_name="many", run_id=f"many-{i:02d}", **kw) as run:
            run.log_metrics({"training/train/loss": float(i)}, step=1)
    with naiad.Run(experiment_name="vision", run_id="vision", **kw) as run:
        for s in range(3):
            run["images/pred"].append(naiad.File(png(8 + s, 8, (80 * s, 20, 20)), name="p.png"), step=s * 10)
            run.log_histograms({"hist/w": naiad.Histogram(bin_edges=[0, 1, 2, 3], counts=[s, 2, 5])}, step=s)
        run["images/sample"].upload(naiad.File(png(4, 4, (0, 0, 255)), name="s.png"))
        run["report"].upload(
            naiad.File(b"<p id=x>hi</p><script>document.title='pwned'</script>", name="r.html")
        )
        run["table"].upload(naiad.File(b"a,b\n1,2\n3,4\n", name="t.csv"))
    with naiad.Run(experiment_name="vision", run_id="vision-2", **kw) as run:
        run["images/pred"].append(naiad.File(png(5, 5, (0, 200, 0)), name="p.png"), step=5)
    try:
        with naiad.Run(experiment_name="crash", run_id="crash-msg", **kw) as run:
            run["config/lr"] = 0.3
            raise ValueError("loss is NaN")
    except ValueError:
        pass
    try:  # the lifecycle stores the traceback of an uncaught exception
        with naiad.Run(experiment_name="crash-tb", run_id="crash-tb", **kw) as run:
            run["config/lr"] = 0.3
            raise ValueError("loss is NaN")
    except ValueError:
        pass


@pytest.fixture(scope="module", params=["sqlite", "postgres", "http"])
def ui(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    module_stores: Callable[[str, Path], Path | str],
) -> Iterator[dict[str, Any]]:
    root = module_stores(request.param, tmp_path_factory.mktemp("views") / "store")
    _store(root)
    server = start(store=root, project=PROJECT, port=0)
    yield {"url": server.url, "port": server.server_address[1], "store": root}
    stop(server)


@pytest.fixture
def page(browser: Any, ui: dict[str, Any]) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.set_default_timeout(20_000)
    yield pg
    context.close()
    assert not errors, errors


def _go(page: Any, ui: dict[str, Any], hash_: str) -> None:
    page.goto(ui["url"] + hash_)
    page.wait_for_function("() => window.__naiad && window.__naiad.table.renderedAt > 0")


def _chart(page: Any, path: str, n: int = 1) -> dict[str, Any]:
    page.wait_for_function(
        "([p, n]) => { const c = window.__naiad.charts[p]; return c && c.scale && "
        "(c.groups ? c.groups.length : c.series.length) === n; }",
        arg=[path, n],
    )
    return page.evaluate("(p) => window.__naiad.charts[p]", path)  # type: ignore[no-any-return]


def _eval(page: Any, js: str, arg: Any = None) -> Any:
    return page.evaluate(js, arg)


def test_a_live_run_s_chart_x_range_grows_within_seconds(page: Any, ui: dict[str, Any]) -> None:
    stop_at = threading.Event()
    with naiad.Run(experiment_name="live", run_id="live-1", store=ui["store"], project=PROJECT) as run:
        for s in range(1, 21):
            run.log_metrics({"training/train/loss": 1 / s}, step=s)
        run.wait()
        _go(page, ui, "#/charts?run=live-1")
        first = _chart(page, "training/train/loss")
        assert first["scale"]["x"][1] <= 20
        for s in range(21, 61):
            run.log_metrics({"training/train/loss": 1 / s}, step=s)
        run.wait()
        page.wait_for_function(
            "() => window.__naiad.charts['training/train/loss'].scale.x[1] >= 60", timeout=10_000
        )
        stop_at.set()


def test_the_live_row_keeps_values_under_their_own_columns(page: Any, ui: dict[str, Any]) -> None:
    with naiad.Run(experiment_name="live-row", run_id="live-row", store=ui["store"], project=PROJECT) as run:
        run["config/opt"] = "lion"
        run.log_metrics({"training/val/acc": 0.5}, step=1)
        run.wait()
        _go(page, ui, "#/runs?heads=0&columns=config/lr,config/opt,training/val/acc")
        page.wait_for_function("() => window.__naiad.table.rows.some((r) => r.run === 'live-row')")
        run.log_metrics({"training/val/acc": 0.75}, step=2)
        run.wait()
        page.wait_for_function(
            "() => { const t = window.__naiad.table; const r = t.rows.find((r) => r.run === 'live-row');"
            " return r.cells[t.columns.indexOf('training/val/acc')] === 0.75; }",
            timeout=10_000,
        )
        table = _eval(page, "() => window.__naiad.table")
        row = next(r for r in table["rows"] if r["run"] == "live-row")
        cells = dict(zip(table["columns"], row["cells"]))
        assert cells == {"config/lr": None, "config/opt": "lion", "training/val/acc": 0.75}
        assert row["state"] == "active"


def test_zoom_is_shared_by_every_chart_and_forks_outside_it_are_not_drawn(
    page: Any, ui: dict[str, Any]
) -> None:
    _go(page, ui, "#/charts?run=child-48&run=child-50&run=child-52&run=narrow")
    val = _chart(page, "training/val/loss", 4)
    labels = val["forkLabels"]
    assert len(labels) == 3  # three forks two steps apart: three labels, none on another
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            overlap = a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
            assert not (overlap and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]), (a, b)
    _chart(page, "training/eval/loss", 4)  # only narrow has points there
    box = page.locator('.chart[data-path="training/val/loss"] .u-over').bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + 50)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + 50, steps=5)
    page.mouse.up()
    page.wait_for_function("() => window.__naiad.url.includes('zoom=')")
    page.wait_for_function(
        "() => ['training/val/loss', 'training/eval/loss'].every((p) => { const c = window.__naiad.charts[p];"
        " const near = (a, b) => Math.abs(a - b) < 1e-6;"
        " return c.zoom && near(c.scale.x[0], c.zoom[0]) && near(c.scale.x[1], c.zoom[1]); })"
    )
    zoomed = _eval(page, "() => window.__naiad.charts['training/val/loss']")
    assert zoomed["zoom"][0] > 60 and zoomed["forkLabels"] == []
    page.dblclick('.chart[data-path="training/eval/loss"] .u-over')  # another chart resets them all
    page.wait_for_function("() => !window.__naiad.url.includes('zoom=')")
    page.wait_for_function("() => window.__naiad.charts['training/val/loss'].scale.x[0] < 10")


def test_out_of_range_forks_have_no_marker_in_the_api(ui: dict[str, Any]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", ui["port"], timeout=10)
    conn.request(
        "GET",
        "/api/series?run=child-50&path=training/val/loss&from=60&to=90",
        headers={"Host": f"127.0.0.1:{ui['port']}"},
    )
    [series] = json.loads(conn.getresponse().read())["charts"]["training/val/loss"]
    assert [(f["step"], f["x"]) for f in series["forks"]] == [(50, None)]


def test_hovering_never_moves_the_layout(page: Any, ui: dict[str, Any]) -> None:
    _go(page, ui, "#/charts?run=grp-0&run=grp-1&run=grp-2&run=grp-3")
    _chart(page, "training/train/loss", 4)
    before = page.locator("#charts").bounding_box()
    box = page.locator('.chart[data-path="training/train/loss"] .u-over').bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 40)
    page.wait_for_selector('.chart[data-path="training/train/loss"] .tip:not([hidden])')
    assert page.locator("#charts").bounding_box() == before


def test_fifty_runs_get_distinct_colours_that_survive_a_reload(page: Any, ui: dict[str, Any]) -> None:
    runs = "&".join(f"run=many-{i:02d}" for i in range(52))
    _go(page, ui, f"#/charts?{runs}")
    _chart(page, "training/train/loss", 52)
    colours = _eval(page, "() => window.__naiad.state.colors")
    assert len(set(colours.values())) == 52
    page.reload()
    _chart(page, "training/train/loss", 52)
    assert _eval(page, "() => window.__naiad.state.colors") == colours


def test_log_scale_fits_the_data_and_the_metric_filter_matches_segments(
    page: Any, ui: dict[str, Any]
) -> None:
    _go(page, ui, "#/charts?run=narrow&log=1&metrics=val/")
    chart = _chart(page, "training/val/loss")
    lo, hi = chart["scale"]["y"]
    assert 0.09 < lo < 0.1 and 0.12 < hi < 0.13  # not squashed into 0.1 … 1
    assert _eval(page, "() => window.__naiad.chartPaths") == ["training/val/loss"]  # not eval/


def test_columns_mix_paths_and_regexes_and_defaults_skip_hashes(page: Any, ui: dict[str, Any]) -> None:
    _go(page, ui, "#/runs?heads=0&filter=" + "exists(model/hash)")
    page.wait_for_function("() => window.__naiad.table.rows.length === 5")
    columns = _eval(page, "() => window.__naiad.table.columns")
    assert {"config/lr", "config/opt", "training/train/loss"} <= set(columns)
    assert "model/hash" not in columns and "checkpoints/best/path" not in columns
    page.fill("#columns", "config/lr, /val/acc$/, min(training/train/loss)")
    page.press("#columns", "Enter")
    page.wait_for_function("() => window.__naiad.table.columns.length === 3")
    assert _eval(page, "() => window.__naiad.table.columns") == [
        "config/lr",
        "training/val/acc",
        "min(training/train/loss)",
    ]
    page.reload()  # the view comes back from the address
    page.wait_for_function(
        "() => window.__naiad.table.columns.length === 3 && window.__naiad.table.rows.length === 5"
    )
    assert page.input_value("#columns") == "config/lr, /val/acc$/, min(training/train/loss)"
    name = page.locator('#tbody .tr[data-run="grp-0"] .td.name')
    left = name.bounding_box()["x"]
    page.evaluate("() => { document.getElementById('table').scrollLeft = 400; }")
    page.wait_for_timeout(100)
    assert abs(name.bounding_box()["x"] - left) < 1  # the name column stays in view
    with page.expect_download() as info:
        page.click("#csv")
    text = Path(info.value.path()).read_text()
    assert text.splitlines()[0].endswith("config/lr,training/val/acc,min(training/train/loss)")
    assert len(text.splitlines()) == 6


def test_a_failed_run_shows_failed_and_its_traceback_first(page: Any, ui: dict[str, Any]) -> None:
    _go(page, ui, "#/run/crash-tb")
    page.wait_for_selector("#failure")
    shown = page.inner_text("#failure pre")
    assert shown.startswith("Traceback (most recent call last)") and "ValueError: loss is NaN" in shown
    assert _eval(page, "() => window.__naiad.run.state") == "failed"
    assert page.evaluate(
        "() => document.querySelector('#failure').compareDocumentPosition("
        "document.querySelector('.run-cols')) & Node.DOCUMENT_POSITION_FOLLOWING"
    )
    page.goto(ui["url"] + "#/run/crash-msg")
    page.wait_for_function("() => window.__naiad.run && window.__naiad.run.run === 'crash-msg'")
    assert "ValueError: loss is NaN" in page.inner_text("#failure pre")
    _go(page, ui, "#/runs?heads=0&filter=sys/failed")
    page.wait_for_function("() => window.__naiad.table.rows.length === 2")
    assert {r["state"] for r in _eval(page, "() => window.__naiad.table.rows")} == {"failed"}


def test_naiad_ls_shows_a_crashed_run_as_failed(
    ui: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        cli(["ls", "--store", str(ui["store"]), "--project", PROJECT, "-f", "sys/failed", "--format", "csv"])
        == 0
    )
    out = capsys.readouterr().out
    assert out.count(",failed,") == 2 and "inactive" not in out
    assert (
        cli(["show", "crash-tb", "--store", str(ui["store"]), "--project", PROJECT, "--format", "json"]) == 0
    )
    shown = json.loads(capsys.readouterr().out)
    assert shown["state"] == "failed" and shown["failure"] == "ValueError: loss is NaN"
    assert shown["fields"]["sys/diagnostics/traceback"]["value"].startswith("Traceback")
    assert cli(["show", "crash-tb", "--store", str(ui["store"]), "--project", PROJECT]) == 0
    tree = capsys.readouterr().out
    assert (
        "state failed" in tree.splitlines()[0] and "failed: ValueError: loss is NaN" in tree.splitlines()[1]
    )
    assert cli(["show", "grp-0", "--store", str(ui["store"]), "--project", PROJECT, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "inactive"


def test_a_new_run_page_opens_at_its_top(page: Any, ui: dict[str, Any]) -> None:
    _go(page, ui, "#/run/vision")
    page.wait_for_selector("[data-media='images/pred'] img")
    page.evaluate("() => { document.getElementById('view-run').scrollTop = 600; }")
    page.goto(ui["url"] + "#/run/crash-tb")
    page.wait_for_selector("#failure")
    assert page.evaluate("() => document.getElementById('view-run').scrollTop") == 0


def test_chart_options_and_zoom_survive_a_reload_and_views_are_saved(page: Any, ui: dict[str, Any]) -> None:
    _go(page, ui, "#/charts?run=parent&smooth=0.5&x=step&zoom=10,40&metrics=val/")
    chart = _chart(page, "training/val/loss")
    assert chart["scale"]["x"] == [10, 40] and chart["smooth"] == 0.5
    page.fill("#view-name", "zoomed parent")
    page.click("#view-save")
    page.wait_for_function("() => (window.__naiad.views || []).some((v) => v.name === 'zoomed parent')")
    other = open_store(ui["store"], create=False)  # what everyone else who opens the store sees
    try:
        saved = {v.name: v.url for v in other.views(PROJECT)}
    finally:
        other.close()
    assert saved["zoomed parent"].startswith("#/charts?")
    _go(page, ui, "#/runs")
    page.wait_for_function("() => (window.__naiad.views || []).length > 0")
    page.select_option("#views", label="zoomed parent")
    chart = _chart(page, "training/val/loss")
    page.wait_for_function("() => window.__naiad.charts['training/val/loss'].scale.x[0] === 10")
    assert _eval(page, "() => window.__naiad.state.smooth") == 0.5


def _api(ui: dict[str, Any], method: str, path: str, body: Any = None) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", ui["port"], timeout=60)
    headers = {"Host": f"127.0.0.1:{ui['port']}", "Content-Type": "application/json"}
    conn.request(method, path, None if body is None else json.dumps(body), headers)
    answer = conn.getresponse()
    status, data = answer.status, json.loads(answer.read())
    conn.close()
    return status, data


def test_the_views_api_saves_replaces_lists_and_deletes_per_project(ui: dict[str, Any]) -> None:
    post = f"/api/views?project={PROJECT}"
    assert _api(ui, "POST", post, {"name": " api view ", "url": "#/runs?sort=a"})[0] == 200
    status, data = _api(ui, "POST", post, {"name": "api view", "url": "#/runs?sort=b"})
    assert status == 200 and [v["url"] for v in data["views"] if v["name"] == "api view"] == ["#/runs?sort=b"]
    assert data["views"][0]["name"] == "api view"  # newest first
    status, err = _api(ui, "POST", post, {"name": "evil", "url": "javascript:alert(1)"})
    assert status == 400 and "must start with '#/'" in err["error"]
    assert _api(ui, "GET", "/api/views?project=elsewhere")[1] == {"views": []}  # per project
    status, data = _api(ui, "POST", post, {"name": "api view", "url": None})  # url null deletes
    assert status == 200 and "api view" not in {v["name"] for v in data["views"]}
    assert "api view" not in {v["name"] for v in _api(ui, "GET", f"/api/views?project={PROJECT}")[1]["views"]}


def test_api_changes_answers_a_new_token_when_a_run_writes(ui: dict[str, Any]) -> None:
    status, first = _api(ui, "GET", "/api/changes")
    assert status == 200 and first["token"]
    with naiad.Run(experiment_name="notify", run_id="notify-1", store=ui["store"], project=PROJECT) as run:
        run.log_metrics({"training/train/loss": 1.0}, step=1)
        run.wait()
        status, later = _api(ui, "GET", f"/api/changes?since={first['token']}&wait=20")
        assert status == 200 and later["token"] != first["token"]
        answers: list[Any] = []
        waiter = threading.Thread(
            target=lambda: answers.append(_api(ui, "GET", f"/api/changes?since={later['token']}&wait=20"))
        )
        waiter.start()
        run.log_metrics({"training/train/loss": 0.5}, step=2)  # during the wait (or just before it)
        run.wait()
        waiter.join(30)
    assert answers and answers[0][0] == 200 and answers[0][1]["token"] != later["token"]
    assert _api(ui, "GET", "/api/changes?wait=abc")[0] == 400


def test_the_page_and_the_api_never_show_the_store_password(page: Any, ui: dict[str, Any]) -> None:
    password = urlsplit(str(ui["store"])).password if isinstance(ui["store"], str) else None
    info = _api(ui, "GET", "/api/info")[1]
    shown = [json.dumps(info), json.dumps(_api(ui, "GET", "/api/run?id=grp-0")[1])]
    _go(page, ui, "#/run/grp-0")
    page.wait_for_function("() => window.__naiad.run && window.__naiad.run.run === 'grp-0'")
    shown.append(page.content())
    if str(ui["store"]).startswith("http://"):  # a naiad server: no password to hide at all
        assert info["store"] == ui["store"]
        return
    if password is None:
        assert info["store"] == str(Path(ui["store"]).resolve())
        return
    assert info["store"].startswith("postgresql://") and ":***@" in info["store"]
    assert not [text for text in shown if f":{password}@" in text or f"password={password}" in text]


def test_images_histograms_and_files_are_previewed_safely(page: Any, ui: dict[str, Any]) -> None:
    _go(page, ui, "#/run/vision")
    page.wait_for_function(
        "() => window.__naiad.media['images/pred'] && window.__naiad.media['hist/w'] "
        "&& window.__naiad.media['hist/w'].bars && window.__naiad.media['report'] "
        "&& window.__naiad.media['table']"
    )
    media = _eval(page, "() => window.__naiad.media")
    assert media["images/pred"]["step"] == 20 and media["images/pred"]["steps"] == [0, 10, 20]
    slider = page.locator("[data-media='images/pred'] input[type=range]")
    slider.fill("0")
    page.wait_for_function("() => window.__naiad.media['images/pred'].step === 0")
    page.wait_for_function(
        "() => document.querySelector(\"[data-media='images/pred'] img\").naturalWidth === 8"
    )
    assert media["hist/w"]["heatmap"]["columns"] == 3 and media["hist/w"]["bars"] == [2, 2, 5]
    assert media["report"]["preview"] == "html" and media["report"]["sandbox"] == ""
    assert page.title() == "naiad"
    assert media["table"]["header"] == ["a", "b"] and media["table"]["rows"] == 2
    page.goto(ui["url"] + "#/media?run=vision&run=vision-2")
    page.wait_for_function("() => window.__naiad.gallery && window.__naiad.gallery.paths.length === 2")
    pred = next(p for p in _eval(page, "() => window.__naiad.gallery.paths") if p["path"] == "images/pred")
    assert pred["steps"] == [0, 5, 10, 20]
    assert [(c["run"], c["step"]) for c in pred["cells"]] == [("vision", 20), ("vision-2", 5)]


def test_runs_grouped_by_a_config_value_show_mean_and_std(page: Any, ui: dict[str, Any]) -> None:
    runs = "&".join(f"run=grp-{i}" for i in range(5))
    _go(page, ui, f"#/charts?{runs}&group=config/opt")
    chart = _chart(page, "training/train/loss", 2)
    groups = {g["key"]: g for g in chart["groups"]}
    assert groups["adam"]["runs"] == ["grp-0", "grp-1", "grp-2"]
    assert set(groups["adam"]["mean"]) == {2.0} and set(groups["sgd"]["mean"]) == {15.0}
    assert abs(groups["adam"]["hi"][0] - (2.0 + (2 / 3) ** 0.5)) < 1e-9
    assert groups["adam"]["color"] != groups["sgd"]["color"]
    chips = page.locator("#legend [data-group]")  # the legend names the groups, not the runs
    assert chips.all_text_contents() == ["adam · 3 runs", "sgd · 2 runs"]


def test_parallel_coordinates_plot_hyperparameters_against_a_metric(page: Any, ui: dict[str, Any]) -> None:
    _go(
        page,
        ui,
        "#/params?heads=0&filter=exists(model/hash)&axes=config/lr,config/opt&metric=training/train/loss",
    )
    page.wait_for_function("() => window.__naiad.params && window.__naiad.params.lines.length === 5")
    p = _eval(page, "() => window.__naiad.params")
    assert [a["path"] for a in p["axes"]] == ["config/lr", "config/opt", "training/train/loss"]
    assert p["axes"][1]["categories"] == ["adam", "sgd"]
    _go(page, ui, "#/params?heads=0&filter=exists(model/hash)&axes=config/lr&metric=min(training/train/loss)")
    page.wait_for_function("() => window.__naiad.params && window.__naiad.params.metric.startsWith('min(')")
    names = _eval(
        page, "() => [...document.querySelectorAll('svg.pcoords .axis-name')].map((n) => n.firstChild.data)"
    )
    assert names == ["lr", "min(loss)"]  # an aggregate's name is not cut at its last slash
    page.goto(
        ui["url"]
        + "#/params?heads=0&filter=exists(model/hash)&axes=config/lr,config/opt&metric=training/train/loss"
    )
    page.wait_for_function("() => window.__naiad.params && window.__naiad.params.lines.length === 5")
    page.locator("svg.pcoords path[data-run='grp-3']").dispatch_event("click")
    page.wait_for_function("() => window.__naiad.state.selected.includes('grp-3')")


def test_dark_mode_follows_the_system_and_shortcuts_work(page: Any, ui: dict[str, Any]) -> None:
    page.emulate_media(color_scheme="dark")
    _go(page, ui, "#/runs?heads=0")
    assert _eval(page, "() => window.__naiad.theme") == "dark"
    bg = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert sum(int(v) for v in bg[bg.index("(") + 1 : -1].split(",")[:3]) < 150
    page.keyboard.press("/")
    page.wait_for_function("() => document.activeElement.id === 'filter'")
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    page.keyboard.press("j")
    first, second = _eval(page, "() => window.__naiad.table.rows.slice(0, 2).map((r) => r.run)")
    assert _eval(page, "() => window.__naiad.table.cursor") == second
    page.keyboard.press("Enter")
    page.wait_for_function("(r) => window.__naiad.run && window.__naiad.run.run === r", arg=second)
    page.keyboard.press("k")
    page.wait_for_function("(r) => window.__naiad.run && window.__naiad.run.run === r", arg=first)


def test_compare_highlights_only_real_differences(page: Any, ui: dict[str, Any]) -> None:
    _go(page, ui, "#/compare?run=crash-tb&run=grp-2")  # config/lr 0.3 against 0.1 * 3 (0.30000000000000004)
    page.wait_for_selector("table.compare")
    rows = {r["path"]: r for r in _eval(page, "() => window.__naiad.compare.rows")}
    assert not rows["config/lr"]["differs"]
    assert rows["config/opt"]["differs"]  # missing in one run is a difference


TWO_SERIES = (
    "() => { const c = window.__naiad.charts['training/train/loss'];"
    " return c && c.scale && c.series.length === 2; }"
)


def test_a_view_comes_back_from_its_address_on_reload_and_in_another_browser(
    page: Any, browser: Any, ui: dict[str, Any]
) -> None:
    _go(page, ui, "#/runs?heads=0")
    page.fill("#filter", 'config/opt == "adam"')
    page.press("#filter", "Enter")
    page.wait_for_function("() => window.__naiad.table.rows.length === 3")
    page.click('#thead .th[data-col="config/lr"]')  # sort by lr, ascending
    page.wait_for_function("() => window.__naiad.url.includes('asc=1')")
    page.wait_for_function("() => window.__naiad.table.rows.map((r) => r.run).join() === 'grp-0,grp-1,grp-2'")
    page.wait_for_function("() => window.__naiad.state.selected.length > 0")  # a first visit picks 5
    page.click("#selection button")  # clear
    page.check('#tbody .tr[data-run="grp-1"] input[type=checkbox]')
    page.wait_for_function("() => window.__naiad.url.includes('run=grp-1')")
    url = _eval(page, "() => location.href")

    def restored(pg: Any) -> dict[str, Any]:
        pg.wait_for_function("() => window.__naiad.table.rows.length === 3")
        state = pg.evaluate("() => window.__naiad.state")
        return {
            "filter": state["filter"],
            "sort": state["sort"],
            "asc": state["asc"],
            "selected": state["selected"],
            "box": pg.input_value("#filter"),
            "rows": [r["run"] for r in pg.evaluate("() => window.__naiad.table.rows")],
        }

    want = {
        "filter": 'config/opt == "adam"',
        "sort": "config/lr",
        "asc": True,
        "selected": ["grp-1"],
        "box": 'config/opt == "adam"',
        "rows": ["grp-0", "grp-1", "grp-2"],
    }
    page.reload()
    assert restored(page) == want
    other = browser.new_context(viewport={"width": 1400, "height": 900})  # no local storage shared
    try:
        shared = other.new_page()
        shared.goto(url)
        assert restored(shared) == want
        shared.goto(ui["url"] + "#/charts?run=grp-0&run=grp-3&x=time&metrics=train/&smooth=0.3")
        shared.wait_for_function(TWO_SERIES)
        shared.reload()
        shared.wait_for_function(TWO_SERIES)
        chart = shared.evaluate("() => window.__naiad.charts['training/train/loss']")
        assert chart["x"] == "time" and chart["smooth"] == 0.3
        assert shared.evaluate("() => window.__naiad.chartPaths") == ["training/train/loss"]
        assert shared.evaluate("() => document.querySelector('#xmode button.on').dataset.x") == "time"
        assert shared.input_value("#path-filter") == "train/"
    finally:
        other.close()


def test_a_series_column_switches_between_its_last_min_and_max(page: Any, ui: dict[str, Any]) -> None:
    _go(page, ui, '#/runs?heads=0&filter=sys/custom_run_id == "narrow"&columns=training/val/loss')
    page.wait_for_function("() => window.__naiad.table.rows.length === 1")
    assert _eval(page, "() => window.__naiad.table.rows[0].cells") == [pytest.approx(0.12)]  # the last
    page.select_option('#thead .th[data-col="training/val/loss"] select.agg', "min")
    page.wait_for_function("() => window.__naiad.table.columns[0] === 'min(training/val/loss)'")
    page.wait_for_function("() => window.__naiad.table.rows.length === 1")
    assert abs(_eval(page, "() => window.__naiad.table.rows[0].cells[0]") - 0.1004) < 1e-9
    assert "columns=min%28training%2Fval%2Floss%29" in _eval(page, "() => window.__naiad.url")
    page.select_option('#thead .th[data-col="min(training/val/loss)"] select.agg', "max")
    page.wait_for_function("() => window.__naiad.table.columns[0] === 'max(training/val/loss)'")
    assert page.input_value("#columns") == "max(training/val/loss)"


def _get(ui: dict[str, Any], path: str) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", ui["port"], timeout=10)
    conn.request("GET", path, headers={"Host": f"127.0.0.1:{ui['port']}"})
    return json.loads(conn.getresponse().read())


def test_the_first_rows_do_not_wait_for_the_count(page: Any, ui: dict[str, Any]) -> None:
    many = "filter=sys/experiment/name%20%3D%3D%20%22many%22"
    first = _get(ui, f"/api/runs?heads=0&{many}&limit=10&total=0")
    assert len(first["rows"]) == 10 and first["total"] is None  # a full page: more may follow
    assert _get(ui, f"/api/count?heads=0&{many}") == {"total": 52}
    assert _get(ui, f"/api/runs?heads=0&{many}&limit=10")["total"] == 52
    assert _get(ui, f"/api/runs?heads=0&{many}&offset=50&limit=10&total=0")["total"] == 52  # the last page
    _go(page, ui, '#/runs?heads=0&filter=sys/experiment/name == "many"')
    page.wait_for_function("() => document.getElementById('count').textContent === '52 runs'")
    assert [r["run"] for r in _eval(page, "() => window.__naiad.table.rows")][:2] == ["many-51", "many-50"]


def test_packed_series_carry_the_same_points_as_json_numbers(ui: dict[str, Any]) -> None:
    import base64
    from array import array

    query = "/api/series?run=narrow&run=parent&path=training/val/loss&width=8"
    plain = _get(ui, query)["charts"]["training/val/loss"]
    packed = _get(ui, query + "&pack=1")["charts"]["training/val/loss"]
    for a, b in zip(plain, packed, strict=True):
        assert a["downsampled"] and a["n"] > len(a["x"])  # 100 points into 8 buckets: M4 kept extremes
        for key in ("x", "y"):
            assert array("d", base64.b64decode(b[key])).tolist() == a[key]
