"""Scale benchmarks (issue 22): every row measured side by side with its baseline, ratios printed.

Rows (each timing the median of ``--repeats``, each measurement in a fresh subprocess so its
imports and peak RSS are its own):

- read one 10,000,000-point float series (``fetch_values``), and its RSS above the process's
  baseline; baseline: a raw SQLite read of the same chunk rows, decoded and concatenated;
- read one 1,000,000-point string series, and the UI's tail of it (the live console poll);
  baseline: a raw SQLite read of the same chunk rows, decoded into numpy steps and times and
  a list of str (the tail: the last chunk);
- ``naiad ls`` and the UI runs table's first page over 100,000 runs; baselines: the
  interpreter plus ``import naiad`` (for the command), a raw ``SELECT`` of a page and a count;
- ``log_configs`` of a 1,000,000-key dict and ``log_metrics`` of 1,000,000 keys, until
  durable, with RSS; baseline: appending the same pairs to a Python list (the list floor); the
  store's own share (``write_batch`` of the same ops) against a raw ``executemany``;
- the first ``fetch_values()`` in a fresh process, imports included; baseline: ``import pandas``;
- bytes per float point on disk; baseline: the 24 bytes of a step, a value and a timestamp;
- with ``--postgres``, a series logged one point per batch (``--trickle`` batches): their
  time and CPU against a raw ``INSERT`` of a row per transaction, and their bytes per point.

With ``--old DIR`` (a checkout of an earlier naiad, e.g. ``git worktree add /tmp/old main``)
every naiad row also runs against that tree in the same benchmark run, so today's and the new
figures sit side by side. Stores are built once, through the store seam (``write_batch``) or,
for 100,000 runs, by cloning one run that the store created (SQL, in one transaction), so
setup is fast and is not what is measured. With ``--postgres URI`` (a server) the read rows
also run against a PostgreSQL store in a fresh schema, dropped after (baseline: a raw
``psycopg`` read of the same rows).

    python benchmarks/scale.py                      # the issue's sizes, 3 repeats
    python benchmarks/scale.py --old /tmp/old --points 1000000 --floats 10000000 --runs 100000
    python benchmarks/scale.py --only floats,strings --repeats 1
    python benchmarks/scale.py --only first --repeats 5   # seconds: a 10,000-point store only
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from pathlib import Path
from typing import Any

from naiad._storage import open_store
from naiad._storage._records import Assign, Floats, Points, RunSpec
from naiad._storage._schema import SCHEMA_VERSION
from naiad._types import STEP_SCALE, FieldType

# One measurement: python -c WORKER kind json-args; prints one JSON object.
WORKER = r"""
import json, resource, sys, time
def text_columns(rows):  # (steps, ts, lens, vals) chunk rows: numpy steps/times, a list of str
    import numpy as np
    from itertools import accumulate
    steps = np.concatenate([np.frombuffer(r[0], "<i8") for r in rows])
    stamps = np.concatenate([np.frombuffer(r[1], "<f8") for r in rows])
    values = []
    for r in rows:
        text, ends = r[3].decode(), list(accumulate(np.frombuffer(r[2], "<u4").tolist()))
        values.extend([text[i:j] for i, j in zip([0, *ends[:-1]], ends)])
    return steps, stamps, values
kind, a = sys.argv[1], json.loads(sys.argv[2])
def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
def cpu():  # steadier than wall time on a busy machine
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
out = {}
c0 = None
if kind == "first_read":  # imports included: the clock starts before import naiad
    t0 = time.perf_counter()
    import naiad
    run = naiad.Run(run_id=a["run"], project="bench", store=a["store"], mode="read-only")
    run[a["path"]].fetch_values()
    out["s"] = time.perf_counter() - t0
elif kind == "import_pandas":
    t0 = time.perf_counter()
    import pandas
    out["s"] = time.perf_counter() - t0
elif kind == "read":
    import naiad, numpy, pandas
    run = naiad.Run(run_id=a["run"], project="bench", store=a["store"], mode="read-only")
    base, c0 = rss(), cpu()
    t0 = time.perf_counter()
    df = run[a["path"]].fetch_values()
    out["s"], out["mb"], out["n"] = time.perf_counter() - t0, rss() - base, len(df)
elif kind == "raw_floats":
    import sqlite3, numpy as np
    base, c0 = rss(), cpu()
    t0 = time.perf_counter()
    c = sqlite3.connect(a["db"])
    from naiad._storage._codec import columns
    from naiad._storage._records import Chunk
    sql = "SELECT first_step, last_step, n, steps, vals, ts, codec FROM chunks ORDER BY field_id, first_step"
    parts = [columns(Chunk(*r)) for r in c.execute(sql).fetchall()]  # decoded as the store packs them
    cols = [np.concatenate([p[k] for p in parts]) for k in range(3)]
    out["s"], out["mb"], out["n"] = time.perf_counter() - t0, rss() - base, cols[0].size
elif kind == "raw_strings":
    import sqlite3
    base, c0 = rss(), cpu()
    t0 = time.perf_counter()
    sql = "SELECT steps, ts, lens, vals FROM text_chunks ORDER BY field_id, first_step"
    cols = text_columns(sqlite3.connect(a["db"]).execute(sql).fetchall())
    out["s"], out["mb"], out["n"] = time.perf_counter() - t0, rss() - base, len(cols[2])
elif kind in ("tail", "raw_tail", "table", "raw_table"):
    times = []
    if kind == "tail":
        from naiad._storage import open_store
        from naiad._ui import _data
        st = open_store(a["store"], create=False)
        fn = lambda: _data.string_series(st, "bench", a["run"], a["path"], tail=1000)
    elif kind == "table":
        import pandas  # a UI server has it loaded
        from naiad._storage import open_store
        from naiad._ui import _table
        st = open_store(a["store"], create=False)
        fn = lambda: _table.runs_table(st, "bench", heads=False, filter=None, columns=None, sort=None,
                                       ascending=False, offset=0, limit=50)
    elif kind == "raw_tail":
        import sqlite3
        c = sqlite3.connect(a["db"])
        sql = "SELECT steps, ts, lens, vals FROM text_chunks ORDER BY field_id DESC, first_step DESC LIMIT 1"
        fn = lambda: text_columns(c.execute(sql).fetchall()[::-1])
    else:
        import sqlite3
        c = sqlite3.connect(a["db"])
        def fn():
            c.execute("SELECT custom_id FROM runs ORDER BY id DESC LIMIT 50").fetchall()
            c.execute("SELECT count(*) FROM runs").fetchall()
    for _ in range(5):
        t0 = time.perf_counter(); fn(); times.append(time.perf_counter() - t0)
    out["s"] = sorted(times)[2]
elif kind in ("configs", "metrics", "list"):
    import tempfile
    n = a["keys"]
    data = {f"k{i}": i * 0.5 for i in range(n)}
    base = rss()
    if kind == "list":
        t0 = time.perf_counter()
        points = [(f"cfg/{k}", v) for k, v in data.items()]
        out["s"], out["call"], out["durable"] = time.perf_counter() - t0, 0.0, 0.0
    else:
        import naiad, uuid
        store = a.get("store") or tempfile.mkdtemp()  # a PostgreSQL store is shared: a run of its own
        run = naiad.Run(run_id=f"wide-{uuid.uuid4().hex[:8]}", project="bench", store=store)
        t0 = time.perf_counter()
        if kind == "configs":
            run.log_configs({"cfg": data}, flatten=True)
        else:
            run.log_metrics(data, step=0)
        t1 = time.perf_counter()
        run.wait()
        t2 = time.perf_counter()
        out["s"], out["call"], out["durable"] = t2 - t0, t1 - t0, t2 - t1
        run.close()
    out["mb"] = rss() - base
elif kind in ("store_assign", "raw_assign"):
    import tempfile, sqlite3
    from pathlib import Path
    from naiad._storage import open_store
    from naiad._storage._records import Assign, RunSpec
    n = a["keys"]
    st = open_store(Path(tempfile.mkdtemp()))
    rec = st.open_run(RunSpec("bench", "wide", None, None, None, 0.0, "me", "host"))
    if kind == "store_assign":
        ops = [Assign(f"cfg/k{i}", 1, i * 0.5) for i in range(n)]
        t0 = time.perf_counter()
        st.write_batch(rec.pk, ops)
    else:
        c = sqlite3.connect(st.db_path, isolation_level=None)
        rows = [(rec.pk, f"cfg/k{i}", 1, i * 0.5) for i in range(n)]
        t0 = time.perf_counter()
        c.execute("BEGIN IMMEDIATE")
        c.executemany("INSERT INTO fields(run_id, path, type, value) VALUES(?,?,?,?)", rows)
        c.execute("COMMIT")
    out["s"] = time.perf_counter() - t0
elif kind == "ls":
    import subprocess
    times = []
    for _ in range(a["repeats"]):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import sys; from naiad._cli import main; sys.exit(main())",
                        "ls", "--project", "bench", "--store", a["store"]], check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    out["s"] = sorted(times)[len(times) // 2]
elif kind == "import_cli":
    import subprocess
    times = []
    for _ in range(a["repeats"]):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import naiad, naiad._cli"], check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    out["s"] = sorted(times)[len(times) // 2]
elif kind == "pg_read_raw":
    import psycopg
    base, c0 = rss(), cpu()
    t0 = time.perf_counter()
    with psycopg.connect(a["dsn"]) as c:
        c.execute(f"SET search_path TO {a['schema']}")
        if a["floats"]:
            sql = "SELECT steps, vals, ts FROM chunks ORDER BY field_id, first_step"
        else:
            sql = "SELECT steps, ts, lens, vals FROM text_chunks ORDER BY field_id, first_step"
        rows = c.cursor(binary=True).execute(sql).fetchall()
        if not a["floats"]:
            rows = text_columns(rows)[2]
    out["s"], out["mb"], out["n"] = time.perf_counter() - t0, rss() - base, len(rows)
elif kind in ("pg_trickle", "pg_trickle_raw"):  # one point per transaction, into a fresh schema
    import uuid, psycopg
    from array import array
    schema = "bench_" + uuid.uuid4().hex[:12]
    with psycopg.connect(a["dsn"], autocommit=True) as c:
        try:
            if kind == "pg_trickle":
                import numpy  # noqa: F401 - a run's writer imports it when it starts, as here
                from naiad._storage import open_store
                from naiad._storage._records import Floats, RunSpec
                st = open_store(a["dsn"] + ("&" if "?" in a["dsn"] else "?") + "schema=" + schema)
                rec = st.open_run(RunSpec("bench", "trickle", None, None, None, time.time(), "me", "host"))
                one = lambda i: [Floats("train/loss", array("q", [i * 1_000_000]),
                                        array("d", [1.0 / (i + 1)]), array("d", [time.time()]))]
                fn, done = lambda i: st.write_batch(rec.pk, one(i)), st.close
            else:
                c.execute(f"CREATE SCHEMA {schema}")
                c.execute(f"CREATE TABLE {schema}.points(step bigint PRIMARY KEY, v float8, t float8)")
                sql = f"INSERT INTO {schema}.points VALUES (%s, %s, %s)"
                fn, done = lambda i: c.execute(sql, [i, 1.0 / (i + 1), time.time()]), lambda: None
            c0, t0 = cpu(), time.perf_counter()
            for i in range(a["n"]):
                fn(i)
            out["s"] = time.perf_counter() - t0
            done()
            if kind == "pg_trickle":  # every column of the chunk rows, and the table with its TOAST
                sql = ("SELECT sum(octet_length(steps) + octet_length(vals) + octet_length(ts) + "
                       "coalesce(octet_length(summary), 0) + coalesce(octet_length(coarse), 0)), count(*) "
                       f"FROM {schema}.chunks")
                size, out["chunks"] = c.execute(sql).fetchone()
                out["bytes"] = size / a["n"]
                c.execute(f"VACUUM FULL {schema}.chunks")  # live rows only: autovacuum reclaims the rest
                sql = "SELECT pg_total_relation_size(%s::regclass)"
                out["table"] = c.execute(sql, [f"{schema}.chunks"]).fetchone()[0] / a["n"]
        finally:
            c.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
if c0 is not None:
    out["cpu"] = cpu() - c0
print(json.dumps(out))
"""


_DOWNGRADED: dict[str, str] = {}


def for_old_tree(store: str, naiad_path: str) -> str:
    """The store as the old tree can open it: a copy taken back to its schema version by the
    upgrade tests' own helper (``tests/_downgrade.py``: each migration's undo)."""
    text = (Path(naiad_path) / "naiad" / "_storage" / "_schema.py").read_text()
    version = int(text.split("SCHEMA_VERSION = ", 1)[1].split()[0])
    if version >= SCHEMA_VERSION or "://" in store:
        return store
    if store not in _DOWNGRADED:
        import shutil

        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        from _downgrade import sqlite_back_to

        copy = store.rstrip("/") + f"-v{version}"
        shutil.copytree(store, copy)
        sqlite_back_to(Path(copy) / "naiad.db", version)
        _DOWNGRADED[store] = copy
    return _DOWNGRADED[store]


def measure(kind: str, args: dict[str, Any], naiad_path: str | None, repeats: int) -> dict[str, float]:
    """Median of ``repeats`` fresh processes (``naiad_path``: import that naiad instead)."""
    env = dict(os.environ)
    if naiad_path is not None:
        env["PYTHONPATH"] = naiad_path + os.pathsep + env.get("PYTHONPATH", "")
        if args.get("store"):
            args = {**args, "store": for_old_tree(args["store"], naiad_path)}
    runs = []
    for _ in range(repeats):
        proc = subprocess.run(
            [sys.executable, "-c", WORKER, kind, json.dumps(args)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{kind} failed: {proc.stderr[-2000:]}")
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


class Table:
    """Rows of: workload, new, today (``--old``), baseline, new/baseline, new/today, target."""

    def __init__(self, old: bool) -> None:
        self.old = old
        head = ["workload", "naiad (new)", *(["naiad (today)"] if old else []), "baseline", "x baseline"]
        head += [*(["new/today"] if old else []), "target"]
        print("| " + " | ".join(head) + " |\n|" + "---|" * len(head), flush=True)

    def row(
        self, name: str, new: float, old: float | None, base: float, target: str, unit: str = "s"
    ) -> None:
        def fmt(v: float) -> str:
            return f"{v:.3f} {unit}" if unit == "s" else f"{v:.0f} {unit}"

        cells = [name, fmt(new), *([fmt(old) if old is not None else "-"] if self.old else [])]
        cells += [fmt(base), f"{new / base:.2f}x" if base else "-"]
        if self.old:
            cells.append(f"{new / old:.2f}x" if old else "-")
        print("| " + " | ".join([*cells, target]) + " |", flush=True)


# -- building stores through the seam ------------------------------------------------------------------
def build_floats(root: Path | str, points: int) -> None:
    store = open_store(root)
    run = store.open_run(RunSpec("bench", "floats", "exp", None, None, time.time(), "me", "host"))
    batch = 100_000
    for start in range(0, points, batch):
        steps = range(start, min(points, start + batch))
        store.write_batch(
            run.pk,
            [
                Floats(
                    "train/loss",
                    array("q", (s * STEP_SCALE for s in steps)),
                    array("d", (1.0 / (s + 1) for s in steps)),
                    array("d", (1.7e9 + s * 0.01 for s in steps)),
                )
            ],
        )
    store.close()


def build_string_series(root: Path | str, points: int) -> None:
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


_PER_RUN = {  # sys fields whose value differs per run, as SQL over the clone's runs row r
    "sys/id": "r.sys_id",
    "sys/custom_run_id": "r.custom_id",
    "sys/family": "r.custom_id",
    "sys/name": "r.experiment",
    "sys/experiment/name": "r.experiment",
    "sys/creation_time": "f.value + (r.id - 1) * 1000000",
    "sys/modification_time": "f.value + (r.id - 1) * 1000000",
    "sys/ping_time": "f.value + (r.id - 1) * 1000000",
    "sys/experiment/is_head": "(r.id > :n - 100)",  # the newest run of each of 100 experiments
}


def build_runs(root: Path, runs: int) -> None:
    """Run 0 made by the store (sys fields and five configs), then cloned ``runs - 1`` times."""
    store = open_store(root)
    rec = store.open_run(RunSpec("bench", "run-0", "exp-0", None, None, 1.7e9, "me", "host"))
    store.write_batch(rec.pk, [Assign(f"config/p{j}", int(FieldType.FLOAT), float(j)) for j in range(5)])
    store.close()
    conn = sqlite3.connect(root / "naiad.db", isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(
        "INSERT INTO runs(id, project_id, custom_id, sys_id, experiment, depth) "
        "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < :n - 1) "
        "SELECT i + 1, 1, 'run-' || i, 'BEN-' || (i + 1), 'exp-' || (i % 100), 0 FROM k",
        {"n": runs},
    )
    value = (
        "CASE f.path " + " ".join(f"WHEN '{p}' THEN {e}" for p, e in _PER_RUN.items()) + " ELSE f.value END"
    )
    conn.execute(
        "INSERT INTO fields(run_id, path, type, value, step, n, vmin, vmax) "
        f"SELECT r.id, f.path, f.type, {value}, f.step, f.n, f.vmin, f.vmax "
        "FROM runs r JOIN fields f ON f.run_id = 1 WHERE r.id > 1",
        {"n": runs},
    )
    conn.execute(
        "UPDATE fields SET value = (run_id > :n - 100) WHERE path = 'sys/experiment/is_head'", {"n": runs}
    )
    conn.execute("UPDATE projects SET counter = :n", {"n": runs})
    conn.execute("COMMIT")
    conn.close()


# -- the rows --------------------------------------------------------------------------------------------
def floats(t: Table, points: int, repeats: int, old: str | None, tmp: Path) -> None:
    root = tmp / "floats"
    t0 = time.perf_counter()
    build_floats(root, points)
    print(f"(built a {points:,}-point float series in {time.perf_counter() - t0:.1f} s)", flush=True)
    args = {"store": str(root), "run": "floats", "path": "train/loss", "db": str(root / "naiad.db")}
    new, base = measure("read", args, None, repeats), measure("raw_floats", args, None, repeats)
    before = measure("read", args, old, repeats) if old else None
    t.row(f"read one {points:,}-point float series", new["s"], before and before["s"], base["s"], "0.5 s")
    t.row("  its CPU time", new["cpu"], before and before["cpu"], base["cpu"], "-")
    t.row(
        "  its RSS above the process baseline", new["mb"], before and before["mb"], base["mb"], "250 MB", "MB"
    )
    size = sum(p.stat().st_size for p in root.glob("naiad.db*"))
    t.row("bytes per float point on disk", size / points, None, 24.0, "16 B", "B")


def first_fetch(t: Table, repeats: int, old: str | None, tmp: Path) -> None:
    """The first read in a fresh process: imports dominate, so a small store of its own will do."""
    small = tmp / "small"
    build_floats(small, 10_000)
    first = {"store": str(small), "run": "floats", "path": "train/loss"}
    new = measure("first_read", first, None, repeats)
    before = measure("first_read", first, old, repeats) if old else None
    base = measure("import_pandas", {}, None, repeats)
    t.row(
        "first fetch_values() in a fresh process (10,000 points)",
        new["s"],
        before and before["s"],
        base["s"],
        "0.4 s",
    )


def strings(t: Table, points: int, repeats: int, old: str | None, tmp: Path) -> None:
    root = tmp / "strings"
    t0 = time.perf_counter()
    build_string_series(root, points)
    print(f"(built a {points:,}-point string series in {time.perf_counter() - t0:.1f} s)", flush=True)
    args = {"store": str(root), "run": "strings", "path": "logs/out", "db": str(root / "naiad.db")}
    new, base = measure("read", args, None, repeats), measure("raw_strings", args, None, repeats)
    before = measure("read", args, old, repeats) if old else None
    t.row(f"read one {points:,}-point string series", new["s"], before and before["s"], base["s"], "0.5 s")
    t.row("  its CPU time", new["cpu"], before and before["cpu"], base["cpu"], "-")
    new, base = measure("tail", args, None, repeats), measure("raw_tail", args, None, repeats)
    before = measure("tail", args, old, repeats) if old else None
    t.row(
        f"UI tail (1,000 lines) of the {points:,}-point string series",
        new["s"],
        before and before["s"],
        base["s"],
        "0.05 s",
    )


def listing(t: Table, runs: int, repeats: int, old: str | None, tmp: Path) -> None:
    root = tmp / "runs"
    t0 = time.perf_counter()
    build_runs(root, runs)
    print(f"(built {runs:,} runs in {time.perf_counter() - t0:.1f} s)", flush=True)
    args = {"store": str(root), "db": str(root / "naiad.db"), "repeats": repeats}
    new, base = measure("ls", args, None, 1), measure("import_cli", args, None, 1)
    before = measure("ls", args, old, 1) if old else None
    t.row(
        f"naiad ls over {runs:,} runs (vs python + import naiad)",
        new["s"],
        before and before["s"],
        base["s"],
        "0.5 s",
    )
    new, base = measure("table", args, None, repeats), measure("raw_table", args, None, repeats)
    before = measure("table", args, old, repeats) if old else None
    t.row(f"UI runs table, first page (50) of {runs:,}", new["s"], before and before["s"], base["s"], "0.3 s")


def wide(
    t: Table, keys: int, repeats: int, old: str | None, store: str | None = None, label: str = ""
) -> None:
    args: dict[str, Any] = {"keys": keys, "store": store}
    base = measure("list", args, None, repeats)
    for kind, name in (("configs", "log_configs"), ("metrics", "log_metrics")):
        new = measure(kind, args, None, repeats)
        before = measure(kind, args, old, repeats) if old else None
        row = f"{label}{name} of {keys:,} keys, until durable"
        t.row(row, new["s"], before and before["s"], base["s"], "5 s")
        t.row("  its calling thread (the call)", new["call"], before and before["call"], base["s"], "-")
        t.row(
            "  its RSS above the process baseline",
            new["mb"],
            before and before["mb"],
            base["mb"],
            "500 MB",
            "MB",
        )
    if store is not None:  # the store's share is measured on the embedded store's SQL
        return
    new, base = measure("store_assign", args, None, repeats), measure("raw_assign", args, None, repeats)
    before = measure("store_assign", args, old, repeats) if old else None
    t.row(
        f"  the store's share: write_batch of {keys:,} Assign ops (vs raw executemany)",
        new["s"],
        before and before["s"],
        base["s"],
        "-",
    )


def postgres(t: Table, server: str, only: set[str], a: argparse.Namespace, old: str | None) -> None:
    """The rows of ``only`` (reads, 1M-key calls) on a PostgreSQL store, in a fresh schema of
    ``server`` dropped after."""
    import uuid

    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    uri = f"{server}{'&' if '?' in server else '?'}schema={schema}"
    try:
        repeats = a.repeats
        for kind, n, build, run, path in (
            ("float", a.floats, build_floats, "floats", "train/loss"),
            ("string", a.points, build_string_series, "strings", "logs/out"),
        ):
            if f"{kind}s" not in only:
                continue
            t0 = time.perf_counter()
            build(uri, n)
            print(f"(built a {n:,}-point {kind} series on PostgreSQL in {time.perf_counter() - t0:.1f} s)")
            args = {"store": uri, "run": run, "path": path, "dsn": server, "schema": schema}
            args["floats"] = kind == "float"
            if kind == "float":  # the chunks table with its TOAST (where the packed columns live)
                with psycopg.connect(server, autocommit=True) as conn:
                    size = conn.execute(
                        "SELECT pg_total_relation_size(%s::regclass)", [f'"{schema}".chunks']
                    ).fetchone()
                name = "PostgreSQL: bytes per float point (chunks table)"
                t.row(name, size[0] / n, None, 24.0, "16 B", "B")
            new, base = measure("read", args, None, repeats), measure("pg_read_raw", args, None, repeats)
            before = measure("read", args, old, repeats) if old else None
            t.row(
                f"PostgreSQL: read one {n:,}-point {kind} series",
                new["s"],
                before and before["s"],
                base["s"],
                "-",
            )
            t.row("  its CPU time", new["cpu"], before and before["cpu"], base["cpu"], "-")
            t.row(
                "  its RSS above the process baseline",
                new["mb"],
                before and before["mb"],
                base["mb"],
                "-",
                "MB",
            )
        if "wide" in only:
            wide(t, a.keys, repeats, old, uri, "PostgreSQL: ")
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')  # type: ignore[arg-type] - made here
    if "trickle" in only:
        trickle(t, server, a.trickle, repeats, old)


def trickle(t: Table, server: str, n: int, repeats: int, old: str | None) -> None:
    """A series logged one point per batch (a training loop's steady trickle) on PostgreSQL: the
    time of ``n`` one-point batches against a raw ``INSERT`` of a row per transaction, and its
    bytes per point against the 24 of a step, a value and a timestamp."""
    args = {"dsn": server, "n": n}
    new, base = measure("pg_trickle", args, None, repeats), measure("pg_trickle_raw", args, None, repeats)
    before = measure("pg_trickle", args, old, repeats) if old else None
    t.row(f"PostgreSQL: {n:,} one-point batches", new["s"], before and before["s"], base["s"], "-")
    t.row("  their CPU time", new["cpu"], before and before["cpu"], base["cpu"], "-")
    name = "  bytes per point of their chunk rows (summaries included)"
    t.row(name, new["bytes"], before and before["bytes"], 24.0, "16 B", "B")
    name = "  bytes per point of the chunks table (live rows, TOAST included)"
    t.row(name, new["table"], before and before["table"], 24.0, "-", "B")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--points", type=int, default=1_000_000, help="points of the string series")
    p.add_argument("--floats", type=int, default=10_000_000, help="points of the float series")
    p.add_argument("--runs", type=int, default=100_000)
    p.add_argument("--trickle", type=int, default=20_000, help="one-point batches (with --postgres)")
    p.add_argument("--keys", type=int, default=1_000_000, help="keys of log_configs / log_metrics")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument(
        "--only",
        default="floats,first,strings,runs,wide,trickle",
        help="comma-separated: floats,first (the first fetch_values in a fresh process),strings,runs,"
        "wide,trickle (a series logged a point per batch, with --postgres)",
    )
    p.add_argument("--old", type=Path, help="a checkout of today's naiad to measure side by side")
    p.add_argument(
        "--postgres", help="a PostgreSQL server URI: also the rows of --only there (a fresh schema)"
    )
    a = p.parse_args()
    only = set(a.only.split(","))
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        old = None
        if a.old is not None:  # `import naiad` from the old tree's core/ (its package root)
            (tmp / "old").mkdir()
            (tmp / "old" / "naiad").symlink_to(a.old.resolve() / "core")
            old = str(tmp / "old")
        load = os.getloadavg()[0]
        print(
            f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {load:.1f}; medians of {a.repeats}"
        )
        t = Table(old is not None)
        started = time.perf_counter()
        if "floats" in only:
            floats(t, a.floats, a.repeats, old, tmp)
        if "first" in only:
            first_fetch(t, a.repeats, old, tmp)
        if "strings" in only:
            strings(t, a.points, a.repeats, old, tmp)
        if "runs" in only:
            listing(t, a.runs, a.repeats, old, tmp)
        if "wide" in only:
            wide(t, a.keys, a.repeats, old)
        if a.postgres:
            postgres(t, a.postgres, only, a, old)
        print(f"(benchmark took {time.perf_counter() - started:.0f} s, load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
