"""Query benchmark: naiad.query against reading the same rows straight from SQLite.

1. ``fetch_runs_table`` over RUNS runs x 50 fields with a filter, all columns;
   raw: the same selection written by hand in SQL, then every field row of the selected runs.
2. ``fetch_metrics`` for 10 runs x POINTS points (wide and long);
   raw: the runs' chunk blobs, decoded with numpy.frombuffer.

The store is written through the store's own batches (thousands of runs per transaction), not
run by run. Times are medians of ``--repeats``; ratios are naiad / raw.

    python benchmarks/query.py --runs 10000 --points 100000 --repeats 5
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any

from naiad import query
from naiad._storage import RunSpec, open_store
from naiad._storage._sqlite import _open_run
from naiad._types import FieldType

FILTER = 'config/p00 > 0.5 and config/opt == "adam" and last(train/m0) < 0.8'
RAW_SELECT = """
SELECT r.id, r.custom_id FROM runs r
WHERE r.project_id = (SELECT id FROM projects WHERE name = 'default')
  AND r.id IN (SELECT run_id FROM fields WHERE path = 'config/p00' AND value > 0.5)
  AND r.id IN (SELECT run_id FROM fields WHERE path = 'config/opt' AND value = 'adam')
  AND r.id IN (SELECT run_id FROM fields WHERE path = 'train/m0' AND type = 7 AND value < 0.8)
  AND r.id NOT IN (SELECT run_id FROM fields WHERE path = 'sys/trashed' AND value = 1)
"""
N_CONFIG, N_SERIES, SERIES_POINTS = 23, 8, 5  # plus 19 sys fields: 50 fields a run


def _spec(run_id: str, experiment: str) -> RunSpec:
    return RunSpec(
        project="default",
        custom_id=run_id,
        experiment=experiment,
        fork_parent=None,
        fork_step=None,
        creation_time=1.7e9,
        owner="bench",
        hostname="bench",
    )


def build_table_store(root: Path, runs: int) -> None:
    store = open_store(root)
    rng = random.Random(0)

    def write(conn: sqlite3.Connection, first: int, last: int) -> None:
        for i in range(first, last):
            rec = _open_run(conn, _spec(f"run-{i:05d}", f"exp-{i % 100}"))
            ops: list[tuple[Any, ...]] = []
            for k in range(N_CONFIG):
                if k % 3 == 0:
                    ops.append(("assign", f"config/p{k:02d}", int(FieldType.FLOAT), rng.random()))
                elif k % 3 == 1:
                    ops.append(("assign", f"config/p{k:02d}", int(FieldType.INTEGER), rng.randrange(1000)))
                else:
                    ops.append(("assign", f"config/p{k:02d}", int(FieldType.STRING), f"v{rng.randrange(50)}"))
            ops[-1] = ("assign", "config/opt", int(FieldType.STRING), rng.choice(["adam", "sgd"]))
            steps = array("q", [s * 1_000_000 for s in range(SERIES_POINTS)])
            stamps = array("d", [1.7e9 + s for s in range(SERIES_POINTS)])
            for m in range(N_SERIES):
                ops.append(
                    (
                        "floats",
                        f"train/m{m}",
                        steps,
                        array("d", [rng.random() for _ in range(SERIES_POINTS)]),
                        stamps,
                    )
                )
            store._apply(conn, rec.pk, ops, None, None, False)

    for first in range(0, runs, 2000):
        store._write(lambda conn, f=first: write(conn, f, min(f + 2000, runs)))
        store._fields.clear()
    store.close()


def build_series_store(root: Path, runs: int, points: int) -> None:
    store = open_store(root)
    rng = random.Random(1)
    for i in range(runs):
        rec = store.open_run(_spec(f"long-{i}", f"long-{i}"))
        for first in range(0, points, 10_000):  # batches of 1,000 points, as a writer would flush them
            ops = []
            for lo in range(first, min(first + 10_000, points), 1000):
                n = min(1000, points - lo)
                ops.append(
                    (
                        "floats",
                        "train/loss",
                        array("q", [s * 1_000_000 for s in range(lo, lo + n)]),
                        array("d", [rng.random() for _ in range(n)]),
                        array("d", [1.7e9 + s * 0.01 for s in range(lo, lo + n)]),
                    )
                )
            store.write_batch(rec.pk, ops)
    store.close()


def raw_table(db: Path) -> int:
    conn = sqlite3.connect(db)
    chosen = conn.execute(RAW_SELECT).fetchall()
    ids = ",".join(str(pk) for pk, _ in chosen)
    rows = conn.execute(f"SELECT run_id, path, type, value FROM fields WHERE run_id IN ({ids})").fetchall()
    conn.close()
    return len(rows)


def raw_unfiltered(db: Path) -> int:
    conn = sqlite3.connect(db)
    chosen = conn.execute(
        "SELECT r.id FROM runs r LEFT JOIN fields s ON s.run_id = r.id AND s.path = 'sys/creation_time' "
        "WHERE r.id NOT IN (SELECT run_id FROM fields WHERE path = 'sys/trashed' AND value = 1) "
        "ORDER BY s.value DESC"
    ).fetchall()
    ids = ",".join(str(pk) for (pk,) in chosen)
    rows = conn.execute(
        f"SELECT run_id, path, type, value FROM fields WHERE run_id IN ({ids}) "
        "AND path IN ('config/p00', 'config/opt', 'train/m0')"
    ).fetchall()
    conn.close()
    return len(rows)


def raw_series(db: Path, runs: int) -> int:
    import numpy as np

    conn = sqlite3.connect(db)
    total = 0
    for i in range(runs):
        blobs = conn.execute(
            "SELECT c.steps, c.vals, c.ts FROM chunks c JOIN fields f ON c.field_id = f.id "
            "JOIN runs r ON f.run_id = r.id WHERE r.custom_id = ? AND f.path = ? ORDER BY c.first_step",
            (f"long-{i}", "train/loss"),
        ).fetchall()
        steps = np.concatenate([np.frombuffer(b[0], "<i8") for b in blobs])
        vals = np.concatenate([np.frombuffer(b[1], "<f8") for b in blobs])
        np.concatenate([np.frombuffer(b[2], "<f8") for b in blobs])
        total += steps.size + 0 * vals.size
    conn.close()
    return total


def paired(
    naiad_fn: Callable[[], Any], raw_fn: Callable[[], Any], repeats: int
) -> tuple[float, Any, float, Any]:
    """Median times of both, measured alternately so that machine load hits both alike."""
    a_times, b_times, a, b = [], [], None, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        a = naiad_fn()
        t1 = time.perf_counter()
        b = raw_fn()
        t2 = time.perf_counter()
        a_times.append(t1 - t0)
        b_times.append(t2 - t1)
    return statistics.median(a_times), a, statistics.median(b_times), b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--series-runs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="naiad-bench-") as tmp:
        table_store, series_store = Path(tmp) / "table", Path(tmp) / "series"
        t0 = time.perf_counter()
        build_table_store(table_store, args.runs)
        print(f"built {args.runs} runs x 50 fields in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        build_series_store(series_store, args.series_runs, args.points)
        print(f"built {args.series_runs} runs x {args.points} points in {time.perf_counter() - t0:.1f} s")
        import pandas  # noqa: F401 - imported once, outside the timings

        rows = []
        naive, frame, raw, n = paired(
            lambda: query.fetch_runs_table(filter=FILTER, attributes=".*", store=table_store),
            lambda: raw_table(table_store / "naiad.db"),
            args.repeats,
        )
        rows.append(
            (
                f"fetch_runs_table, filter, {frame.shape[0]} of {args.runs} runs x "
                f"{frame.shape[1]} columns ({n} values)",
                naive,
                raw,
            )
        )
        naive, _, raw, _ = paired(
            lambda: query.fetch_runs_table(
                attributes=["config/p00", "config/opt", "train/m0"], store=table_store
            ),
            lambda: raw_unfiltered(table_store / "naiad.db"),
            args.repeats,
        )
        rows.append((f"fetch_runs_table, no filter, {args.runs} runs x 3 columns", naive, raw))
        for fmt in ("wide", "long"):
            naive, frame, raw, n = paired(
                lambda fmt=fmt: query.fetch_metrics(
                    runs=r"^long-", attributes=["train/loss"], format=fmt, store=series_store
                ),
                lambda: raw_series(series_store / "naiad.db", args.series_runs),
                args.repeats,
            )
            assert n == args.series_runs * args.points and len(frame) == n
            rows.append((f"fetch_metrics {fmt}, {args.series_runs} runs x {args.points} points", naive, raw))
    print(f"\n{'measurement':<72} {'naiad':>9} {'raw':>9} {'ratio':>7}")
    for name, naive, raw in rows:
        print(f"{name:<72} {naive * 1000:>6.0f} ms {raw * 1000:>6.0f} ms {naive / raw:>6.1f}x")
    print(f"\nPython {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}")


if __name__ == "__main__":
    main()
