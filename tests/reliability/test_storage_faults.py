"""Storage faults: a full disk, a store made read-only, the database deleted, all mid-run.

The training loop (a child process) never receives an exception in async mode; it sees a
``NaiadWarning`` naming the cause, logging resumes once the fault is gone, and the run records
the fault (``sys/diagnostics/storage_fault``) and what was dropped (``sys/diagnostics/dropped``).
The full disk is a small tmpfs; a read-only directory is a ``chmod`` honoured by a child that
runs without root's permission override (Linux refuses to remount read-only a filesystem with
files open for writing, so a chmod is how a store becomes read-only under a live process).
"""

from __future__ import annotations

import os
import re
import stat
import warnings
from pathlib import Path

import numpy as np
import pytest

import naiad
import naiad.query

from ._harness import Remote, fill, integrity, remount, tmpfs


def _read(store: Path, run_id: str) -> tuple[naiad.Run, np.ndarray]:
    run = naiad.Run(run_id=run_id, store=store, mode="read-only")
    frame = run["m/k0"].fetch_values(include_timestamp=False)
    assert np.array_equal(frame["step"].to_numpy(), frame["value"].to_numpy())  # each value is its step
    return run, frame["step"].to_numpy()


def _chmod_tree(root: Path, writable: bool) -> None:
    for path in [root, *root.rglob("*")]:
        mode = path.stat().st_mode
        bits = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
        os.chmod(path, (mode | stat.S_IWUSR) if writable else (mode & ~bits))


def _delete_database(store: Path) -> None:
    """Delete the database under a live writer (briefly lifting a read-only mode, for non-root)."""
    mode = store.stat().st_mode
    os.chmod(store, mode | stat.S_IWUSR)
    try:
        for name in ("naiad.db", "naiad.db-wal", "naiad.db-shm"):
            (store / name).unlink(missing_ok=True)
    finally:
        os.chmod(store, mode)


def test_full_disk_never_raises_drops_only_what_it_counts_and_resumes(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "16m") as disk:
        store = disk / "store"
        remote = Remote()
        remote("open", store=str(store), run_id="full")
        remote("metrics", n=100)
        assert remote("wait", timeout=60)["ok"]
        filler = fill(disk)

        remote("file")  # refused by the disk itself (the queue has room): a warning names it
        before = remote("rss")["rss"]
        logged = remote("metrics", n=300_000)["logged"]  # far more than the queue holds: drops
        assert (remote("rss")["peak"] - before) / 2**20 < 150  # memory stays bounded meanwhile
        assert remote("wait")["ok"] is False  # not durable, and wait() says so instead of hanging
        seen = remote("warnings")["warnings"]
        assert any("disk is full" in m for m in seen), seen
        assert any("files/series" in m and "No space left" in m for m in seen), seen

        filler.unlink()
        # logging resumes once space is freed, but points were dropped: wait() stays False
        # for this Run (True would claim everything accepted is durable)
        assert remote("wait", timeout=60)["ok"] is False
        logged = remote("metrics", n=100)["logged"]
        assert remote("close", timeout=60)["ok"]
        seen = remote("warnings")["warnings"]
        assert any("writable again" in m and "dropped" in m for m in seen), seen
        assert "Traceback" not in remote.exit()

        run, steps = _read(store, "full")
        dropped = run["sys/diagnostics/dropped"].fetch()
        assert "disk is full" in run["sys/diagnostics/storage_fault"].fetch()
        assert dropped > 0 and len(steps) + dropped - 1 == logged  # -1: the file upload
        assert steps[-1] == logged and len(steps) > 100  # the last calls were stored again
        run.close()
        assert integrity(store) == "ok"


def test_a_full_queue_drops_whole_calls_of_every_kind_and_counts_them(tmp_path: Path) -> None:
    """String series, configs and metrics with per-series steps are bounded like plain metrics.

    While the disk is full, 150,000 calls of each kind keep memory flat; a call is stored
    whole or dropped whole (never one of its two series without the other), and the
    stored points plus ``sys/diagnostics/dropped`` add up to what was logged.
    """
    with tmpfs(tmp_path / "disk", "16m") as disk:
        store = disk / "store"
        remote = Remote()
        remote("open", store=str(store), run_id="kinds")
        assert remote("wait", timeout=60)["ok"]
        filler = fill(disk)
        before = remote("rss")["rss"]
        series = remote("series", n=150_000)
        dropped = remote("configs", n=150_000)["dropped"]
        assert (remote("rss")["peak"] - before) / 2**20 < 60  # was +81 MB for 600,000 uncounted calls
        assert series["dropped"] > 0 and dropped > series["dropped"]  # both kinds were refused
        assert 0 < dropped - series["dropped"] <= 300_000  # configs: counted by value
        filler.unlink()
        assert remote("wait", timeout=60)["ok"] is False  # drained again; False: points were dropped
        assert remote("configs", n=1)["dropped"] == dropped  # space again: stored, nothing more dropped
        assert remote("close", timeout=60)["ok"]
        assert "Traceback" not in remote.exit()

        run = naiad.Run(run_id="kinds", store=store, mode="read-only")
        counts = {p: len(run[p].fetch_values()) for p in ("s/a", "s/b", "auto/x", "auto/y")}
        assert counts["s/a"] == counts["s/b"] and counts["auto/x"] - 1 == counts["auto/y"], counts
        assert sum(counts.values()) - 1 + series["dropped"] == series["logged"]  # -1: x's lead point
        assert run["sys/diagnostics/dropped"].fetch() == dropped
        assert run["c/a"].fetch() == run["c/b"].fetch() == 0
        run.close()


def test_store_made_read_only_mid_run_then_writable_again(tmp_path: Path) -> None:
    """Open files keep working; new files (uploads, a re-created database) fail, warn, then resume."""
    store = tmp_path / "store"
    remote = Remote(obey_permissions=True)
    remote("open", store=str(store), run_id="ro")
    remote("metrics", n=100)
    remote("file")
    assert remote("wait", timeout=60)["ok"]

    _chmod_tree(store, writable=False)
    try:
        remote("metrics", n=100)
        remote("file")  # a new blob file: refused
        assert remote("wait", timeout=60)["ok"]  # the open database file still takes metrics
        seen = remote("warnings")["warnings"]
        assert any("files/series" in m and "Permission denied" in m for m in seen), seen

        other = Remote(obey_permissions=True)
        reply = other.reply("open", store=str(store), run_id="second")
        assert reply["type"] == "StorageError" and str(store) in reply["error"], reply
        other.exit()

        _delete_database(store)  # and it cannot be re-created here
        remote("metrics", n=100)
        assert remote("wait")["ok"] is False
        seen = remote("warnings")["warnings"]
        assert any("was deleted" in m for m in seen), seen
    finally:
        _chmod_tree(store, writable=True)

    assert remote("wait", timeout=60)["ok"]  # writable again: the database is re-created
    logged = remote("metrics", n=50)["logged"]
    remote("file")
    assert remote("close", timeout=60)["ok"]
    assert any("writable again" in m for m in remote("warnings")["warnings"])
    remote.exit()

    run, steps = _read(store, "ro")  # the re-created database holds what came after the deletion
    assert np.array_equal(steps, np.arange(steps[0], logged + 1)) and steps[0] <= 201
    assert "deleted" in run["sys/diagnostics/storage_fault"].fetch()
    assert run["sys/diagnostics/dropped"].fetch() == 1  # the refused upload, counted
    assert run["files/series"].fetch_values()["step"].iloc[-1] == 3
    run.close()
    assert integrity(store) == "ok"


@pytest.mark.parametrize("warnings_as_errors", [False, True], ids=["warnings", "warnings-as-errors"])
def test_database_deleted_mid_run_is_recreated_and_acknowledged_points_land_there(
    tmp_path: Path, warnings_as_errors: bool
) -> None:
    """Even under ``-W error`` the writer thread survives: it prints the warning instead."""
    store = tmp_path / "store"
    env = {"NAIAD_TEST_WARNINGS_AS_ERRORS": "1"} if warnings_as_errors else None
    remote = Remote(env=env)
    remote("open", store=str(store), run_id="del")
    remote("metrics", n=500, keys=3)
    assert remote("wait", timeout=60)["ok"]
    _delete_database(store)
    remote("metrics", n=500, keys=3)
    assert remote("wait", timeout=60)["ok"]
    assert remote("close", timeout=60)["ok"]
    seen = remote("warnings")["warnings"]
    stderr = remote.exit()
    if warnings_as_errors:
        assert "was deleted" in stderr and "writable again" in stderr, stderr
    else:
        assert any("was deleted" in m for m in seen) and any("writable again" in m for m in seen), seen

    run, steps = _read(store, "del")
    assert np.array_equal(steps, np.arange(steps[0], 1001)) and steps[0] <= 501
    assert "deleted" in run["sys/diagnostics/storage_fault"].fetch()
    assert run["sys/state"].fetch() == "inactive"
    run.close()
    assert integrity(store) == "ok"


def test_opening_a_store_on_a_read_only_filesystem_fails_at_run_with_the_path(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "4m") as disk:
        store = disk / "store"
        with naiad.Run(run_id="kept", store=store) as run:
            run.log_metrics({"a": 1.0}, step=0)
        remount(disk, read_only=True)
        for location in (store, disk / "missing" / "store"):
            with pytest.raises(naiad.StorageError, match=re.escape(str(location))):
                naiad.Run(store=location)


def test_opening_a_store_where_no_directory_can_be_made_fails_at_run_with_the_path(tmp_path: Path) -> None:
    target = tmp_path / "a-file"
    target.write_text("not a directory")
    with pytest.raises(naiad.StorageError, match=re.escape(str(target / "store"))):
        naiad.Run(store=target / "store")


def test_a_database_replaced_by_mv_keeps_the_moved_in_runs(tmp_path: Path) -> None:
    """``mv other/naiad.db store/naiad.db`` under a live run: the old ``-wal`` left beside the
    new file is never applied to it; the moved-in store's runs stay, and the live run goes on
    in the new database."""
    store, other = tmp_path / "store", tmp_path / "other"
    for i in range(30):
        with naiad.Run(run_id=f"moved-{i}", store=other, experiment_name="moved") as run:
            run.log_metrics({"m/k0": 0.0}, step=0)
    live = naiad.Run(run_id="live", store=store, experiment_name="live")
    for step in range(200):
        live.log_metrics({"m/k0": float(step)}, step=step)
    assert live.wait()
    assert (store / "naiad.db-wal").stat().st_size > 0  # the old database's pages, not yet checkpointed
    os.rename(other / "naiad.db", store / "naiad.db")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for step in range(200, 300):
            live.log_metrics({"m/k0": float(step)}, step=step)
        live.wait(timeout=30)
        assert live.close(timeout=30)
    assert any("replaced" in str(w.message) for w in seen), [str(w.message) for w in seen]
    assert integrity(store) == "ok"
    found = set(naiad.query.list_runs(store=store))
    assert {f"moved-{i}" for i in range(30)} <= found, sorted(found)
    assert "live" in found  # registered again in the new database, with what came after
    run, steps = _read(store, "live")
    assert steps[-1] == 299
    run.close()
