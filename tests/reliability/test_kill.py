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
