"""Modes (async, sync, offline, disabled, read-only) and configuration precedence."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from _downgrade import sqlite_back_to

import naiad
from naiad._settings import resolve
from naiad._storage._schema import SCHEMA_VERSION

# the same behaviour on every store backend (tests/conftest.py)
pytestmark = pytest.mark.backends()


def test_sync_mode_is_durable_when_each_call_returns(store: Path) -> None:
    run = naiad.Run(store=store, run_id="s", mode="sync")
    run.log_metrics({"a": 1.0}, step=0)
    other = naiad.Run(run_id="s", store=store, mode="read-only")  # another connection
    assert other["a"].fetch_last() == 1.0
    run.close()


def test_async_wait_makes_everything_durable(store: Path) -> None:
    run = naiad.Run(store=store, run_id="a")
    for i in range(1000):
        run.log_metrics({"a": float(i), "b": float(-i)}, step=i)
    assert run.wait()
    other = naiad.Run(run_id="a", store=store, mode="read-only")
    assert other["b"].fetch_values()["value"].tolist() == [float(-i) for i in range(1000)]
    run.close()


@pytest.mark.backends("sqlite")  # checks the store directory itself
def test_disabled_mode_validates_and_stores_nothing(store: Path) -> None:
    run = naiad.Run(store=store, mode="disabled")
    run.log_metrics({"a": 1.0}, step=0)
    with pytest.raises(naiad.StepOrderError):
        run.log_metrics({"a": 1.0}, step=-1)
    with pytest.raises(naiad.FieldTypeError):
        run["a"] = "x"
    run.close()
    assert not store.exists()


def test_read_only_mode_refuses_writes_and_missing_runs(store: Path) -> None:
    with naiad.Run(store=store, run_id="r") as run:
        run["x"] = 1
    ro = naiad.Run(run_id="r", store=store, mode="read-only")
    with pytest.raises(naiad.ModeError, match="read-only"):
        ro["x"] = 2
    with pytest.raises(naiad.RunNotFound, match="'nope'"):
        naiad.Run(run_id="nope", store=store, mode="read-only")


def test_offline_journal_syncs_into_the_store_idempotently(store: Path) -> None:
    run = naiad.Run(store=store, run_id="off", mode="offline", experiment_name="e")
    for i in range(10):
        run.log_metrics({"loss": 1.0 / (i + 1)}, step=i)
    run["params/lr"] = 0.1
    run.log_files({"preds": b"1,2,3"}, step=0)
    run.close()
    journal = run.store_location
    assert journal is not None and journal.name.endswith(".naiad-journal")
    # nothing reached the store (a directory store does not exist yet; a server store lacks the run)
    with pytest.raises((naiad.StorageError, naiad.RunNotFound), match=r"No naiad store|No run 'off'"):
        naiad.Run(run_id="off", store=store, mode="read-only")
    for _ in range(2):  # the second sync adds nothing
        out = subprocess.run(
            [sys.executable, "-m", "naiad._cli", "sync", str(journal), "--store", str(store)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert out.returncode == 0, out.stderr
    back = naiad.Run(run_id="off", store=store, mode="read-only")
    assert back["loss"].fetch_values()["step"].tolist() == [float(i) for i in range(10)]
    assert back["params/lr"].fetch() == 0.1 and back["sys/experiment/is_head"].fetch() is True
    assert back["preds"].fetch_values()["value"][0]["size"] == 5


def test_resume_keeps_type_locks_and_last_steps(store: Path) -> None:
    with naiad.Run(store=store, run_id="r") as run:
        run["lr"] = 0.1
        run.log_metrics({"loss": 0.5}, step=10)
    resumed = naiad.Run(store=store, run_id="r")
    with pytest.raises(naiad.FieldTypeError):
        resumed["lr"] = "x"
    with pytest.raises(naiad.StepOrderError, match="last step 10"):
        resumed.log_metrics({"loss": 0.4}, step=10)
    resumed.log_metrics({"loss": 0.4}, step=11)
    assert resumed["loss"].fetch_values()["value"].tolist() == [0.5, 0.4]
    resumed.close()


def test_configuration_precedence(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.naiad]\nstore = "from-file"\nproject = "file-project"\nmode = "sync"\n'
    )
    sub = tmp_path / "deep" / "er"
    sub.mkdir(parents=True)
    s = resolve({}, environ={}, cwd=sub)
    assert (Path(s.store), s.project, s.mode) == (tmp_path / "from-file", "file-project", "sync")
    s = resolve({}, environ={"NAIAD_PROJECT": "env-project", "NAIAD_MODE": "offline"}, cwd=sub)
    assert (s.project, s.mode) == ("env-project", "offline")
    s = resolve({"project": "arg-project"}, environ={"NAIAD_PROJECT": "env-project"}, cwd=sub)
    assert s.project == "arg-project"
    (sub / "naiad.toml").write_text('project = "naiad-toml"\n')
    assert resolve({}, environ={}, cwd=sub).project == "naiad-toml"
    s = resolve({}, environ={}, cwd=tmp_path.parent)
    assert (s.store, s.project, s.mode) == (".naiad", "default", "async")


def test_default_store_is_dot_naiad_in_the_working_directory(tmp_path: Path) -> None:
    with naiad.Run() as run:
        run["x"] = 1
    assert (tmp_path / ".naiad" / "naiad.db").is_file()


def test_an_unusable_store_location_fails_at_run_with_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(naiad.StorageError, match=str(blocker / "store")):
        naiad.Run(store=blocker / "store")
    with pytest.raises(ValueError, match="mode must be one of"):
        naiad.Run(store=tmp_path / "s", mode="fast")


@pytest.mark.backends("sqlite")  # checks the store directory itself
def test_a_newer_store_is_refused_with_a_clear_message(store: Path) -> None:
    import sqlite3

    with naiad.Run(store=store) as run:
        run["x"] = 1
    conn = sqlite3.connect(store / "naiad.db")
    conn.execute("PRAGMA user_version=99")
    conn.close()
    with pytest.raises(
        naiad.SchemaVersionError, match=rf"schema version 99.*understands version {SCHEMA_VERSION}"
    ):
        naiad.Run(store=store)


@pytest.mark.backends("sqlite")  # builds a version-1 store file by hand
def test_a_version_1_store_is_upgraded_on_open_and_lists_as_before(store: Path) -> None:
    """A store written by the previous naiad (schema 1) opens, gains the listing index, and
    lists, filters and counts its runs as before, trash and experiment heads included."""
    import sqlite3

    from naiad import query

    for i in range(3):
        with naiad.Run(store=store, run_id=f"r{i}", experiment_name="e") as run:
            run["x"] = i

    conn = sqlite3.connect(store / "naiad.db")
    conn.execute("UPDATE fields SET value = 1 WHERE path = 'sys/trashed' AND run_id = 1")
    conn.commit()
    conn.close()
    sqlite_back_to(store / "naiad.db", 1)
    assert query.list_runs(store=store) == ["r1", "r2"]
    assert query.list_runs(store=store, trashed=True) == ["r0"]
    assert query.list_experiments(store=store) == ["e"]
    assert query._count_runs(store=store) == 2
    conn = sqlite3.connect(store / "naiad.db")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    conn.close()
    assert version == SCHEMA_VERSION and "fields_true" in indexes
