"""Child processes for the reliability tests: ``python _child.py MODE ARGS...``.

Each mode is a small training-like program that the parent kills, signals, starves of disk or
runs by the dozen. A child reports over stdout, one line per event, flushed at once, so that
what the parent read before a SIGKILL is exactly what the child had acknowledged.

Modes:
    kill STORE RUN_ID SEED PROGRESS      log metrics, configs and files; ``ack`` after wait()
    signal STORE RUN_ID PROGRESS         log metrics without waiting, until a signal ends it
    lock STORE                           hold the database's write lock until stdin closes
    remote                               run JSON commands from stdin (faults, close, threads)
    writer STORE PROJECT RUN_ID PREFIX STEPS SEED [GATE]   one of many concurrent writers (it
                                         holds half-way until the file GATE exists)
    reader STORE PROJECT STOP            read with naiad.query in a loop until STOP exists;
                                         ``seen N`` after each read that saw N points of /a
    memory STORE POINTS                  log POINTS floats as fast as possible, report RSS
    soak STORE SECONDS                   log at a steady pace, sample RSS every few seconds
"""

from __future__ import annotations

import json
import mmap
import os
import random
import struct
import sys
import threading
import time
import traceback
import warnings
from typing import Any

import _workload as w

import naiad


def emit(*parts: object) -> None:
    sys.stdout.write(" ".join(map(str, parts)) + "\n")
    sys.stdout.flush()


def progress_map(path: str) -> mmap.mmap:
    """Three int64 slots the parent reads after the kill: last metric step, config, file."""
    with open(path, "r+b") as f:
        return mmap.mmap(f.fileno(), 24)


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def rss_parts() -> dict[str, int]:
    """RssAnon (the heap: what a leak grows) and RssFile (mapped files, e.g. SQLite's mmap)."""
    with open("/proc/self/status") as f:
        return {
            k: int(v.split()[0]) * 1024
            for k, v in (line.split(":", 1) for line in f)
            if k in ("RssAnon", "RssFile")
        }


def peak_rss_bytes() -> int:
    """VmHWM: this process's own peak (ru_maxrss would inherit the parent's peak across exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


# -- kill at any moment --------------------------------------------------------------------------
def kill(store: str, run_id: str, seed: str, progress: str) -> None:
    rng = random.Random(int(seed))
    slots = progress_map(progress)
    run = naiad.Run(experiment_name="kill", run_id=run_id, store=store)
    emit("ready")
    step = cfg = fstep = 0
    while True:
        step += 1
        run.log_metrics(w.metric_values(int(seed), step), step=step)
        struct.pack_into("<q", slots, 0, step)
        roll = rng.random()
        if roll < 0.03:  # one call, five fields that must all name the same n
            cfg += 1
            run.log_configs({"cfg": w.config_values(int(seed), cfg)}, flatten=True)
            struct.pack_into("<q", slots, 8, cfg)
        if roll < 0.01:
            fstep += 1
            data = w.file_bytes(int(seed), fstep)
            run.log_files({"files/series": naiad.File(data, name=f"f{fstep}.bin")}, step=fstep)
            run.assign_files({"files/latest": naiad.File(data, name=f"f{fstep}.bin")})
            struct.pack_into("<q", slots, 16, fstep)
        if rng.random() < 0.004 and run.wait():
            emit("ack", step, cfg, fstep)
        if step % 64 == 0:
            time.sleep(0.002)  # a training step's worth of pause, so commits interleave


# -- orderly ends ----------------------------------------------------------------------------------
def signal_mode(store: str, run_id: str, progress: str) -> None:
    slots = progress_map(progress)
    run = naiad.Run(experiment_name="signal", run_id=run_id, store=store)
    run.log_metrics({"m/a": 0.0, "m/b": -0.0}, step=0)
    run.wait()
    emit("ready")
    step = 0
    while True:
        step += 1
        run.log_metrics({"m/a": float(step), "m/b": -float(step)}, step=step)
        struct.pack_into("<q", slots, 0, step)
        if step % 256 == 0:
            time.sleep(0.001)


def lock(store: str) -> None:
    """Hold the store's write lock (BEGIN EXCLUSIVE) until stdin closes: storage that is stuck."""
    import sqlite3

    conn = sqlite3.connect(os.path.join(store, "naiad.db"), timeout=60, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    emit("locked")
    sys.stdin.read()
    conn.execute("ROLLBACK")
    conn.close()


# -- remote control: faults and close --------------------------------------------------------------
class Remote:
    """Runs JSON commands against one Run; every exception the training loop would see is reported."""

    def __init__(self) -> None:
        self.run: naiad.Run | None = None
        self.step = 0
        self.fstep = 0
        self.logged = 0
        self.caught: list[Any] = []
        self.recorder = warnings.catch_warnings(record=True)
        self.seen = self.recorder.__enter__()  # records the writer thread's warnings too
        if os.environ.get("NAIAD_TEST_WARNINGS_AS_ERRORS"):
            warnings.simplefilter("error")  # as under `python -W error`
        else:
            warnings.simplefilter("always")

    def do(self, cmd: dict[str, Any]) -> dict[str, Any]:
        op = cmd["op"]
        if op == "open":
            self.run = naiad.Run(
                experiment_name="remote", run_id=cmd["run_id"], store=cmd["store"], **cmd.get("kwargs", {})
            )
            return {"run_id": self.run.run_id}
        run = self.run
        assert run is not None or op in ("threads", "warnings", "rss")
        if op == "metrics":  # n calls of `keys` keys at the next steps
            keys = [f"m/k{i}" for i in range(cmd.get("keys", 1))]
            for _ in range(cmd["n"]):
                self.step += 1
                run.log_metrics({k: float(self.step) for k in keys}, step=self.step)  # type: ignore[union-attr]
                self.logged += len(keys)
            return {"step": self.step, "logged": self.logged}
        if op == "series":  # n calls of two string series and of two metrics with their own steps
            if self.step == 0:
                run.log_metrics({"auto/x": 0.0})  # type: ignore[union-attr]  # x leads y by one step
                self.step = 1
            for i in range(cmd["n"]):
                run.log_string_series({"s/a": str(i), "s/b": str(i)}, step=self.step)  # type: ignore[union-attr]
                run.log_metrics({"auto/x": float(i), "auto/y": float(i)})  # type: ignore[union-attr]  # 2 ops
                self.step += 1
                self.logged += 4
            return {"logged": self.logged, "dropped": run.dropped}  # type: ignore[union-attr]
        if op == "configs":  # n calls assigning two config values
            for i in range(cmd["n"]):
                run.log_configs({"c/a": i, "c/b": i})  # type: ignore[union-attr]
            return {"dropped": run.dropped}  # type: ignore[union-attr]
        if op == "file":
            self.fstep += 1
            run.log_files({"files/series": w.file_bytes(7, self.fstep)}, step=self.fstep)  # type: ignore[union-attr]
            return {"fstep": self.fstep}
        if op == "wait":
            return {"ok": run.wait(timeout=cmd.get("timeout"))}  # type: ignore[union-attr]
        if op == "close":
            t0 = time.monotonic()
            ok = run.close(timeout=cmd.get("timeout"))  # type: ignore[union-attr]
            return {"ok": ok, "seconds": time.monotonic() - t0}
        if op == "threads":
            return {"names": [t.name for t in threading.enumerate()]}
        if op == "warnings":
            out = [f"{m.category.__name__}: {m.message}" for m in self.seen]
            del self.seen[:]
            return {"warnings": out}
        if op == "rss":
            return {"rss": rss_bytes(), "peak": peak_rss_bytes()}
        raise ValueError(f"unknown op {op!r}")

    def serve(self) -> None:
        for line in sys.stdin:
            cmd = json.loads(line)
            if cmd["op"] == "exit":
                break
            try:
                reply = {"result": self.do(cmd)}
            except BaseException as e:  # the training loop would have seen this
                reply = {
                    "error": f"{type(e).__name__}: {e}",
                    "type": type(e).__name__,
                    "mro": [c.__name__ for c in type(e).__mro__],
                    "trace": traceback.format_exc()[-2000:],
                }
            emit(json.dumps(reply))


# -- many writers, one reader ----------------------------------------------------------------------
def writer(store: str, project: str, run_id: str, prefix: str, steps: str, seed: str, gate: str = "") -> None:
    rng = random.Random(int(seed))
    problems: list[str] = []
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            run = naiad.Run(experiment_name=run_id, run_id=run_id, project=project, store=store)
            run.log_configs({prefix: {"seed": int(seed), "name": run_id}}, flatten=True)
            for step in range(1, int(steps) + 1):
                value = float(step)  # one batch: every key holds the step, so a reader can check it
                run.log_metrics({f"{prefix}/a": value, f"{prefix}/b": value, f"{prefix}/c": value}, step=step)
                if rng.random() < 0.01 and not run.wait(timeout=120):
                    problems.append(f"wait timed out at step {step}")
                if step % 10 == 0:
                    time.sleep(0.01)  # a training step's pace, so the reader sees runs in flight
                if gate and step == int(steps) // 2 and not _held_until(gate, 300):
                    problems.append(f"the gate {gate} never opened")
            if not run.close(timeout=120):
                problems.append("close timed out")
        except BaseException as e:
            problems.append(f"{type(e).__name__}: {e}")
    emit(json.dumps({"problems": problems, "warnings": [str(m.message) for m in seen]}))


def _held_until(path: str, timeout: float) -> bool:
    """Wait for the file ``path`` to exist; False when ``timeout`` ran out first."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def reader(store: str, project: str, stop: str) -> None:
    """Read in a loop; report every inconsistency seen: a batch split, a series shrinking or torn."""
    from naiad import query

    problems: list[str] = []
    last: dict[tuple[str, str], float] = {}
    lengths: dict[tuple[str, str], int] = {}
    reads = 0
    emit("ready")  # imports done: the writers may start
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        while not os.path.exists(stop) or reads < 3:
            try:
                missing = "://" not in store and not os.path.exists(os.path.join(store, "naiad.db"))
                if missing or not query.list_runs(project=project, store=store):
                    time.sleep(0.05)
                    continue
                table = query.fetch_runs_table(project=project, store=store, attributes=r"/[abc]$")
                for run_id, row in table.iterrows():
                    for col in row.index:
                        if not col.endswith("/a"):
                            continue
                        prefix = col[:-2]
                        batch = [row.get(f"{prefix}/{k}") for k in "abc"]
                        present = [v for v in batch if v == v and v is not None]
                        if present and (len(present) != 3 or len(set(present)) != 1):
                            problems.append(f"{run_id} {prefix}: batch split {batch}")
                        if present:
                            if present[0] < last.get((run_id, prefix), 0.0):
                                problems.append(f"{run_id} {prefix}: went back to {present[0]}")
                            last[(run_id, prefix)] = present[0]
                frame = query.fetch_metrics(
                    project=project, store=store, runs=r".*", attributes=r"/a$", format="long"
                )
                for (run_id, path), group in frame.groupby(["run", "path"]):
                    steps = group["step"].tolist()
                    if steps != [float(s) for s in range(1, len(steps) + 1)]:
                        problems.append(f"{run_id} {path}: steps not 1..n: {steps[:5]}...")
                    if len(steps) < lengths.get((run_id, path), 0):
                        problems.append(f"{run_id} {path}: series shrank")
                    lengths[(run_id, path)] = len(steps)
                reads += 1
                if len(frame):
                    emit(f"seen {len(frame)}")  # the parent counts reads that saw points
            except BaseException as e:
                problems.append(f"{type(e).__name__}: {e}")
                time.sleep(0.05)
    emit(json.dumps({"problems": problems[:20], "reads": reads, "warnings": [str(m.message) for m in seen]}))


# -- memory ----------------------------------------------------------------------------------------
def memory(store: str, points: str) -> None:
    keys = [f"train/m{i}" for i in range(10)]
    run = naiad.Run(experiment_name="memory", run_id="memory", store=store)
    step = 0
    for step in range(10_000):  # warm-up: imports, caches, the first chunks
        run.log_metrics({k: step * 0.5 + i for i, k in enumerate(keys)}, step=step)
    run.wait()
    base = rss_bytes()
    t0 = time.perf_counter()
    for step in range(10_000, 10_000 + int(points) // len(keys)):
        run.log_metrics({k: step * 0.5 + i for i, k in enumerate(keys)}, step=step)
    logged = time.perf_counter() - t0
    run.wait()
    durable = time.perf_counter() - t0
    peak = peak_rss_bytes()
    run.close()
    t0 = time.perf_counter()  # the baseline: the same loop making the same dicts, logging nothing
    for again in range(10_000, 10_000 + int(points) // len(keys)):
        _ = {k: again * 0.5 + i for i, k in enumerate(keys)}
    loop = time.perf_counter() - t0
    emit(
        json.dumps(
            {
                "baseline_rss": base,
                "peak_rss": peak,
                "last_step": step,
                "log_seconds": logged,
                "durable_seconds": durable,
                "loop_seconds": loop,
            }
        )
    )


def soak(store: str, seconds: str) -> None:
    """Steady logging for SECONDS: metrics every step, configs and files now and then, waits."""
    keys = [f"train/m{i}" for i in range(10)]
    run = naiad.Run(experiment_name="soak", run_id="soak", store=store)
    t_end = time.monotonic() + float(seconds)
    step, next_sample = 0, 0.0
    while time.monotonic() < t_end:
        step += 1
        run.log_metrics({k: step * 0.5 + i for i, k in enumerate(keys)}, step=step)
        if step % 1000 == 0:
            run.log_configs({"soak": {"step": step}}, flatten=True)
            run.log_files({"files/snap": w.file_bytes(3, step)}, step=step)
            run.wait()
        if time.monotonic() >= next_sample:
            emit(json.dumps({"t": time.monotonic(), "step": step, "rss": rss_bytes(), **rss_parts()}))
            next_sample = time.monotonic() + 5.0
        if step % 10 == 0:
            time.sleep(0.001)
    run.close()
    emit(json.dumps({"done": step, "peak": peak_rss_bytes()}))


MODES = {
    "kill": kill,
    "signal": signal_mode,
    "lock": lock,
    "writer": writer,
    "reader": reader,
    "memory": memory,
    "soak": soak,
}

if __name__ == "__main__":
    import faulthandler
    import signal

    faulthandler.register(signal.SIGUSR1)  # `kill -USR1` prints every thread's stack to stderr
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "remote":
        Remote().serve()
    else:
        MODES[mode](*args)
