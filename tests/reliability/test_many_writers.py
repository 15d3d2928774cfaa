"""Many writers: 8 processes on one project and 4 ranks on one run, while another process reads.

Every process starts at once on a store that does not exist yet. Nobody may see "database is
locked" (as an error or a warning), no point may be lost, and the reader, polling
``naiad.query`` all along, must only ever see whole batches and series that only grow. The
writers hold half-way until the reader has read their points ten times, so those reads happen
while every run is in flight however slow a loaded machine makes them.
``NAIAD_RELIABILITY_STEPS`` sets the steps per writer (CI: 1,500). It runs on the embedded
store and on the team store (PostgreSQL + S3) alike.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

import naiad
from naiad import query

from ._harness import Lines, integrity, reap, spawn

STEPS = int(os.environ.get("NAIAD_RELIABILITY_STEPS", "1500"))
PROJECT = "team"


@pytest.mark.backends("sqlite", "postgres")
def test_eight_runs_and_four_ranks_write_at_once_while_a_reader_polls(
    store: Path | str, tmp_path: Path
) -> None:
    stop, gate = tmp_path / "stop", tmp_path / "gate"
    reader = spawn("reader", store, PROJECT, stop)
    lines = Lines(reader)
    lines.wait_for("ready", 120)
    writers = [spawn("writer", store, PROJECT, f"w{i}", f"w{i}", STEPS, i, gate) for i in range(8)]
    writers += [spawn("writer", store, PROJECT, "ddp", f"rank{r}", STEPS, 100 + r, gate) for r in range(4)]
    try:  # it read all along, not only at the end: ten reads saw points while no run had ended
        lines.wait_for("seen ", 300, count=10)
    finally:
        gate.touch()
    reports = []
    for proc in writers:
        out, err = proc.communicate(timeout=400)
        assert proc.returncode == 0, err[-2000:]
        reports.append(json.loads(out.strip().splitlines()[-1]))
    stop.touch()
    rc, err = reap(reader, timeout=200)
    assert rc == 0, err[-2000:]
    seen = json.loads(lines.finish()[-1])

    assert [r for r in reports if r["problems"] or r["warnings"]] == []  # no "database is locked"
    assert seen["problems"] == [] and seen["warnings"] == []
    assert seen["reads"] >= 10

    expected = {f"w{i}": [f"w{i}"] for i in range(8)} | {"ddp": [f"rank{r}" for r in range(4)]}
    assert sorted(query.list_runs(project=PROJECT, store=store)) == sorted(expected)
    for run_id, prefixes in expected.items():
        with naiad.Run(run_id=run_id, project=PROJECT, store=store, mode="read-only") as run:
            assert run["sys/state"].fetch() == "inactive"
            for prefix in prefixes:
                assert run[f"{prefix}/name"].fetch() == run_id
                for key in "abc":
                    frame = run[f"{prefix}/{key}"].fetch_values(include_timestamp=False)
                    steps = np.arange(1, STEPS + 1, dtype=float)
                    assert np.array_equal(frame["step"].to_numpy(), steps), f"{run_id} {prefix}/{key}"
                    assert np.array_equal(frame["value"].to_numpy(), steps)
    assert integrity(store) == "ok"
