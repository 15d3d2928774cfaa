"""The sys namespace: what naiad fills in, after a clean close, a crash, and a SIGKILL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

import naiad
from naiad._storage import open_store

# the same behaviour on every store backend (tests/conftest.py)
pytestmark = pytest.mark.backends()


def read(store: Path, run_id: str) -> naiad.Run:
    return naiad.Run(run_id=run_id, store=store, mode="read-only")


def test_sys_attributes_after_close(store: Path) -> None:
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    run = naiad.Run(
        experiment_name="seabird",
        run_id="abc",
        store=store,
        creation_time=created,
        tags=["t1"],
        description="first try",
        _environ={"NAIAD_OWNER": "ana"},
    )
    for step in range(5):
        run.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
    run["model"].upload(b"x" * 1000, name="m.bin")
    run.close()
    s = read(store, "abc").fetch()["sys"]
    assert s["id"] == "DEF-1" and s["custom_run_id"] == "abc"
    assert s["name"] == "seabird" and s["experiment"]["name"] == "seabird"
    assert s["experiment"]["is_head"] is True
    assert s["creation_time"] == created
    assert s["modification_time"] >= s["ping_time"] or s["ping_time"] >= created
    assert s["state"] == "inactive" and s["owner"] == "ana"
    assert s["hostname"] == socket.gethostname()
    assert s["tags"] == {"t1"} and s["group_tags"] == set() and s["description"] == "first try"
    assert s["failed"] is False and s["trashed"] is False
    assert s["size"] >= 1000 + 5 * 16  # the file and the points
    assert s["running_time"] > 0
    assert s["relative_creation_time_ms"] > 0  # creation was in the past
    assert s["forking"]["depth"] == 0 and s["family"] == "abc"
    assert "parent" not in s["forking"]


def test_sys_id_counts_per_project(store: Path) -> None:
    ids = []
    for project in ("seabird", "seabird", "gull"):
        with naiad.Run(store=store, project=project) as run:
            ids.append(run.sys_id)
    assert ids == ["SEA-1", "SEA-2", "GUL-1"]


def test_state_is_active_while_open_and_heartbeat_keeps_ping_time_fresh(store: Path) -> None:
    run = naiad.Run(store=store, run_id="live")
    run.log_metrics({"x": 1.0}, step=0)
    run.wait()
    assert read(store, "live")["sys/state"].fetch() == "active"
    run.close()
    assert read(store, "live")["sys/state"].fetch() == "inactive"


CHILD = textwrap.dedent("""
    import sys, time, naiad
    run = naiad.Run(run_id=sys.argv[2], store=sys.argv[1])
    run.log_metrics({"x": 1.0}, step=0)
    run.wait()
    print("ready", flush=True)
    if sys.argv[3] == "raise":
        raise RuntimeError("boom in training")
    time.sleep(60)
""")


def test_an_uncaught_exception_marks_the_run_failed(store: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(store), "crash", "raise"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1 and "boom in training" in proc.stderr
    back = read(store, "crash")
    assert back["sys/failed"].fetch() is True
    assert back["sys/diagnostics/exception"].fetch() == "RuntimeError: boom in training"
    assert back["sys/state"].fetch() == "inactive"


def test_a_sigkilled_run_turns_inactive_once_its_heartbeat_is_stale(store: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(store), "killed", "sleep"], stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert read(store, "killed")["sys/state"].fetch() == "active"  # heartbeat still fresh
    st = open_store(store, create=False)
    rec = st.find_run("default", "killed")
    assert rec is not None
    assert st.run_state(rec.pk, time.time() + 21)[0] == "inactive"  # > 20 s after the last ping
    st.close()
    assert read(store, "killed")["x"].fetch_last() == 1.0  # what wait() acknowledged is there


def test_no_hooks_or_threads_are_left_after_close(store: Path) -> None:
    import threading

    before_hook = sys.excepthook
    before_term = signal.getsignal(signal.SIGTERM)
    run = naiad.Run(store=store)
    assert sys.excepthook is not before_hook
    run.close()
    assert sys.excepthook is before_hook and signal.getsignal(signal.SIGTERM) is before_term
    assert not [t for t in threading.enumerate() if t.name == "naiad-writer"]


def test_mark_failed_records_the_message_and_the_traceback(store: Path) -> None:
    def train() -> None:
        raise ValueError("loss is nan")

    with naiad.Run(run_id="f", store=store) as run:
        try:
            train()
        except ValueError as e:
            run.mark_failed(e)
    back = read(store, "f")
    assert back["sys/failed"].fetch() is True
    assert back["sys/diagnostics/exception"].fetch() == "ValueError: loss is nan"
    trace = back["sys/diagnostics/traceback"].fetch()
    assert trace.startswith("Traceback") and "in train" in trace and trace.rstrip().endswith("loss is nan")


def test_dropped_counts_the_points_refused_under_on_error_warn(store: Path) -> None:
    import warnings

    with naiad.Run(run_id="d", store=store, on_error="warn") as run:
        run.log_metrics({"loss": 0.5}, step=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run.log_metrics({"loss": 0.4}, step=1)  # not after step 2: dropped
            run.log_metrics({"loss": "high"}, step=3)  # not a number: dropped
        assert run.dropped == 2
    assert read(store, "d")["sys/diagnostics/dropped"].fetch() == 2
