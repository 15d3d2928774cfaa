"""Kill at any moment: SIGKILL loses nothing that ``wait()`` acknowledged, and never tears a batch.

Durability: WAL with ``synchronous=FULL``, one transaction per writer batch. Without ``wait()``
a SIGKILL loses what was logged since the last commit began (the writer commits every 0.1 s),
never more than the queue bound. ``NAIAD_RELIABILITY_KILLS`` sets the number of kills (CI: 50;
``benchmarks/reliability_long.py`` runs 1,000).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import naiad
import naiad.query
from naiad._storage._sqlite import STALE_AFTER_S

from ._harness import dump, kill_campaign, summarize

KILLS = int(os.environ.get("NAIAD_RELIABILITY_KILLS", "50"))


@pytest.mark.backends("sqlite", "postgres", "http")
def test_sigkill_at_random_moments_keeps_every_acknowledged_point(store: Path | str) -> None:
    """Each kill: acked points present once and bit-identical, batches whole, store sound, reopenable
    (on the embedded store, on the team store, PostgreSQL + S3, and through a naiad server)."""
    kills = KILLS if isinstance(store, Path) else max(KILLS // 5, 5)  # the server run is slower
    results = kill_campaign(store, kills, seed=20260305)
    summary = summarize(results)
    print(dump(summary))  # the numbers the README's Guarantees section quotes
    assert summary["acks"] > 0 and summary["points_checked"] > 0
    assert summary["before_run_existed"] < kills  # most kills land while logging

    # the first killed run, read through the public API once its heartbeat is really stale
    first = next(r for r in results if r["stored"])
    stale_in = first["killed_at"] + STALE_AFTER_S + 0.5 - time.time()
    if stale_in > 0:
        time.sleep(stale_in)
    run_id = f"kill-{results.index(first)}"
    with naiad.Run(run_id=run_id, store=store, mode="read-only") as run:
        assert run["sys/state"].fetch() == "inactive"


_CLOCK_AHEAD = """
import sys, time
real = time.time
time.time = lambda: real() + 3600  # this host's clock stepped an hour forward
import naiad
import naiad.query
run = naiad.Run(run_id="ahead", store=sys.argv[1])
run.log_metrics({"m/a": 1.0}, step=1)
assert run.wait()
print("ready", flush=True)
time.sleep(600)
"""


@pytest.mark.backends()
def test_a_killed_run_whose_clock_ran_ahead_reads_inactive_at_once(store: Path | str, tmp_path: Path) -> None:
    """Its last heartbeat says an hour from now: that is no evidence of life, so the run
    does not read ``active`` until the reader's clock catches up."""
    import signal
    import subprocess
    import sys

    script = tmp_path / "ahead.py"
    script.write_text(_CLOCK_AHEAD)
    proc = subprocess.Popen([sys.executable, str(script), str(store)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    proc.stdout.close()
    with naiad.Run(run_id="ahead", store=store, mode="read-only") as run:
        assert run["sys/state"].fetch() == "inactive"
        assert run["m/a"].fetch() == 1.0
    assert naiad.query.list_runs(filter='sys/state = "active"', store=store) == []
    assert naiad.query.list_runs(filter='sys/state = "inactive"', store=store) == ["ahead"]
