"""Scale benchmarks (issue 22): each row runs side by side with its baseline and prints the ratio.

Rows: a 1,000,000-point string series read in full and its tail (baseline: a raw SQLite read of
the same rows), and ``naiad ls`` / the runs-table first page over many runs (baseline: a raw
``SELECT`` of the same run names). Stores are built once through the store seam (``write_batch``)
so that setup is not what is measured; every timing is the median of ``--repeats``.

    python benchmarks/scale.py --points 1000000 --runs 100000 --repeats 3
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from naiad._storage import open_store
from naiad._storage._records import Points, RunSpec
from naiad._types import STEP_SCALE, FieldType


def build_string_series(root: Path, points: int) -> None:
    store = open_store(root)
    run = store.open_run(RunSpec("bench", "strings", "exp", None, None, time.time(), "me", "host"))
    batch = 50_000
    for start in range(0, points, batch):
        rows = [
            (s * STEP_SCALE, 1.7e9 + s, f"line {s} of the log")
            for s in range(start, min(points, start + batch))
        ]
        store.write_batch(run.pk, [Points("logs/out", int(FieldType.STRING_SERIES), rows)])
    store.close()


def build_runs(root: Path, runs: int) -> None:
    import naiad  # noqa: F401  (the real sys fields, the way a Run writes them)
    from naiad._storage._records import Assign

    store = open_store(root)
    for i in range(runs):
        rec = store.open_run(
            RunSpec("bench", f"run-{i}", f"exp-{i % 100}", None, None, 1.7e9 + i, "me", "host")
        )
        store.write_batch(
            rec.pk,
            [Assign(f"config/p{j}", int(FieldType.FLOAT), float(j)) for j in range(5)],
        )
    store.close()


def timed(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def row(name: str, new: float, base: float, target: float) -> None:
    print(
        f"| {name} | {new:.3f} s | {base:.3f} s | {new / base if base else float('inf'):.1f}x | {target} s |"
    )


def strings(points: int, repeats: int) -> None:
    from naiad._ui import _data

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "store"
        t0 = time.perf_counter()
        build_string_series(root, points)
        print(f"(built a {points:,}-point string series in {time.perf_counter() - t0:.1f} s)")
        db = next(root.glob("*.db*")) if not (root / "naiad.db").exists() else root / "naiad.db"
        raw = sqlite3.connect(db)

        def raw_all() -> None:
            raw.execute("SELECT step, ts, value FROM points ORDER BY field_id, step").fetchall()

        def raw_tail() -> None:
            raw.execute(
                "SELECT step, ts, value FROM points ORDER BY field_id DESC, step DESC LIMIT 1000"
            ).fetchall()

        import naiad.query as q

        def api_all() -> None:
            run = naiad_run(root)
            run["logs/out"].fetch_values(lineage_to_the_root=True)

        store = open_store(root)

        def ui_tail() -> None:
            _data.string_series(store, "bench", "strings", "logs/out", tail=1000)

        del q
        row(
            f"read {points:,}-point string series (fetch_values)",
            timed(api_all, repeats),
            timed(raw_all, repeats),
            0.5,
        )
        row(
            f"UI tail 1000 of {points:,}-point string series",
            timed(ui_tail, repeats),
            timed(raw_tail, repeats),
            0.05,
        )
        store.close()
        raw.close()


def naiad_run(root: Path):  # type: ignore[no-untyped-def]
    import naiad

    return naiad.Run(run_id="strings", project="bench", store=str(root), mode="read-only")


def listing(runs: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "store"
        t0 = time.perf_counter()
        build_runs(root, runs)
        print(f"(built {runs:,} runs in {time.perf_counter() - t0:.1f} s)")
        db = root / "naiad.db"
        raw = sqlite3.connect(db)

        def raw_page() -> None:
            raw.execute("SELECT custom_id FROM runs ORDER BY id LIMIT 50").fetchall()
            raw.execute("SELECT count(*) FROM runs").fetchall()

        def cli_ls() -> None:
            subprocess.run(
                [sys.executable, "-m", "naiad._cli", "ls", "--project", "bench", "--store", str(root)],
                check=True,
                capture_output=True,
            )

        def cli_floor() -> None:
            subprocess.run(
                [sys.executable, "-c", "import naiad, naiad._cli"], check=True, capture_output=True
            )

        import naiad.query as q

        def table_page() -> None:
            q.fetch_runs_table(project="bench", store=str(root), limit=50)

        row(
            f"naiad ls over {runs:,} runs (vs interpreter+import floor)",
            timed(cli_ls, repeats),
            timed(cli_floor, repeats),
            0.5,
        )
        row(
            f"runs table first page (50) of {runs:,} runs",
            timed(table_page, repeats),
            timed(raw_page, repeats),
            0.3,
        )
        raw.close()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--points", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=100_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--only", choices=["strings", "runs"], default=None)
    a = p.parse_args()
    print("| workload | naiad | baseline | ratio | target |\n|---|---|---|---|---|")
    if a.only in (None, "strings"):
        strings(a.points, a.repeats)
    if a.only in (None, "runs"):
        listing(a.runs, a.repeats)


if __name__ == "__main__":
    main()
