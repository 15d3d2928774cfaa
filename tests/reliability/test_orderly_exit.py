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
