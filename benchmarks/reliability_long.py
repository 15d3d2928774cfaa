"""The long versions of ``tests/reliability``: 1,000 kills, 10,000,000 points, a 30-minute soak.

They run the very checks the CI tests run (``tests/reliability/_harness.py``), with the counts
of issue 9, and print the numbers the README's Guarantees section quotes::

    python benchmarks/reliability_long.py kills --count 1000      # about 20 minutes
    python benchmarks/reliability_long.py memory --points 10000000   # points/s until durable, vs the loop
    python benchmarks/reliability_long.py soak --seconds 1800     # the documented soak
    python benchmarks/reliability_long.py all                     # all three, about an hour

Every kill is checked as it happens (acknowledged points present once and bit-identical,
batches whole, ``PRAGMA integrity_check``, a new writer at once, the stale heartbeat); the
first failure stops the run with its details. The soak logs steadily (metrics every step,
configs, files and a ``wait()`` every 1,000 steps) and samples RSS every 5 s: the verdict is
the growth of the heap (RssAnon) between the end of the first minute and the end; the mapped
database file (RssFile, SQLite's mmap) grows with the file and is reported apart.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from reliability import _harness  # the tests' harness, found through the path above

MB = 2**20


def kills(count: int, seed: int) -> dict[str, Any]:
    t0 = time.monotonic()

    def report(i: int, result: dict[str, Any]) -> None:
        if (i + 1) % 50 == 0 or i + 1 == count:
            print(f"  {i + 1}/{count} kills checked ({time.monotonic() - t0:.0f} s)", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        results = _harness.kill_campaign(Path(tmp) / "store", count, seed, report=report)
    summary = _harness.summarize(results)
    summary["seconds"] = time.monotonic() - t0
    return summary


def memory(points: int) -> dict[str, Any]:
    import naiad

    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        proc = _harness.spawn("memory", store, points)
        out, err = proc.communicate()
        if proc.returncode:
            raise SystemExit(err)
        report = json.loads(out.strip().splitlines()[-1])
        with naiad.Run(run_id="memory", store=store, mode="read-only") as run:
            stored = len(run["train/m0"].fetch_values(include_timestamp=False))
    return {
        "points": points,
        "stored_per_key": stored,
        "expected_per_key": 10_000 + points // 10,
        "baseline_rss_mb": report["baseline_rss"] / MB,
        "peak_rss_mb": report["peak_rss"] / MB,
        "growth_mb": (report["peak_rss"] - report["baseline_rss"]) / MB,
        "log_seconds": report["log_seconds"],
        "durable_seconds": report["durable_seconds"],
        "points_per_second": points / report["durable_seconds"],
        # the baseline, side by side: the same loop making the same dicts without logging them
        "loop_points_per_second": points / report["loop_seconds"],
        "x_loop": report["durable_seconds"] / report["loop_seconds"],
    }


def soak(seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        proc = _harness.spawn("soak", Path(tmp) / "store", seconds)
        out, err = proc.communicate()
        if proc.returncode:
            raise SystemExit(err)
    rows = [json.loads(line) for line in out.strip().splitlines()]
    samples, done = [r for r in rows if "rss" in r], rows[-1]
    t_start = samples[0]["t"]
    settled = [s for s in samples if s["t"] - t_start >= min(60.0, seconds / 4)] or samples
    first, last = settled[0], settled[-1]
    hours = max((last["t"] - first["t"]) / 3600, 1e-9)
    out: dict[str, Any] = {
        "seconds": seconds,
        "steps": done["done"],
        "samples": len(samples),
        "peak_rss_mb": done["peak"] / MB,
    }
    # RssAnon is the heap, where a leak would show; RssFile is the mapped database (SQLite's
    # mmap), which grows with the file and is given back under memory pressure
    for key in ("rss", "RssAnon", "RssFile"):
        out[key] = {
            "after_warmup_mb": round(first[key] / MB, 1),
            "at_end_mb": round(last[key] / MB, 1),
            "growth_mb_per_hour": round((last[key] - first[key]) / MB / hours, 1),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=["kills", "memory", "soak", "all"])
    parser.add_argument("--count", type=int, default=1000, help="kills (default 1,000)")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--points", type=int, default=10_000_000, help="points (default 10,000,000)")
    parser.add_argument("--seconds", type=float, default=1800.0, help="soak length (default 30 min)")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    if args.what in ("kills", "all"):
        print(f"SIGKILL campaign: {args.count} kills", flush=True)
        results["kills"] = kills(args.count, args.seed)
    if args.what in ("memory", "all"):
        print(f"memory: {args.points:,} points", flush=True)
        results["memory"] = memory(args.points)
    if args.what in ("soak", "all"):
        print(f"soak: {args.seconds:.0f} s", flush=True)
        results["soak"] = soak(args.seconds)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
