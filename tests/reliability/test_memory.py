"""Memory stays bounded: logging as fast as possible applies back-pressure instead of growing.

A child logs ``NAIAD_RELIABILITY_POINTS`` points (CI: 2,000,000; ``benchmarks/reliability_long.py``
logs 10,000,000) in 10-key calls after a warm-up, and reports its RSS after the warm-up and
its peak RSS. The bound is on the growth, measured in the same process, never on time.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

import naiad

from ._harness import spawn

POINTS = int(os.environ.get("NAIAD_RELIABILITY_POINTS", "2000000"))
GROWTH_BOUND_MB = 150  # the queue holds at most MAX_QUEUE calls (about 40 MB of 10-key calls)


def test_logging_millions_of_points_keeps_peak_memory_bounded(tmp_path: Path) -> None:
    store = tmp_path / "store"
    proc = spawn("memory", store, POINTS)
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err[-2000:]
    report = json.loads(out.strip().splitlines()[-1])
    growth_mb = (report["peak_rss"] - report["baseline_rss"]) / 2**20
    print(json.dumps({**report, "growth_mb": growth_mb, "points": POINTS}))
    assert growth_mb < GROWTH_BOUND_MB, report

    with naiad.Run(run_id="memory", store=store, mode="read-only") as run:  # and nothing was lost
        frame = run["train/m9"].fetch_values(include_timestamp=False)
        steps = np.arange(10_000 + POINTS // 10, dtype=float)
        assert np.array_equal(frame["step"].to_numpy(), steps)
        assert np.array_equal(frame["value"].to_numpy(), steps * 0.5 + 9)
