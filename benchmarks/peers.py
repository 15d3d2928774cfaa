"""Side-by-side benchmark: naiad against peer experiment trackers on one workload.

Every tracker (and two floors) runs in its own subprocess on the same workload: one run,
METRICS float series x STEPS steps, logged as one ``{path: value}`` dict per step. Per tracker:

- loop: wall time of the logging loop on the calling thread (the caller builds the same dict per
  step for everyone, included in every row; the ``dict build`` row is that cost alone), and the
  calling thread's CPU time over the loop (``time.thread_time``), which other processes on a
  busy machine disturb less than wall time does;
- durable: from loop end until the data is on disk (the flush/wait/close each tracker offers);
- read: one series read back through the tracker's own read API, or its files where it has
  none (``via`` says which); the first read (cold, of another series: imports and caches) and a
  second read are timed separately; both are checked for exactness (steps and values equal to
  what was logged);
- peak RSS of the subprocess (``getrusage``), also right after the data is durable (before the
  read imports anything), and of its helper processes where it spawns any.

The table prints medians with ratios to the list-append floor and to naiad. Peers that do not
import are listed as skipped, with the reason; one that fails is listed with its error.

    pip install -e '.[bench]'            # see benchmarks/README.md
    python benchmarks/peers.py           # 10 metrics x 10,000 steps, 3 repeats
    python benchmarks/peers.py --only naiad,wandb --steps 1000 --repeats 1
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULT = "@@peers-result@@ "
LogFn = Callable[[dict[str, float], int], Any]


def _mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


# ------------------------------------------------------------------------------------------
# Trackers. Each runs inside its own worker subprocess, with cwd and HOME in a fresh temp dir.
# Every peer is set up in its local/offline mode with monitoring, console capture and source
# tracking switched off, so it does no work the others skip.
# ------------------------------------------------------------------------------------------


class Tracker:
    """One tracker: import, start (returns the per-step log call), flush, close, read back."""

    dist = ""  # distribution whose version is reported
    via = "-"  # how a series is read back: "API" (the tracker's own read call), "files" or "-"
    read_open = False  # read before close (on the open run) rather than after
    helper = ""  # a helper process it starts, whose peak RSS is reported apart

    def __init__(self, store: Path) -> None:
        self.store = store

    def load(self) -> None:
        """Import the tracker (timed as ``import``)."""

    def start(self) -> LogFn:
        """Create the run; return ``log(metrics, step)``."""
        raise NotImplementedError

    def durable(self) -> None:
        """Return once everything logged is on disk."""

    def close(self) -> None:
        """Finish the run."""

    def read(self, key: str) -> Any:
        """Read one series back, in the tracker's natural form (timed)."""
        raise NotImplementedError

    def as_lists(self, raw: Any) -> tuple[list[float], list[float]]:
        """``read``'s result as (steps, values), untimed, for the exactness check."""
        return raw


class DictBuild(Tracker):
    """The caller's own cost: build the dict, call a function that does nothing."""

    def start(self) -> LogFn:
        def log(metrics: dict[str, float], step: int) -> None:
            pass

        return log


class ListFloor(Tracker):
    """Floor: append every point to a Python list."""

    def start(self) -> LogFn:
        self.points: list[tuple[str, int, float]] = []
        append = self.points.append

        def log(metrics: dict[str, float], step: int) -> None:
            for key, value in metrics.items():
                append((key, step, value))

        return log


class NumpyFloor(Tracker):
    """Floor: rows into preallocated float64 arrays; written series-major and fsynced."""

    via = "files"

    def load(self) -> None:
        import numpy

        self.np = numpy

    def start(self) -> LogFn:
        np = self.np
        self.keys: list[str] = []
        self.steps = np.empty(0, np.int64)
        self.rows = np.empty((0, 0))
        self.n = 0

        def log(metrics: dict[str, float], step: int) -> None:
            n = self.n
            if n == len(self.steps):  # grow by doubling, like a real buffer would
                if not self.keys:
                    self.keys = list(metrics)
                    self.rows = np.empty((0, len(self.keys)))
                size = max(1024, 2 * n)
                self.steps = np.resize(self.steps, size)
                rows = np.empty((size, len(self.keys)))
                rows[:n] = self.rows[:n]
                self.rows = rows
            self.steps[n] = step
            self.rows[n] = tuple(metrics.values())
            self.n = n + 1

        return log

    def durable(self) -> None:
        with open(self.store / "series.f64", "wb") as f:
            f.write(self.steps[: self.n].astype(self.np.float64).tobytes())
            f.write(self.np.ascontiguousarray(self.rows[: self.n].T).tobytes())
            f.flush()
            os.fsync(f.fileno())

    def read(self, key: str) -> Any:
        n, path, f64 = self.n, self.store / "series.f64", self.np.float64
        offset = 8 * n * (1 + self.keys.index(key))
        return self.np.fromfile(path, f64, n), self.np.fromfile(path, f64, n, offset=offset)

    def as_lists(self, raw: Any) -> tuple[list[float], list[float]]:
        return raw[0].tolist(), raw[1].tolist()


class Naiad(Tracker):
    dist = "naiad"
    via = "API"
    read_open = True

    def load(self) -> None:
        import naiad

        self.naiad = naiad

    def start(self) -> LogFn:
        self.run = self.naiad.Run(store=self.store / "naiad-store")
        return self.run.log_metrics

    def durable(self) -> None:
        self.run.wait()

    def close(self) -> None:
        self.run.close()

    def read(self, key: str) -> Any:
        return self.run[key].fetch_values(include_timestamp=False)

    def as_lists(self, raw: Any) -> tuple[list[float], list[float]]:
        return raw["step"].tolist(), raw["value"].tolist()


class Trackio(Tracker):
    dist = "trackio"
    via = "API"  # SQLiteStorage.get_metric_values: what its dashboard and MCP server call

    def load(self) -> None:
        os.environ["TRACKIO_DIR"] = str(self.store / "trackio")
        import trackio
        from trackio.sqlite_storage import SQLiteStorage

        self.trackio, self.storage = trackio, SQLiteStorage

    def start(self) -> LogFn:
        self.trackio.init(project="bench", name="bench", embed=False, auto_log_gpu=False, auto_log_cpu=False)
        return self.trackio.log

    def durable(self) -> None:
        self.trackio.finish()  # joins the thread that writes the queued logs to SQLite

    def read(self, key: str) -> Any:
        return self.storage.get_metric_values("bench", "bench", key)

    def as_lists(self, raw: Any) -> tuple[list[float], list[float]]:
        return [r["step"] for r in raw], [r["value"] for r in raw]


class Goodseed(Tracker):
    dist = "goodseed"
    via = "API"  # goodseed.storage.read_metrics: its local server's read call

    def load(self) -> None:
        import goodseed
        import goodseed.storage

        self.goodseed = goodseed

    def start(self) -> LogFn:
        self.run = self.goodseed.Run(
            storage="local",
            log_dir=self.store,
            run_id="bench",
            capture_hardware_metrics=False,
            capture_stdout=False,
            capture_stderr=False,
            capture_traceback=False,
            git_ref=False,
        )
        return self.run.log_metrics  # writes each call to SQLite (WAL) on the calling thread

    def durable(self) -> None:
        self.run.close()  # checkpoints the WAL into the database file

    def read(self, key: str) -> Any:
        return self.goodseed.storage.read_metrics(self.store / "bench.sqlite", key)

    def as_lists(self, raw: Any) -> tuple[list[float], list[float]]:
        return [r["step"] for r in raw], [r["value"] for r in raw]


class Wandb(Tracker):
    dist = "wandb"
    via = "files"  # offline runs have no read API: the .wandb file, parsed with wandb's protobufs
    helper = "wandb-core"

    def load(self) -> None:
        os.environ.update(
            WANDB_MODE="offline",
            WANDB_SILENT="true",
            WANDB_DISABLE_GIT="true",
            WANDB_DISABLE_CODE="true",
            WANDB_DIR=str(self.store),
        )
        import wandb
        from wandb.proto import wandb_internal_pb2

        self.wandb, self.pb = wandb, wandb_internal_pb2

    def start(self) -> LogFn:
        settings = self.wandb.Settings(
            x_disable_stats=True, x_disable_meta=True, console="off", save_code=False, disable_git=True
        )
        self.run = self.wandb.init(mode="offline", project="bench", dir=str(self.store), settings=settings)
        return self.run.log

    def durable(self) -> None:
        self.run.finish()  # wandb-core (a helper process) has written the .wandb file

    def close(self) -> None:
        self.wandb.teardown()  # stop wandb-core so its peak RSS is counted with the children

    def read(self, key: str) -> Any:
        (path,) = glob.glob(str(self.store / "wandb" / "offline-run-*" / "*.wandb"))
        steps, values = [], []
        for raw in _leveldb_log_records(Path(path).read_bytes()):
            record = self.pb.Record()
            record.ParseFromString(raw)
            if record.WhichOneof("record_type") != "history":
                continue
            row = {item.key or "/".join(item.nested_key): item.value_json for item in record.history.item}
            if key in row:
                steps.append(json.loads(row["_step"]))
                values.append(json.loads(row[key]))
        return steps, values


def _leveldb_log_records(data: bytes) -> Any:
    """The records of a .wandb file: a 7-byte W&B header, then a LevelDB log of 32 KiB blocks."""
    block, pos, pending = 32768, 7, b""
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # a block's tail too short for a header is padding
            pos += block - pos % block
            continue
        length, kind = int.from_bytes(data[pos + 4 : pos + 6], "little"), data[pos + 6]
        chunk, pos = data[pos + 7 : pos + 7 + length], pos + 7 + length
        if kind == 1:  # full
            yield chunk
        elif kind in (2, 3):  # first, middle
            pending += chunk
        elif kind == 4:  # last
            yield pending + chunk
            pending = b""
        else:
            break


class NeptuneScale(Tracker):
    dist = "neptune-scale"
    via = "files"  # offline: its local operations repository (SQLite of protobuf operations)

    def load(self) -> None:
        import neptune_scale
        from neptune_scale.sync.operations_repository import OperationsRepository

        self.neptune_scale, self.repo_cls = neptune_scale, OperationsRepository

    def start(self) -> LogFn:
        self.run = self.neptune_scale.Run(
            mode="offline",
            project="bench/bench",
            run_id="bench",
            log_directory=self.store,
            enable_console_log_capture=False,
            source_tracking_config=None,
        )
        return self.run.log_metrics

    def durable(self) -> None:
        self.run.close()

    def read(self, key: str) -> Any:
        (path,) = glob.glob(str(self.store / "**" / "run_operations.sqlite3"), recursive=True)
        repo = self.repo_cls(db_path=Path(path))
        steps, values = [], []
        for op in repo.get_operations(up_to_bytes=1 << 40):
            append = getattr(op.operation, "append", None)
            if append is not None and key in append:
                steps.append(op.operation.step.whole + op.operation.step.micro / 1e6)
                values.append(append[key].float64)
        repo.close(cleanup_files=False)
        return steps, values


class Neptune1(Tracker):
    dist = "neptune"
    via = "files"  # offline runs cannot be fetched: its offline queue (JSON lines)

    def load(self) -> None:
        import neptune

        self.neptune = neptune

    def start(self) -> LogFn:
        self.run = run = self.neptune.init_run(
            mode="offline",
            project="bench/bench",
            capture_stdout=False,
            capture_stderr=False,
            capture_hardware_metrics=False,
            capture_traceback=False,
            git_ref=False,
            source_files=[],
        )

        def log(metrics: dict[str, float], step: int) -> None:  # what its integrations do per step
            for key, value in metrics.items():
                run[key].append(value, step=step)

        return log

    def durable(self) -> None:
        self.run.wait()

    def close(self) -> None:
        self.run.stop()

    def read(self, key: str) -> Any:
        path = key.split("/")
        files = glob.glob(str(self.store / ".neptune" / "offline" / "*" / "data-*.log"))
        steps, values = [], []
        for name in sorted(files, key=lambda f: int(f.rsplit("-", 1)[1].split(".")[0])):
            with open(name) as f:
                for line in f:
                    op = json.loads(line)["obj"]
                    if op["type"] == "LogFloats" and op["path"] == path:
                        for point in op["values"]:
                            steps.append(point["step"])
                            values.append(point["value"])
        return steps, values


class Mlflow(Tracker):
    dist = "mlflow"
    via = "API"  # MlflowClient.get_metric_history
    uri = ""

    def load(self) -> None:
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"  # mlflow 3 refuses the file store without it
        import mlflow
        from mlflow.tracking import MlflowClient

        self.mlflow, self.client_cls = mlflow, MlflowClient

    def start(self) -> LogFn:
        self.mlflow.set_tracking_uri(self.uri.format(store=self.store.as_posix()))
        self.run_id = self.mlflow.start_run().info.run_id
        return self.mlflow.log_metrics  # synchronous by default: each call is written at once

    def durable(self) -> None:
        self.mlflow.end_run()

    def read(self, key: str) -> Any:
        return self.client_cls().get_metric_history(self.run_id, key)

    def as_lists(self, raw: Any) -> tuple[list[float], list[float]]:
        return [m.step for m in raw], [m.value for m in raw]


class MlflowFile(Mlflow):
    uri = "file://{store}/mlruns"


class MlflowSqlite(Mlflow):
    uri = "sqlite:///{store}/mlflow.db"


TRACKERS: dict[str, type[Tracker]] = {
    "dict build": DictBuild,
    "list floor": ListFloor,
    "numpy floor": NumpyFloor,
    "naiad": Naiad,
    "trackio": Trackio,
    "goodseed": Goodseed,
    "wandb": Wandb,
    "neptune-scale": NeptuneScale,
    "neptune": Neptune1,
    "mlflow-file": MlflowFile,
    "mlflow-sqlite": MlflowSqlite,
}
FLOORS = ("dict build", "list floor", "numpy floor")


def worker(name: str, store: Path, steps: int, metrics: int) -> dict[str, Any]:
    """Measure one tracker in this (fresh) process."""
    tracker = TRACKERS[name](store)
    keys = [f"train/metric_{i}" for i in range(metrics)]
    rng = random.Random(8)  # full-precision doubles: a float32 or rounded store shows up as MISMATCH
    rows = [[rng.random() for _ in keys] for _ in range(steps)]
    out: dict[str, Any] = {}
    t = time.perf_counter()
    try:
        tracker.load()
    except ImportError as exc:
        return {"skipped": f"{type(exc).__name__}: {exc}"}
    out["import"] = time.perf_counter() - t
    if tracker.dist:
        from importlib.metadata import version

        out["version"] = version(tracker.dist)
    t = time.perf_counter()
    log = tracker.start()
    out["init"] = time.perf_counter() - t

    cpu, t = time.thread_time(), time.perf_counter()
    for s in range(steps):
        log(dict(zip(keys, rows[s])), s)
    out["loop"] = time.perf_counter() - t
    out["loop_cpu"] = time.thread_time() - cpu

    t = time.perf_counter()
    tracker.durable()
    out["durable"] = time.perf_counter() - t
    out["rss_write"] = _mb(resource.RUSAGE_SELF)
    if not tracker.read_open:
        t = time.perf_counter()
        tracker.close()
        out["close"] = time.perf_counter() - t
    if tracker.via != "-":
        expect_steps = [float(s) for s in range(steps)]
        exact = True
        for label, col in (("read_cold", 0), ("read", min(3, metrics - 1))):
            t = time.perf_counter()
            raw = tracker.read(keys[col])
            out[label] = time.perf_counter() - t
            got_steps, got_values = tracker.as_lists(raw)
            exact &= [float(s) for s in got_steps] == expect_steps and list(got_values) == [
                row[col] for row in rows
            ]
        out["exact"] = exact
    if tracker.read_open:
        t = time.perf_counter()
        tracker.close()
        out["close"] = time.perf_counter() - t
    out["rss"] = _mb(resource.RUSAGE_SELF)
    out["rss_children"] = _mb(resource.RUSAGE_CHILDREN)
    return out


# ------------------------------------------------------------------------------------------
# Driver
# ------------------------------------------------------------------------------------------


def run_worker(name: str, steps: int, metrics: int, timeout: float) -> dict[str, Any]:
    """One measurement of ``name`` in a fresh subprocess with its own temp store, cwd and HOME."""
    with tempfile.TemporaryDirectory(prefix="naiad-peers-") as tmp:
        home = Path(tmp, "home")
        home.mkdir()
        env = {
            **os.environ,
            "HOME": str(home),
            "HF_HUB_OFFLINE": "1",
            "DO_NOT_TRACK": "1",
            "GRADIO_ANALYTICS_ENABLED": "False",
            "NEPTUNE_MODE": "offline",
            "PYTHONWARNINGS": "ignore",
        }
        env.pop("MLFLOW_TRACKING_URI", None)
        cmd = [
            sys.executable,
            os.path.abspath(__file__),
            "--worker",
            name,
            "--store",
            tmp,
            "--steps",
            str(steps),
            "--metrics",
            str(metrics),
        ]
        t = time.perf_counter()
        try:
            proc = subprocess.run(
                cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout:.0f} s"}
        wall = time.perf_counter() - t
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT):
            return {**json.loads(line[len(RESULT) :]), "wall": wall}
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"error": f"exit {proc.returncode}: {tail[:200]}"}


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _ratio(value: float | None, base: float | None) -> str:
    return "-" if value is None or not base else f"{value / base:.1f}x"


def report(
    results: dict[str, list[dict[str, Any]]], failed: dict[str, str], steps: int, metrics: int, repeats: int
) -> None:
    """Print the table of medians."""
    med: dict[str, dict[str, Any]] = {}
    for name, runs in results.items():
        if runs:
            med[name] = {
                k: statistics.median(r[k] for r in runs) for k in runs[0] if isinstance(runs[0][k], float)
            }
            med[name]["runs"] = len(runs)
            med[name]["exact"] = (
                "n/a" if "exact" not in runs[0] else "exact" if all(r["exact"] for r in runs) else "MISMATCH"
            )
            med[name]["version"] = runs[0].get("version", "")
    floor, ours = med.get("list floor", {}), med.get("naiad", {})
    points = steps * metrics
    print(
        f"\nworkload: 1 run, {metrics} metrics x {steps:,} steps = {points:,} points; medians of "
        f"up to {repeats} runs, each in its own process; python {sys.version.split()[0]}"
    )
    head = (
        f"{'tracker':14} {'runs':>4} {'loop s':>8} {'us/pt':>6} {'x list':>7} {'x naiad':>7} "
        f"{'cpu s':>7} {'durable s':>9} {'read ms':>8} {'x naiad':>7} {'cold ms':>7} {'via':>5} "
        f"{'check':>8} {'RSS MB':>7} {'x list':>6} {'peak MB':>7} {'x list':>6}"
    )
    print(head)
    print("-" * len(head))
    for name, m in med.items():
        g = m.get
        read, cold = g("read"), g("read_cold")
        print(
            f"{name:14} {m['runs']:>4} {g('loop'):8.3f} {g('loop') / points * 1e6:6.2f} "
            f"{_ratio(g('loop'), floor.get('loop')):>7} {_ratio(g('loop'), ours.get('loop')):>7} "
            f"{g('loop_cpu'):7.3f} {_fmt(g('durable'), '9.3f')} "
            f"{_fmt(read and read * 1e3, '8.2f')} {_ratio(read, ours.get('read')):>7} "
            f"{_fmt(cold and cold * 1e3, '7.1f')} {TRACKERS[name].via:>5} {m['exact']:>8} "
            f"{g('rss_write'):7.1f} {_ratio(g('rss_write'), floor.get('rss_write')):>6} "
            f"{g('rss'):7.1f} {_ratio(g('rss'), floor.get('rss')):>6}"
        )
    for name, reason in failed.items():
        print(f"{name:14} {reason}")
    print("\nstartup and close (s), versions:")
    for name, m in med.items():
        if name in FLOORS:
            continue
        tracker = TRACKERS[name]
        helper = f"  ({tracker.helper} peak RSS {m['rss_children']:.0f} MB)" if tracker.helper else ""
        print(
            f"  {name:14} import {m['import']:6.3f}  init {m['init']:6.3f}  close {m.get('close', 0):6.3f}"
            f"  {tracker.dist} {m['version']}{helper}"
        )
    print(
        "\nloop: wall time of the logging loop on the calling thread, building the dict included (the"
        " 'dict build' row is that alone); cpu: the calling thread's CPU time over the loop; durable:"
        " loop end until on disk; read: one series through the tracker's read API (via API) or its"
        " files (via files), after a first, cold read of another series (cold ms); check: both reads"
        " equal what was logged; RSS: peak RSS once the data is durable; peak: at the end, the reads"
        " included."
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--metrics", type=int, default=10)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated trackers (the floors always run): "
        + ", ".join(n for n in TRACKERS if n not in FLOORS),
    )
    parser.add_argument(
        "--slow",
        type=float,
        default=120.0,
        help="a tracker whose first run takes longer than this (s) is not repeated",
    )
    parser.add_argument("--timeout", type=float, default=1800.0, help="per run (s)")
    parser.add_argument("--json", type=Path, help="also write every measurement here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        try:
            out = worker(args.worker, args.store, args.steps, args.metrics)
        except Exception as exc:  # report, never crash the benchmark
            traceback.print_exc()
            out = {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
        sys.stdout.flush()
        print(RESULT + json.dumps(out), flush=True)
        os._exit(0)  # skip atexit hooks of trackers already closed; they only add noise

    only = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in only if n not in TRACKERS]
    if unknown:
        parser.error(f"unknown tracker(s) {unknown}; known: {list(TRACKERS)}")
    names = [n for n in TRACKERS if not only or n in only or n in FLOORS]
    results: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    failed: dict[str, str] = {}
    slow: set[str] = set()
    start = time.perf_counter()
    for rep in range(args.repeats):
        for name in names:
            if name in failed or name in slow:
                continue
            out = run_worker(name, args.steps, args.metrics, args.timeout)
            if "skipped" in out or "error" in out:
                failed[name] = f"skipped: {out['skipped']}" if "skipped" in out else f"failed: {out['error']}"
                del results[name]
                print(f"[{rep + 1}/{args.repeats}] {name}: {failed[name]}", file=sys.stderr, flush=True)
                continue
            results[name].append(out)
            if out["wall"] > args.slow:
                slow.add(name)
            print(
                f"[{rep + 1}/{args.repeats}] {name}: loop {out['loop']:.3f} s, durable "
                f"{out['durable']:.3f} s, read {out.get('read', 0) * 1e3:.1f} ms, "
                f"{out['wall']:.0f} s in all",
                file=sys.stderr,
                flush=True,
            )
    if args.json:
        args.json.write_text(
            json.dumps(
                {"steps": args.steps, "metrics": args.metrics, "results": results, "failed": failed}, indent=1
            )
        )
    report(results, failed, args.steps, args.metrics, args.repeats)
    print(f"(benchmark took {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
