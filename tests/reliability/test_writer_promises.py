"""The writer's promises under attack: data never lands in another run, and ``wait()`` means durable.

Real stores in ``tmp_path``; the database is deleted under a live run the way a user's cleanup
script would, and another process holds the write lock the way a second writer would.
"""

from __future__ import annotations

import threading
import warnings
from pathlib import Path

import pytest

import naiad

from ._harness import locked


def _delete_database(store: Path) -> None:
    for name in ("naiad.db", "naiad.db-wal", "naiad.db-shm"):
        (store / name).unlink(missing_ok=True)


def _steps(store: Path, run_id: str, path: str) -> list[int]:
    with naiad.Run(run_id=run_id, store=store, mode="read-only") as run:
        if not run.exists(path):
            return []
        frame = run[path].fetch_values(include_timestamp=False)
        return [int(s) for s in frame["step"].to_numpy()]


def test_a_forked_run_whose_database_is_deleted_never_writes_into_another_run(tmp_path: Path) -> None:
    """Break 1: the re-created child keeps its own data; the other user's run gets none of it."""
    store = tmp_path / "store"
    with naiad.Run(run_id="parent", store=store) as parent:
        parent.log_metrics({"loss": 1.0}, step=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", naiad.NaiadWarning)
        child = naiad.Run(run_id="child", store=store, fork_run_id="parent", fork_step=1)
        child.log_metrics({"child/loss": 0.5}, step=2)
        assert child.wait(timeout=30)
        _delete_database(store)
        with naiad.Run(run_id="other", store=store) as other:  # another user's run, first in the new file
            other.log_metrics({"other/loss": 9.0}, step=1)
        for step in range(3, 103):
            child.log_metrics({"child/loss": 0.5}, step=step)
        assert child.wait(timeout=30)
        assert child.close(timeout=30)

    assert _steps(store, "other", "child/loss") == []  # nothing of the child in another run
    assert _steps(store, "other", "other/loss") == [1]
    assert _steps(store, "child", "child/loss") == list(range(3, 103))


def test_wait_is_false_forever_after_a_close_that_lost_data(tmp_path: Path) -> None:
    """Break 2: close(timeout) gives up behind another process's lock; wait() then says False."""
    store = tmp_path / "store"
    run = naiad.Run(run_id="locked", store=store)
    run.log_metrics({"a": 0.0}, step=0)
    assert run.wait(timeout=30)
    with locked(store):
        for step in range(1, 1001):
            run.log_metrics({"a": float(step)}, step=step)
        with pytest.warns(naiad.NaiadWarning, match="closed before its data was written"):
            assert run.close(timeout=2.0) is False
    assert run.wait() is False  # 1,000 of 1,001 points are not durable: never True again
    assert run.wait(timeout=5) is False
    assert len(_steps(store, "locked", "a")) < 1001


def test_one_run_shared_by_threads_stores_strictly_increasing_steps_and_never_wedges(tmp_path: Path) -> None:
    """Break 4: a data-loader and an eval thread log to one Run; every series stays valid."""
    store = tmp_path / "store"
    run = naiad.Run(run_id="threads", store=store, on_error="warn")
    barrier = threading.Barrier(4)

    def metrics() -> None:
        barrier.wait()
        for step in range(2000):
            run.log_metrics({"train/loss": float(step), "train/acc": 0.5}, step=step)
            run["eval/loss"].append(float(step), step=step)

    def files() -> None:
        barrier.wait()
        for step in range(20):
            run.log_files({"samples": b"x" * 100}, step=step)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", naiad.NaiadWarning)  # the loser of each race is refused
        threads = [threading.Thread(target=t) for t in (metrics, metrics, files, files)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert run.wait(timeout=60)  # not wedged: everything accepted is durable
        run.log_metrics({"train/loss": 1.0}, step=5000)
        assert run.close(timeout=60)

    for path, count in (("train/loss", 2001), ("train/acc", 2000), ("eval/loss", 2000)):
        steps = _steps(store, "threads", path)
        assert steps == sorted(set(steps)) and len(steps) == count, path
    with naiad.Run(run_id="threads", store=store, mode="read-only") as back:
        assert len(back["samples"].fetch_values(include_timestamp=False)) == 20


def test_extend_with_one_bad_value_stores_none_of_the_call(tmp_path: Path) -> None:
    """Break 5: `extend([1.0, 2.0, "bad"])` raises and leaves no point behind; a retry stores all."""
    store = tmp_path / "store"
    with naiad.Run(run_id="atomic", store=store, on_error="raise") as run:
        with pytest.raises(naiad.errors.FieldValueError, match="takes numbers"):
            run["loss"].extend([1.0, 2.0, "bad"], steps=[1, 2, 3])
        run["loss"].extend([1.0, 2.0, 3.0], steps=[1, 2, 3])
    assert _steps(store, "atomic", "loss") == [1, 2, 3]


def test_extend_under_on_error_warn_drops_only_the_bad_value(tmp_path: Path) -> None:
    """`on_error="warn"` in `extend`: the bad point is dropped and counted, the rest stored."""
    store = tmp_path / "store"
    with naiad.Run(run_id="lenient", store=store, on_error="warn") as run:
        with pytest.warns(naiad.errors.NaiadWarning, match="takes numbers"):
            run["loss"].extend([1.0, "bad", 2.0], steps=[1, 2, 3])
        assert run.dropped == 1
    assert _steps(store, "lenient", "loss") == [1, 3]


def test_log_files_with_one_missing_file_stores_none_of_the_call(tmp_path: Path) -> None:
    """Break 5: `log_files({"a": ok, "b": missing})` raises and moves no state; the retry stores both."""
    store, source = tmp_path / "store", tmp_path / "a.txt"
    source.write_text("weights")
    with naiad.Run(run_id="files", store=store, on_error="raise") as run:
        with pytest.raises(naiad.errors.FieldValueError):
            run.log_files({"a": naiad.File(source), "b": str(tmp_path / "missing.bin")}, step=1)
        assert not run.exists("a")  # nothing of the failed call, in memory either
        run.log_files({"a": naiad.File(source), "b": naiad.File(source)}, step=1)
    with naiad.Run(run_id="files", store=store, mode="read-only") as back:
        assert back.exists("a") and back.exists("b")  # the retry was not skipped as a repeat
