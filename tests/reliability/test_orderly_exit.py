"""Orderly ends: SIGTERM and Ctrl-C flush everything; a second Ctrl-C and ``close(timeout=)`` never hang.

The child logs without ever calling ``wait()``; whatever it had logged when the signal came
must be in the store afterwards (the exit hook flushes, bounded by 8 s).
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import psutil
import pytest

import naiad

from ._harness import Lines, integrity, locked, naiad_threads, new_progress, read_progress, reap, spawn


def _start(tmp_path: Path) -> tuple[subprocess.Popen[str], Lines, Path, Path]:
    store, progress = tmp_path / "store", new_progress(tmp_path / "progress")
    proc = spawn("signal", store, "sig", progress)
    lines = Lines(proc)
    lines.wait_for("ready", 60)
    return proc, lines, store, progress


def _ended_within(proc: subprocess.Popen[str], seconds: float) -> float:
    t0 = time.monotonic()
    try:
        proc.wait(seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"the process was still running {seconds} s after the signal")
    return time.monotonic() - t0


def _assert_all_logged_is_stored(store: Path, progress: Path) -> int:
    logged = read_progress(progress)[0]
    with naiad.Run(run_id="sig", store=store, mode="read-only") as run:
        frame = run["m/a"].fetch_values(include_timestamp=False)
        steps = frame["step"].to_numpy()
        assert np.array_equal(steps, np.arange(len(steps), dtype=float)), "a point lost or doubled"
        # the signal may land after log_metrics queued a point but before the child noted it
        assert logged <= steps[-1] <= logged + 1, f"logged up to {logged}, stored up to {steps[-1]}"
        assert run["m/b"].fetch_values()["step"].iloc[-1] == steps[-1], "a half-written batch"
        assert run["sys/state"].fetch() == "inactive"  # closed, not left to go stale
    return logged


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_one_signal_flushes_everything_logged_and_exits_within_10_s(tmp_path: Path, signum: int) -> None:
    """SIGTERM (a scheduler's stop) or one Ctrl-C: the exit hook writes every point logged."""
    proc, lines, store, progress = _start(tmp_path)
    time.sleep(random.uniform(0.1, 0.6))
    proc.send_signal(signum)
    _ended_within(proc, 10)
    lines.finish()
    rc, stderr = reap(proc)
    assert rc in (128 + signum, -signum), stderr[-2000:]
    assert "NaiadWarning" not in stderr, stderr[-2000:]  # nothing went wrong, so nothing to say
    assert _assert_all_logged_is_stored(store, progress) > 0
    assert integrity(store) == "ok"


def test_second_ctrl_c_exits_within_2_s_even_while_the_flush_is_stuck(tmp_path: Path) -> None:
    """Ctrl-C once: the flush waits on a locked store; Ctrl-C again: out within 2 s, and it says why."""
    proc, lines, store, _ = _start(tmp_path)
    with locked(store):
        time.sleep(0.5)  # the queue fills behind the lock
        proc.send_signal(signal.SIGINT)
        time.sleep(1.0)
        assert proc.poll() is None, "the first Ctrl-C should wait for the flush (up to 8 s)"
        proc.send_signal(signal.SIGINT)
        _ended_within(proc, 2)
    lines.finish()
    _, stderr = reap(proc)
    assert "NaiadWarning" in stderr and "queued op(s)" in stderr, stderr[-2000:]
    assert integrity(store) == "ok"


def test_sigterm_with_stuck_storage_exits_within_10_s_and_says_what_was_lost(tmp_path: Path) -> None:
    proc, lines, store, _ = _start(tmp_path)
    with locked(store):
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        _ended_within(proc, 10)
    lines.finish()
    rc, stderr = reap(proc)
    assert rc == 128 + signal.SIGTERM
    assert "NaiadWarning" in stderr and "queued op(s)" in stderr, stderr[-2000:]
    assert integrity(store) == "ok"


def test_close_timeout_returns_in_time_when_storage_is_stuck_and_leaves_no_thread(tmp_path: Path) -> None:
    """``close(timeout=1)`` against a store another process keeps locked: False, a warning, no thread."""
    store = tmp_path / "store"
    run = naiad.Run(run_id="stuck", store=store)
    run.log_metrics({"a": 1.0}, step=0)
    assert run.wait(timeout=30)
    with locked(store):
        for step in range(1, 1000):
            run.log_metrics({"a": float(step)}, step=step)
        t0 = time.monotonic()
        with pytest.warns(naiad.NaiadWarning, match="closed before its data was written"):
            assert run.close(timeout=1.0) is False
        assert time.monotonic() - t0 < 3.0, "close(timeout=1) must return by its timeout"
        assert naiad_threads() == [], "the writer thread must not outlive close()"
    assert integrity(store) == "ok"


def test_close_leaves_no_thread_process_or_hook_behind(tmp_path: Path) -> None:
    hooks = (sys.excepthook, signal.getsignal(signal.SIGTERM))
    children = psutil.Process().children(recursive=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        runs = [naiad.Run(run_id=f"r{i}", store=tmp_path / "store") for i in range(3)]
        for run in runs:
            run.log_metrics({"a": 1.0}, step=1)
        assert naiad_threads().count("naiad-writer") == 3  # plus console and monitoring threads
        for run in runs:
            assert run.close() is True
    assert naiad_threads() == []
    assert [t for t in threading.enumerate() if t.daemon and t.name.startswith("naiad")] == []
    assert (sys.excepthook, signal.getsignal(signal.SIGTERM)) == hooks
    assert psutil.Process().children(recursive=True) == children


_WORKER_THREAD_RUN = """
import signal, sys, threading
import naiad

if sys.argv[2] == "handler":  # what the warning tells a user to do, in the main thread
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
stop = threading.Event()

def train():
    run = naiad.Run(run_id="worker", store=sys.argv[1])
    for step in range(5000):
        run.log_metrics({"m/a": float(step)}, step=step)
    print("logged", flush=True)
    stop.wait()

worker = threading.Thread(target=train)
worker.start()
try:
    worker.join()
except SystemExit:
    stop.set()
    worker.join()
    raise
"""


def test_a_run_opened_in_a_worker_thread_warns_and_the_advised_handler_flushes_it(tmp_path: Path) -> None:
    """Only the main thread may set a SIGTERM handler: a run opened in a worker thread says so
    (naming the one-line fix), and with that line a SIGTERM writes everything logged."""
    script = tmp_path / "worker.py"
    script.write_text(_WORKER_THREAD_RUN)
    for mode in ("plain", "handler"):
        store = tmp_path / mode
        proc = subprocess.Popen(
            [sys.executable, str(script), str(store), mode],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None and proc.stdout.readline() == "logged\n"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        if mode == "plain":
            assert proc.returncode == -signal.SIGTERM
            assert "outside the main thread" in err and "signal.signal(signal.SIGTERM" in err, err
            continue
        assert proc.returncode == 143 and "outside the main thread" not in err, err
        with naiad.Run(run_id="worker", store=store, mode="read-only") as run:
            assert len(run["m/a"].fetch_values()) == 5000
            assert run["sys/state"].fetch() == "inactive"


def test_a_run_used_in_an_os_fork_child_refuses_clearly_and_the_parent_keeps_everything(
    tmp_path: Path,
) -> None:
    """After os.fork() the child's copy of a Run has no writer: logging there raises a
    ModeError naming fork and the fix (close() is harmless), and the parent's data is whole."""
    import os

    run = naiad.Run(run_id="forked", store=tmp_path / "store")
    for step in range(500):
        run.log_metrics({"m/a": float(step)}, step=step)
    read, write = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork of a threaded process
        pid = os.fork()
    if pid == 0:  # the child: report what the training code would see, then leave at once
        os.close(read)
        try:
            run.log_metrics({"m/a": 1e9}, step=10**6)
            answer = "stored"
        except naiad.errors.ModeError as e:
            answer = str(e)
        answer += f"|closed={run.close()}"
        os.write(write, answer.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        answer = pipe.read()
    os.waitpid(pid, 0)
    assert "os.fork()" in answer and "naiad.Run(run_id='forked')" in answer, answer
    assert answer.endswith("|closed=True")
    for step in range(500, 1000):
        run.log_metrics({"m/a": float(step)}, step=step)
    assert run.close()
    with naiad.Run(run_id="forked", store=tmp_path / "store", mode="read-only") as again:
        assert again["m/a"].fetch_values()["step"].tolist() == list(range(1000))
