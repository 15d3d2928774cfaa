"""The team store against the embedded one: SQLite and PostgreSQL side by side, one workload.

Needs a PostgreSQL server (``eval "$(.ci/services.sh start)"`` starts a throwaway one and sets
``NAIAD_TEST_POSTGRES``; or pass ``--postgres URI``): each measurement gets a fresh schema there
and a fresh directory for SQLite, in its own subprocess. Rows:

- calling thread: ``log_metrics`` of METRICS floats × STEPS steps, against appending the same
  points to a Python list (the floor);
- durable: ``run.wait()`` after that loop;
- sustained: points/s from the first call to durable over POINTS points;
- read: ``fetch_values()`` of one POINTS-point series;
- runs table: ``fetch_runs_table`` over RUNS runs (each with 5 configs and a metric);
- 16 processes: aggregate points/s of 16 writer processes on one store.

    python benchmarks/team_store.py                      # the issue's sizes
    python benchmarks/team_store.py --points 200000 --runs 1000   # a quicker look
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid

WORKER = r"""
import json, sys, time
kind, store, a, b = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
out = {}
if kind == "floor":
    keys = [f"m{i}" for i in range(b)]
    points = []
    t0 = time.perf_counter()
    for s in range(a):
        for k in keys:
            points.append((k, s, s * 0.5))
    out["call"] = time.perf_counter() - t0
    print(json.dumps(out)); sys.exit()
import naiad
from naiad import query
if kind == "log":  # a steps, b metrics
    keys = [f"train/m{i}" for i in range(b)]
    run = naiad.Run(run_id="bench", store=store)
    run.log_metrics({"warmup": 0.0}, step=0)
    run.wait()
    t0 = time.perf_counter()
    for s in range(a):
        run.log_metrics({k: s * 0.5 for k in keys}, step=s)
    out["call"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    run.wait()
    out["durable"] = time.perf_counter() - t1
    out["total"] = time.perf_counter() - t0
    t2 = time.perf_counter()
    run["warmup"].fetch_values(lineage_to_the_root=False)  # pandas imported by now
    t2 = time.perf_counter()
    df = run["train/m0"].fetch_values(lineage_to_the_root=False)
    out["read_first"] = time.perf_counter() - t2
    t2 = time.perf_counter()
    df = run["train/m0"].fetch_values(lineage_to_the_root=False)
    out["read"] = time.perf_counter() - t2
    out["read_points"] = len(df)
    run.close()
elif kind == "runs":  # a runs
    from naiad._storage import Assign, Floats, RunSpec, open_store
    from naiad._types import FieldType
    from array import array
    st = open_store(store)
    for i in range(a):
        rec = st.open_run(RunSpec("default", f"r{i}", "exp", None, None, 1.0, "o", "h"))
        st.write_batch(rec.pk, [Assign(f"config/p{j}", int(FieldType.FLOAT), float(i + j)) for j in range(5)]
                       + [Floats("loss", array("q", [0]), array("d", [1.0 / (i + 1)]), array("d", [1.0]))])
    st.close()
    query.fetch_runs_table(attributes=["config/p0"], store=store, limit=1)
    t0 = time.perf_counter()
    table = query.fetch_runs_table(attributes=["config/p0", "config/p1", "loss"], store=store)
    out["table"] = time.perf_counter() - t0
    out["rows"] = len(table)
elif kind == "writer":  # a steps, b metrics, one of 16 processes
    keys = [f"m{i}" for i in range(b)]
    with naiad.Run(run_id=sys.argv[5], store=store) as run:
        for s in range(a):
            run.log_metrics({k: s * 0.5 for k in keys}, step=s)
print(json.dumps(out))
"""


_MADE: list[str] = []  # the schemas this run created: the only ones it drops (the server is shared)


def _fresh(backend: str, base: str | None, tmp: str) -> str:
    if backend == "sqlite":
        return os.path.join(tmp, uuid.uuid4().hex)
    assert base is not None
    _MADE.append(f"b_{uuid.uuid4().hex[:12]}")
    return f"{base}{'&' if '?' in base else '?'}schema={_MADE[-1]}"


def _worker(*args: object) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", WORKER, *map(str, args)],
        capture_output=True,
        text=True,
        check=True,
        timeout=1200,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _drop_schemas(base: str) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        for name in _MADE:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')  # type: ignore[arg-type] - names we made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("NAIAD_TEST_POSTGRES"), help="server URI")
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--metrics", type=int, default=10)
    parser.add_argument("--points", type=int, default=1_000_000, help="points for sustained and read")
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--writer-steps", type=int, default=2_000)
    args = parser.parse_args()
    if not args.postgres:
        sys.exit('No PostgreSQL: pass --postgres URI or start one with: eval "$(.ci/services.sh start)"')
    backends = ("sqlite", "postgres")
    rows: dict[str, dict[str, float]] = {b: {} for b in backends}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            floor = _worker("floor", "-", args.steps, args.metrics)["call"]
            for b in backends:
                log = _worker("log", _fresh(b, args.postgres, tmp), args.steps, args.metrics)
                rows[b]["calling thread (s)"] = log["call"]
                rows[b]["  × list floor"] = log["call"] / floor
                rows[b]["durable after the loop (s)"] = log["durable"]
                big = _worker("log", _fresh(b, args.postgres, tmp), args.points // 10, 10)
                rows[b]["sustained (M points/s)"] = args.points / big["total"] / 1e6
                one = _worker("log", _fresh(b, args.postgres, tmp), args.points, 1)
                rows[b][f"read {one['read_points']:,.0f} points, first (ms)"] = one["read_first"] * 1000
                rows[b][f"read {one['read_points']:,.0f} points, again (ms)"] = one["read"] * 1000
                table = _worker("runs", _fresh(b, args.postgres, tmp), args.runs, 0)
                rows[b][f"fetch_runs_table, {table['rows']:,.0f} runs (s)"] = table["table"]
                store = _fresh(b, args.postgres, tmp)
                _worker("runs", store, 1, 0)  # the store exists before the writers race
                t0 = time.perf_counter()
                procs = [
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-c",
                            WORKER,
                            "writer",
                            store,
                            str(args.writer_steps),
                            "10",
                            f"w{i}",
                        ],
                        stdout=subprocess.DEVNULL,
                    )
                    for i in range(args.writers)
                ]
                assert all(p.wait(timeout=1200) == 0 for p in procs)
                wall = time.perf_counter() - t0
                rows[b][f"{args.writers} processes (M points/s)"] = (
                    args.writers * args.writer_steps * 10 / wall / 1e6
                )
        finally:  # also when a measurement fails: leave the shared server clean
            _drop_schemas(args.postgres)
    width = max(len(k) for k in rows["sqlite"])
    print(f"{'':{width}}  {'sqlite':>10}  {'postgres':>10}  {'pg/sqlite':>9}")
    for key in rows["sqlite"]:
        lo, hi = rows["sqlite"][key], rows["postgres"][key]
        print(f"{key:{width}}  {lo:10.3f}  {hi:10.3f}  {hi / lo if lo else float('nan'):9.2f}")


if __name__ == "__main__":
    main()
