"""`naiad ui` benchmark in a real headless browser: charts, live updates, runs table, screenshots.

Measures, with Debian's chromium driven by Playwright (medians over ``--repeats``):

* charts: ``--runs`` runs x ``--metrics`` metrics x ``--points`` points, from the first chart
  request to every chart in view drawn, and from opening the page; one ``/api/series`` call;
* live: a point logged by a live run until the open page has drawn it (the page long-polls
  ``/api/changes`` and re-reads once a write lands, at most every 0.3 s);
* table: ``--table-runs`` runs, the first 100 rows and a page mid-table from the API, the
  first rows on screen, and the time per frame while scrolling (rows load page by page).

    python benchmarks/ui.py                       # 100 runs x 20 x 100,000 points; 100,000 runs
    python benchmarks/ui.py --points 2000         # what fits in a couple of minutes on a laptop
    python benchmarks/ui.py --screenshots docs/screenshots --no-bench   # the README screenshots

Both stores are written through the storage layer (``open_run`` + ``write_batch``, the calls
``naiad.Run`` makes) with fsync off: through ``naiad.Run`` they would take many minutes.
"""

from __future__ import annotations

import argparse
import http.client
import math
import random
import statistics
import tempfile
import threading
import time
from array import array
from pathlib import Path
from typing import Any

import naiad
from naiad import _sys
from naiad._storage import Assign, Floats, RunSpec, open_store
from naiad._types import STEP_SCALE, FieldType, float_bits
from naiad._ui import start, stop
from naiad.training import png_bytes

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
METRIC = "training/train/loss"


def chart_store(root: Path, runs: int, points: int, metrics: int = 20) -> list[str]:
    """``runs`` runs of ``metrics`` float series of ``points`` points, through the storage layer."""
    import numpy as np

    store = open_store(root)
    store._conn().execute("PRAGMA synchronous=OFF")  # a throwaway store: skip the fsyncs
    now = time.time()
    ids = []
    steps = np.arange(points, dtype=np.int64) * STEP_SCALE
    stamps = now - points + np.arange(points, dtype=np.float64)
    for r in range(runs):
        rec = store.open_run(
            RunSpec("bench", f"bench-{r}", f"bench-{r}", None, None, now - runs + r, "ana", "n1")
        )
        rng = np.random.default_rng(r)
        for m in range(metrics):
            values = (
                np.exp(-np.arange(points) / (points / 4)) * (1 + r / 10 + m / 7) + rng.random(points) * 0.05
            )
            for lo in range(0, points, 50_000):  # batches of a size the writer commits
                hi = min(points, lo + 50_000)
                store.write_batch(
                    rec.pk,
                    [
                        Floats(
                            metric_path(m),
                            array("q", steps[lo:hi].tolist()),
                            array("d", values[lo:hi].tolist()),
                            array("d", stamps[lo:hi].tolist()),
                        )
                    ],
                )
        store.write_batch(rec.pk, [Assign(_sys.STATE, int(FieldType.STRING), "inactive")])
        ids.append(f"bench-{r}")
    store.close()
    return ids


def metric_path(m: int) -> str:
    return METRIC if m == 0 else f"training/{('train', 'val')[m % 2]}/metric_{m:02d}"


def table_store(root: Path, runs: int) -> None:
    store = open_store(root)
    store._conn().execute("PRAGMA synchronous=OFF")  # a throwaway store: skip the fsync per run
    now = time.time()
    for i in range(runs):
        rec = store.open_run(
            RunSpec(
                "bench",
                f"run-{i:05d}",
                f"exp-{i:05d}",
                None,
                None,
                now - runs + i,
                "ana",
                "node-1",
                tags=("sweep",) if i % 7 else ("best",),
            )
        )
        steps = array("q", [s * STEP_SCALE for s in range(1, 21)])
        store.write_batch(
            rec.pk,
            [
                Assign(
                    "training/hyperparams/learning_rate", int(FieldType.FLOAT), float_bits(10 ** -(1 + i % 5))
                ),
                Assign("training/hyperparams/batch_size", int(FieldType.INTEGER), 2 ** (4 + i % 4)),
                Assign("training/hyperparams/optimizer", int(FieldType.STRING), ("adamw", "sgd")[i % 2]),
                Floats(
                    "training/val/loss",
                    steps,
                    array("d", [1 / (s + i % 11) for s in range(1, 21)]),
                    array("d", [now] * 20),
                ),
                Assign(_sys.STATE, int(FieldType.STRING), "inactive"),
            ],
        )
    store.close()


def server_median(port: int, path: str, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        t0 = time.perf_counter()
        conn.request("GET", path)
        body = conn.getresponse().read()
        times.append(time.perf_counter() - t0)
        conn.close()
        assert body
    return statistics.median(times) * 1000


IN_VIEW = """() => { const chartsInView = () => [...document.querySelectorAll('.chart')]
    .filter((c) => c.getBoundingClientRect().top < innerHeight); """


def browser_chart(browser: Any, url: str, runs: list[str], repeats: int) -> tuple[float, float]:
    """(request -> every chart in view drawn, page -> every chart in view drawn), medians in ms."""
    query = "&".join(f"run={r}" for r in runs)
    request_to_draw, page_to_draw = [], []
    for _ in range(repeats):
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{url}#/charts?{query}")
        page.wait_for_function(
            IN_VIEW
            + """const n = window.__naiad; if (!n || !n.chartPaths.length) return false;
            const inView = chartsInView();
            return inView.length && inView.every((c) => n.charts[c.dataset.path]) && n.pending === 0; }""",
            timeout=120_000,
        )
        first, last = page.evaluate(
            IN_VIEW
            + """const inView = chartsInView();
            const cs = inView.map((c) => window.__naiad.charts[c.dataset.path]);
            return [Math.min(...cs.map((c) => c.requestedAt)), Math.max(...cs.map((c) => c.renderedAt))]; }"""
        )
        request_to_draw.append(last - first)
        page_to_draw.append(last)  # ms since the navigation started
        page.close()
    return statistics.median(request_to_draw), statistics.median(page_to_draw)


def live_latency(browser: Any, url: str, root: Path, runs: list[str], repeats: int) -> float:
    """A point logged by a live run -> drawn by the open charts page (median ms; the page waits
    on /api/changes, then re-reads)."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    lat = []
    with naiad.Run(experiment_name="live", run_id="live", store=root, project="bench") as run:
        run.log_metrics({METRIC: 1.0}, step=0)
        run.wait()
        page.goto(url + "#/charts?" + "&".join(f"run={r}" for r in [*runs[:9], "live"]))
        page.wait_for_function(
            "(p) => window.__naiad.charts[p] && window.__naiad.charts[p].scale", arg=METRIC, timeout=120_000
        )
        for i in range(1, repeats + 1):
            t0 = time.perf_counter()
            run.log_metrics({METRIC: 1.0 / (i + 1)}, step=i)
            page.wait_for_function(
                "([p, s]) => window.__naiad.charts[p].series"
                ".some((x) => x.run === 'live' && x.last_step === s)"
                " && window.__naiad.charts[p].scale.x[1] >= s",
                arg=[METRIC, i],
                timeout=60_000,
            )
            lat.append((time.perf_counter() - t0) * 1000)
    page.close()
    return statistics.median(lat)


def browser_table(browser: Any, url: str, repeats: int) -> tuple[float, float, float]:
    first, full, frame = [], [], []
    for _ in range(repeats):
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{url}#/runs")
        page.wait_for_function("() => window.naiadTable.renderedAt > 0", timeout=120_000)
        t = page.evaluate("() => window.naiadTable")
        first.append(t["firstRenderedAt"] - t["requestedAt"])
        full.append(t["renderedAt"] - t["requestedAt"])
        frame.append(
            page.evaluate("""async () => {
            const box = document.getElementById('table'); const t0 = performance.now();
            for (let i = 0; i < 120; i++) {
              box.scrollTop += 90; await new Promise((r) => requestAnimationFrame(r)); }
            return (performance.now() - t0) / 120; }""")
        )
        page.close()
    return statistics.median(first), statistics.median(full), statistics.median(frame)


# -- screenshots ---------------------------------------------------------------------------------
def demo_store(root: Path) -> threading.Event:
    """A small realistic project: a sweep, an experiment resumed from a checkpoint (a fork), a live run."""
    kw: dict[str, Any] = {"store": root, "project": "vision"}
    rng = random.Random(7)

    def curve(s: int, lr: float, floor: float) -> float:
        return floor + 2.2 * math.exp(-s * lr * 4) + rng.gauss(0, 0.03) * math.exp(-s / 3000)

    search(root)
    sweep = [("resnet18", lr, 64) for lr in (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)]
    sweep += [("resnet50", lr, 128) for lr in (3e-4, 1e-3)]
    for model, lr, bs in sweep:
        name = f"{model}-cifar10-lr{lr:g}"
        with naiad.Run(experiment_name=name, run_id=name, tags=["sweep", model], **kw) as run:
            run["training/hyperparams"] = {
                "learning_rate": lr,
                "batch_size": bs,
                "optimizer": "adamw",
                "weight_decay": 0.05,
                "max_steps": 3000,
            }
            run["training/framework"] = {"name": "lightning", "version": "2.5.1"}
            run["training/model/class"] = model
            for s in range(1, 3001):
                metrics = {"training/train/loss": curve(s, lr, 0.15)}
                if s % 100 == 0:
                    metrics["training/val/loss"] = curve(s, lr, 0.3) + 0.05
                    metrics["training/val/accuracy"] = 0.95 - 0.6 * math.exp(-s * lr * 3)
                run.log_metrics(metrics, step=s)
                if s % 300 == 0:  # what the model sees, and how its weights spread
                    sharp = 1 - math.exp(-s * lr * 2)
                    run["training/val/predictions"].append(
                        naiad.File(prediction_image(sharp, rng), name=f"pred-{s}.png"), step=s
                    )
                    run.log_histograms({"training/weights/conv1": weight_histogram(s, lr, rng)}, step=s)
            run["training/summary/val_accuracy"] = 0.95 - 0.6 * math.exp(-3000 * lr * 3)
    exp = "vit-small-imagenet"

    def vit(s: int) -> dict[str, float]:
        warm = min(1.0, s / 400)
        lr = 1e-3 * warm * 0.5 * (1 + math.cos(math.pi * s / 6000))
        out = {
            "training/train/loss": 0.9 + 5.0 * math.exp(-s / 900) + rng.gauss(0, 0.05),
            "training/train/learning_rate": lr,
        }
        if s % 200 == 0:
            out["training/val/loss"] = 1.1 + 4.6 * math.exp(-s / 1000)
            out["training/val/accuracy"] = 0.78 - 0.7 * math.exp(-s / 1100)
        return out

    with naiad.Run(experiment_name=exp, run_id="vit-small-a", tags=["vit", "best"], **kw) as run:
        run["training/hyperparams"] = {
            "learning_rate": 1e-3,
            "batch_size": 256,
            "optimizer": "adamw",
            "weight_decay": 0.1,
            "max_steps": 6000,
            "warmup_steps": 400,
        }
        run["training/model"] = {"class": "VisionTransformer", "num_params": 22_050_664}
        run["training/framework"] = {"name": "transformers", "version": "4.46.0"}
        run["training/model/summary"].upload(
            naiad.File(b"VisionTransformer(patch=16, dim=384, depth=12)\n", name="summary.txt")
        )
        for s in range(1, 3401):
            run.log_metrics(vit(s), step=s)
        for step, line in (
            (1, "loading imagenet-1k (1,281,167 images)"),
            (1000, "step 1000 loss=2.41"),
            (2000, "step 2000 loss=1.62"),
            (3000, "saved checkpoint ckpt/step-3000.pt"),
            (3400, "NCCL error: unhandled system error <node-3>"),
        ):
            run["monitoring/stdout"].append(line, step=step)
        run._mark_failed(RuntimeError("NCCL error: unhandled system error"))  # as integrations do
    with naiad.Run(
        experiment_name=exp, run_id="vit-small-b", fork_run_id="vit-small-a", fork_step=3000, **kw
    ) as run:
        run["training/resume"] = {"checkpoint": "ckpt/step-3000.pt", "step": 3000, "source": "vit-small-a"}
        for s in range(3001, 6001):
            run.log_metrics(vit(s), step=s)
        for step, line in (
            (3001, "resumed from ckpt/step-3000.pt (parent vit-small-a)"),
            (4000, "step 4000 loss=1.18"),
            (5000, "step 5000 loss=1.02"),
            (6000, "step 6000 loss=0.97, val/accuracy=0.776"),
            (6001, "done"),
        ):
            run["monitoring/stdout"].append(line, step=step)
    stop_live = threading.Event()

    def live() -> None:
        with naiad.Run(
            experiment_name="vit-small-distill", run_id="vit-small-distill", tags=["vit"], **kw
        ) as run:
            run["training/hyperparams"] = {"learning_rate": 5e-4, "batch_size": 256, "optimizer": "adamw"}
            s = 0
            while not stop_live.is_set():
                s += 1
                run.log_metrics({"training/train/loss": 3.0 * math.exp(-s / 700) + 0.8}, step=s)
                if s % 50 == 0:
                    time.sleep(0.05)

    threading.Thread(target=live, daemon=True).start()
    return stop_live


def prediction_image(sharp: float, rng: random.Random, size: int = 48) -> bytes:
    """A segmentation-like picture that sharpens as training goes: two blobs on a background."""
    import numpy as np

    yy, xx = np.mgrid[0:size, 0:size] / size
    blobs = np.exp(-((xx - 0.35) ** 2 + (yy - 0.4) ** 2) / 0.02) + np.exp(
        -((xx - 0.7) ** 2 + (yy - 0.65) ** 2) / 0.01
    )
    noise = np.array([[rng.random() for _ in range(size)] for _ in range(size)])
    mask = np.clip(sharp * blobs + (1 - sharp) * noise, 0, 1)
    rgb = np.stack([40 + 200 * mask, 60 + 120 * mask, 140 - 100 * mask], axis=-1)
    return png_bytes(rgb.astype(np.uint8))


def weight_histogram(step: int, lr: float, rng: random.Random) -> naiad.Histogram:
    """Weights spreading out from their initialisation as training goes."""
    spread = 0.05 + 0.4 * (1 - math.exp(-step * lr))
    values = [rng.gauss(0, spread) for _ in range(2000)]
    edges = [-1.5 + 0.1 * i for i in range(31)]
    counts = [0] * 30
    for v in values:
        counts[min(29, max(0, int((v + 1.5) / 0.1)))] += 1
    return naiad.Histogram(bin_edges=edges, counts=counts)


def search(root: Path) -> None:
    """A random search of a small model: forty short runs, for the parallel-coordinates view."""
    rng = random.Random(3)
    for i in range(40):
        lr = 10 ** rng.uniform(-4, -1.5)
        batch = rng.choice([32, 64, 128, 256])
        dropout = round(rng.uniform(0, 0.5), 2)
        wd = 10 ** rng.uniform(-5, -2)
        best = 0.25 + 0.4 * abs(math.log10(lr) + 2.7) / 2 + 0.3 * dropout**2 + 0.02 * math.log2(batch / 32)
        with naiad.Run(
            experiment_name=f"mlp-search-{i:02d}",
            run_id=f"mlp-search-{i:02d}",
            tags=["search"],
            store=root,
            project="vision",
        ) as run:
            run["training/hyperparams"] = {
                "learning_rate": lr,
                "batch_size": batch,
                "dropout": dropout,
                "weight_decay": wd,
            }
            run["training/model/class"] = "MLP"
            for s in range(1, 201):
                run.log_metrics(
                    {"training/val/loss": best + 1.5 * math.exp(-s / 40) + rng.gauss(0, 0.01)}, step=s
                )


def screenshots(browser: Any, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        stop_live = demo_store(Path(tmp) / "store")
        server = start(store=Path(tmp) / "store", project="vision", port=0)
        try:
            page = browser.new_page(viewport={"width": 1680, "height": 760}, device_scale_factor=1)
            page.goto(server.url + "#/runs")
            page.wait_for_function("() => window.naiadTable.renderedAt > 0")
            page.fill(
                "#columns",
                "training/hyperparams/learning_rate, training/hyperparams/batch_size, "
                "min(training/val/loss), training/val/accuracy, training/train/loss",
            )
            page.press("#columns", "Enter")
            page.click('#mode button[data-heads="0"]')
            page.wait_for_function(  # the live run's first batch is committed and polled in
                "() => window.naiadTable.rows.some((r) => r.run === 'vit-small-distill' && r.cells[0])",
                timeout=20_000,
            )
            page.wait_for_timeout(500)
            page.screenshot(
                path=str(out / "runs-table.png"), clip={"x": 0, "y": 0, "width": 1680, "height": 470}
            )
            page.set_viewport_size({"width": 1360, "height": 760})
            page.goto(server.url + "#/charts?run=vit-small-b&run=resnet18-cifar10-lr0.001")
            for path in ("training/val/loss", "training/train/loss", "training/val/accuracy"):
                page.wait_for_function("(p) => window.naiadCharts[p]", arg=path)
            page.wait_for_timeout(500)
            page.screenshot(path=str(out / "charts-fork.png"))
            page.goto(server.url + "#/run/vit-small-b")
            page.wait_for_selector("pre.console div")
            page.wait_for_timeout(500)
            page.screenshot(path=str(out / "run-page.png"))
            sweep = [f"resnet18-cifar10-lr{lr:g}" for lr in (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)]
            sweep += [f"resnet50-cifar10-lr{lr:g}" for lr in (3e-4, 1e-3)]
            page.goto(server.url + "#/run/resnet18-cifar10-lr0.001")
            page.wait_for_function("() => (window.__naiad.media['training/weights/conv1'] || {}).bars")
            page.locator("[data-media='training/val/predictions'] input[type=range]").fill("3")
            page.wait_for_timeout(500)
            page.locator(".media-list").screenshot(path=str(out / "media.png"))
            runs = "&".join(f"run={r}" for r in sweep)
            page.goto(server.url + f"#/charts?{runs}&group=training/model/class&metrics=val/")
            page.wait_for_function(
                "() => { const c = window.__naiad.charts['training/val/loss'];"
                " return c && c.groups && c.scale; }"
            )
            page.wait_for_timeout(500)
            page.screenshot(
                path=str(out / "charts-grouped.png"), clip={"x": 0, "y": 0, "width": 1360, "height": 400}
            )
            page.goto(
                server.url + '#/params?heads=0&filter=sys/tags contains "search"'
                "&axes=training/hyperparams/learning_rate,training/hyperparams/batch_size,training/hyperparams/dropout,training/hyperparams/weight_decay"
                "&metric=min(training/val/loss)"
            )
            page.wait_for_function("() => window.__naiad.params && window.__naiad.params.lines.length === 40")
            page.wait_for_timeout(300)
            page.screenshot(path=str(out / "params.png"), clip={"x": 0, "y": 0, "width": 1360, "height": 480})
            page.close()
        finally:
            stop_live.set()
            stop(server)
            time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--metrics", type=int, default=20)
    parser.add_argument("--table-runs", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--screenshots", type=Path, help="also write the README screenshots here")
    parser.add_argument("--no-bench", action="store_true", help="only the screenshots")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        if args.screenshots:
            screenshots(browser, args.screenshots)
        if args.no_bench:
            browser.close()
            return
        t0 = time.perf_counter()
        runs = chart_store(Path(tmp) / "charts", args.runs, args.points, args.metrics)
        table_store(Path(tmp) / "table", args.table_runs)
        print(f"stores written in {time.perf_counter() - t0:.1f} s")
        rows = []
        server = start(store=Path(tmp) / "charts", project="bench", port=0)
        try:
            port = server.server_address[1]
            query = "&".join(f"run={r}" for r in runs)
            api = server_median(port, f"/api/series?{query}&path={METRIC}&width=1400&pack=1", args.repeats)
            drawn, page_drawn = browser_chart(browser, server.url, runs, args.repeats)
            live = live_latency(browser, server.url, Path(tmp) / "charts", runs, args.repeats)
            label = f"charts, {args.runs} runs x {args.metrics} x {args.points:,}"
            rows += [
                (label, "API /api/series (1 chart)", api),
                (label, "requested -> charts in view drawn", drawn),
                (label, "page -> charts in view drawn", page_drawn),
                (label, "live point -> drawn", live),
            ]
        finally:
            stop(server)
        server = start(store=Path(tmp) / "table", project="bench", port=0)
        try:
            port = server.server_address[1]
            label = f"runs table, {args.table_runs:,} runs"
            first_api = server_median(port, "/api/runs?heads=1&limit=100", args.repeats)
            deep_api = server_median(
                port, f"/api/runs?heads=1&offset={args.table_runs // 2}&limit=100", args.repeats
            )
            first, _, frame = browser_table(browser, server.url, args.repeats)
            rows += [
                (label, "API first 100 rows", first_api),
                (label, "API 100 rows mid-table", deep_api),
                (label, "requested -> first rows drawn", first),
                (label, "scrolling, per frame", frame),
            ]
        finally:
            stop(server)
        browser.close()
    print(f"\n{'what':<36} {'measure':<32} {'median ms':>10}")
    for what, measure, ms in rows:
        print(f"{what:<36} {measure:<32} {ms:>10.1f}")


if __name__ == "__main__":
    main()
