"""Core logging benchmark: one run, METRICS float series × STEPS steps, naiad vs a Python list.

Each measurement runs in its own subprocess (so peak RSS is its own) and is repeated; the
table shows medians and ratios to appending the same points to a Python list.

    python benchmarks/core.py --steps 10000 --metrics 10 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time

WORKER = r"""
import json, resource, sys, time, tempfile
kind, steps, metrics, store = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
keys = [f"train/metric_{i}" for i in range(metrics)]
values = [[(s * 7 + i) % 1000 / 997.0 for i in range(metrics)] for s in range(steps)]
out = {}
if kind == "list":
    points = []
    t0 = time.perf_counter()
    for s in range(steps):
        row = values[s]
        for i, k in enumerate(keys):
            points.append((k, s, row[i]))
    out["call"] = time.perf_counter() - t0
elif kind == "naiad":
    t_import = time.perf_counter()
    import naiad
    out["import"] = time.perf_counter() - t_import
    t0 = time.perf_counter()
    run = naiad.Run(experiment_name="bench", store=store, run_id="bench")
    run.log_metrics({"warmup/x": 0.0}, step=0)
    out["first_point"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    for s in range(steps):
        row = values[s]
        run.log_metrics({k: row[i] for i, k in enumerate(keys)}, step=s)
    out["call"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    run.wait()
    out["durable"] = time.perf_counter() - t1
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t2 = time.perf_counter()
    run["train/metric_0"].fetch_values(lineage_to_the_root=False)
    out["read_cold"] = time.perf_counter() - t2  # includes importing pandas
    t2 = time.perf_counter()
    df = run["train/metric_3"].fetch_values(lineage_to_the_root=False)
    out["read"] = time.perf_counter() - t2
    expect = [values[s][3] for s in range(steps)]
    out["exact"] = df["value"].tolist() == expect and df["step"].tolist() == list(map(float, range(steps)))
    run.close()
elif kind == "lineage":  # one 1,000,000-point series: a single run vs a 3-level fork chain
    import naiad
    n = steps * metrics
    single = naiad.Run(store=store, run_id="single")
    for s in range(n):
        single.log_metrics({"loss": s * 0.5}, step=s)
    single.close()
    third = n // 3
    prev = None
    for i, name in enumerate(("a", "b", "c")):
        fork = {} if prev is None else {"fork_run_id": prev, "fork_step": i * third - 1}
        run = naiad.Run(store=store, run_id=name, **fork)
        for s in range(i * third, n if name == "c" else (i + 1) * third):
            run.log_metrics({"loss": s * 0.5}, step=s)
        run.close()
        prev = name
    single = naiad.Run(store=store, run_id="single", mode="read-only")
    chained = naiad.Run(store=store, run_id="c", mode="read-only")
    single["loss"].fetch_values()  # warm-up: imports pandas
    for label, run in (("read_single", single), ("read_lineage", chained)):
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            df = run["loss"].fetch_values()
            times.append(time.perf_counter() - t0)
        out[label] = sorted(times)[2]
        out["exact_" + label] = df["value"].tolist() == [s * 0.5 for s in range(n)]
elif kind == "dict-build":  # the cost of building the dict the caller passes, to subtract
    t0 = time.perf_counter()
    for s in range(steps):
        row = values[s]
        d = {k: row[i] for i, k in enumerate(keys)}
    out["call"] = time.perf_counter() - t0
out.setdefault("rss_mb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print(json.dumps(out))
"""


def measure(kind: str, steps: int, metrics: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as store:
        proc = subprocess.run(
            [sys.executable, "-c", WORKER, kind, str(steps), str(metrics), store],
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--metrics", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--lineage-points",
        type=int,
        default=1_000_000,
        help="points of the series read through a 3-level fork lineage",
    )
    args = parser.parse_args()
    runs: dict[str, list[dict[str, float]]] = {"list": [], "naiad": [], "dict-build": []}
    for _ in range(args.repeats):
        for kind, results in runs.items():
            results.append(measure(kind, args.steps, args.metrics))
    med = {
        k: {m: statistics.median(r[m] for r in v) for m in v[0] if not m.startswith("exact")}
        for k, v in runs.items()
    }
    points = args.steps * args.metrics
    base, nd, build = med["list"], med["naiad"], med["dict-build"]
    print(
        f"workload: {args.metrics} metrics x {args.steps} steps = {points} points, medians of {args.repeats}"
    )
    print(f"{'measure':38} {'naiad':>12} {'list floor':>12} {'ratio':>8}")
    call_net = nd["call"] - build["call"]
    rows = [
        ("calling thread, total (s)", nd["call"], base["call"]),
        ("calling thread, minus dict build (s)", call_net, base["call"]),
        ("per point (us)", nd["call"] / points * 1e6, base["call"] / points * 1e6),
        ("until durable after loop (s)", nd["durable"], None),
        ("read one series, first read (ms)", nd["read_cold"] * 1e3, None),
        ("read one series (ms)", nd["read"] * 1e3, None),
        ("peak RSS (MB)", nd["rss_mb"], base["rss_mb"]),
        ("import naiad (ms)", nd["import"] * 1e3, None),
        ("Run() to first point (ms)", nd["first_point"] * 1e3, None),
    ]
    for name, ours, floor in rows:
        ratio = f"{ours / floor:8.2f}" if floor else f"{'-':>8}"
        floor_s = f"{floor:12.4f}" if floor is not None else f"{'-':>12}"
        print(f"{name:38} {ours:12.4f} {floor_s} {ratio}")
    print(f"exact read-back: {all(r['exact'] for r in runs['naiad'])}")
    lin = measure("lineage", args.lineage_points, 1)
    print(
        f"read {args.lineage_points} points: single run {lin['read_single'] * 1e3:.1f} ms, "
        f"through a 3-level fork lineage {lin['read_lineage'] * 1e3:.1f} ms "
        f"(ratio {lin['read_lineage'] / lin['read_single']:.2f}; exact: "
        f"{lin['exact_read_single'] and lin['exact_read_lineage']})"
    )


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"(benchmark took {time.perf_counter() - start:.1f} s)")
