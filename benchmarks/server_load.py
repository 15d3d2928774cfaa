"""Many writers at once: through one ``naiad server`` against straight to PostgreSQL.

CLIENTS simulated writers (threads, spread over PROCESSES processes), each with its own run and
its own store handle, commit one batch a second (three metrics and a heartbeat, as the
background writer sends them) for SECONDS seconds, all on loopback:

- ``server``: each writer opens ``store="http://127.0.0.1:PORT"``; the server (``--workers``
  processes, ``--connections`` database connections each) writes to PostgreSQL;
- ``direct``: each writer opens the ``postgresql://`` store itself (one connection each).

Reports commits/s, p50/p99 commit latency, the most database connections open at once (counted
in ``pg_stat_activity`` by application name), writers that could not connect, and lost acks:
commits acknowledged to a writer but missing from the database afterwards (must be 0), and
duplicates (a batch applied twice: must be 0).

Needs PostgreSQL and an S3-compatible server (``. /tmp/svc.env`` or ``.ci/services.sh``:
``NAIAD_TEST_POSTGRES``, ``NAIAD_TEST_S3`` and the AWS variables).

    python benchmarks/server_load.py                   # 200 writers, 60 s, each mode
    python benchmarks/server_load.py --seconds 15 --clients 50
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

WORKER = r"""
import json, sys, threading, time
from array import array
from naiad._storage import Floats, Heartbeat, RunSpec, open_store
store_uri, prefix = sys.argv[1], sys.argv[2]
clients, start, stop = int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
results = []
lock = threading.Lock()

def client(i):
    out = {"run": f"{prefix}-{i}", "acked": 0, "sent": 0, "latency": [], "error": None}
    try:
        store = open_store(store_uri)
        run = store.open_run(RunSpec("load", out["run"], "load", None, None, time.time(), "bench", "h"))
        session = store.open_session(run.pk, "h", i, time.time())
    except Exception as e:
        out["error"] = f"{type(e).__name__}: {e}"[:300]
        with lock:
            results.append(out)
        return
    time.sleep(max(0.0, start - time.time()) + (i % 100) / 100)  # spread the writers over the second
    step = 0
    while time.time() < stop:
        t = time.time()
        ops = [Floats(k, array("q", [step * 1_000_000]), array("d", [step * 0.5]), array("d", [t]))
               for k in ("train/loss", "train/acc", "train/lr")]
        t0 = time.perf_counter()
        try:
            store.write_batch(run.pk, ops, heartbeat=Heartbeat(session, t))
            out["sent"] += 1
            if not getattr(store, "spooled", lambda: 0)():
                out["acked"] += 1
                out["latency"].append(time.perf_counter() - t0)
        except Exception as e:
            out["error"] = f"{type(e).__name__}: {e}"[:300]
        step += 1
        time.sleep(max(0.0, t + 1.0 - time.time()))
    store.close()
    with lock:
        results.append(out)

threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps(results))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _with_param(uri: str, key: str, value: str) -> str:
    return f"{uri}{'&' if '?' in uri else '?'}{key}={value}"


def _connections(base: str, app: str, stop: threading.Event, peak: list[int]) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        while not stop.is_set():
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [app]
            ).fetchone()
            peak[0] = max(peak[0], int(row[0]) if row else 0)
            stop.wait(0.5)


def measure(mode: str, args: argparse.Namespace, base: str, bucket: str) -> dict[str, object]:
    import boto3
    import psycopg

    from naiad._storage import open_store

    schema = f"load_{uuid.uuid4().hex[:12]}"
    app = f"naiad_load_{mode}_{uuid.uuid4().hex[:6]}"
    uri = _with_param(_with_param(base, "schema", schema), "application_name", app)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    open_store(uri, blobs=f"s3://{bucket}/load").close()
    server = None
    env = dict(os.environ)
    log = tempfile.TemporaryFile()  # noqa: SIM115 - the server's stderr, closed in finally
    try:
        target = uri
        if mode == "server":
            from naiad._server import _auth
            from naiad._storage._postgres import PostgresStore
            from naiad._storage._postgres_server import ensure_tables

            admin = PostgresStore(uri)
            ensure_tables(admin)
            env["NAIAD_TOKEN"] = _auth.create(admin, "load", {"*": "write"})[1]
            admin.close()
            port = _free_port()
            command = [sys.executable, "-m", "naiad._cli", "server", "--store", uri, "--port", str(port)]
            command += ["--workers", str(args.workers), "--connections", str(args.connections)]
            server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
            target = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    with urllib.request.urlopen(f"{target}/healthz", timeout=2):
                        break
                except OSError:
                    time.sleep(0.1)
        peak = [0]
        stop = threading.Event()
        watcher = threading.Thread(target=_connections, args=(base, app, stop, peak), daemon=True)
        watcher.start()
        start = time.time() + 5 + args.clients / 50  # every writer connected before the clock starts
        end = start + args.seconds
        per = [
            args.clients // args.processes + (i < args.clients % args.processes)
            for i in range(args.processes)
        ]
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER, target, f"{mode}{p}", str(n), str(start), str(end)],
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
            for p, n in enumerate(per)
        ]
        results = [r for p in procs for r in json.loads(p.communicate()[0] or "[]")]
        stop.set()
        watcher.join()
        latencies = sorted(x for r in results for x in r["latency"])
        acked = sum(r["acked"] for r in results)
        stored: dict[str, int] = {}
        with psycopg.connect(base) as conn:
            rows = conn.execute(
                f'SELECT r.custom_id, f.n FROM "{schema}".fields f JOIN "{schema}".runs r ON r.id = f.run_id '
                "WHERE f.path = 'train/loss'"
            ).fetchall()
            stored = {str(k): int(v) for k, v in rows}
        lost = sum(max(0, r["acked"] - stored.get(r["run"], 0)) for r in results)
        duplicates = sum(max(0, stored.get(r["run"], 0) - r["sent"]) for r in results)
        errors = [r["error"] for r in results if r["error"]]
        return {
            "mode": mode,
            "writers": len(results),
            "writers_failed": sum(1 for r in results if r["error"] and not r["sent"]),
            "commits_per_s": acked / args.seconds,
            "p50_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
            "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan"),
            "db_connections_peak": peak[0],
            "acked": acked,
            "lost_acks": lost,
            "duplicates": duplicates,
            "first_error": errors[0] if errors else None,
        }
    finally:
        if server is not None:
            server.terminate()
            server.wait(60)
        log.close()
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')  # type: ignore[arg-type]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                s3.delete_object(Bucket=bucket, Key=item["Key"])
        s3.delete_bucket(Bucket=bucket)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", default=os.environ.get("NAIAD_TEST_POSTGRES"), help="server URI")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2, help="naiad server worker processes")
    parser.add_argument("--connections", type=int, default=8, help="database connections per worker")
    parser.add_argument("--modes", default="server,direct")
    args = parser.parse_args()
    if not args.postgres:
        sys.exit("Set NAIAD_TEST_POSTGRES (or --postgres) and the S3 variables: . /tmp/svc.env")
    rows = [
        measure(m, args, args.postgres, f"naiad-load-{uuid.uuid4().hex[:12]}") for m in args.modes.split(",")
    ]
    print(f"{args.clients} writers x 1 commit/s for {args.seconds:g} s, {args.processes} client processes")
    print(f"{'mode':<8}{'commits/s':>10}{'p50 ms':>9}{'p99 ms':>9}", end="")
    print(f"{'db conns':>9}{'failed':>7}{'lost':>6}{'dup':>5}")
    for r in rows:
        print(
            f"{r['mode']:<8}{r['commits_per_s']:>10.1f}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}"
            f"{r['db_connections_peak']:>9}{r['writers_failed']:>7}{r['lost_acks']:>6}{r['duplicates']:>5}"
        )
    for r in rows:
        if r["first_error"]:
            print(f"{r['mode']}: first error: {r['first_error']}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
