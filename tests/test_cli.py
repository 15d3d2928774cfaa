"""The ``naiad`` command, run as a real subprocess: every command, its output, and its errors."""

from __future__ import annotations

import csv
import io
import json
import os
import selectors
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import naiad
from naiad import query
from naiad._storage._postgres_schema import SCHEMA_VERSION as POSTGRES_VERSION
from naiad._storage._schema import SCHEMA_VERSION as SQLITE_VERSION

pd = pytest.importorskip("pandas")

COMMANDS = [
    [],
    ["ls"],
    ["experiments"],
    ["show"],
    ["export"],
    ["sync"],
    ["trash"],
    ["restore"],
    ["store"],
    ["store", "info"],
    ["ui"],
]


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("NAIAD_")}, **(extra or {})}


def naiad_cli(
    *args: str | Path, status: int = 0, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m naiad._cli ARGS`` and check its exit status."""
    result = subprocess.run(
        [sys.executable, "-m", "naiad._cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=_env(env),
        timeout=120,
        check=False,
    )
    assert result.returncode == status, (result.stdout, result.stderr)
    return result


def naiad_many(*commands: tuple[list[str | Path], int]) -> list[subprocess.CompletedProcess[str]]:
    """Run several ``naiad`` commands at once (each a subprocess); check each exit status."""
    procs = [
        (
            subprocess.Popen(
                [sys.executable, "-m", "naiad._cli", *map(str, args)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=_env(),
            ),
            args,
            status,
        )
        for args, status in commands
    ]
    results = []
    for proc, args, status in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == status, (args, out, err)
        results.append(subprocess.CompletedProcess(args, status, out, err))
    return results


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("naiad: error: "), result.stderr
    return lines[0]


@pytest.fixture(scope="module", params=["sqlite", "postgres", "http"])
def shared(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    module_stores: Callable[[str, Path], Path | str],
) -> Path | str:
    """Eight runs in two experiments; run-7 is a fork of run-5 at step 2 (so the head of 'odd'),
    in each store backend."""
    root = module_stores(request.param, tmp_path_factory.mktemp("cli") / "store")
    for i in range(7):
        with naiad.Run(
            experiment_name="even" if i % 2 == 0 else "odd",
            run_id=f"run-{i}",
            store=root,
            tags=["bert"] if i < 3 else ["cnn"],
        ) as run:
            run["config"] = {"lr": 0.1 * (i + 1), "optimizer": "adam" if i % 3 else "sgd", "layers": i}
            for s in range(4):
                run.log_metrics({"train/loss": 1.0 / (i + s + 1)}, step=s)
            if i == 1:
                run.log_string_series({"notes": "warming up"}, step=0)
                run.assign_files({"model": naiad.File(b"weights", name="model.pt")})
    with naiad.Run(
        experiment_name="odd", run_id="run-7", store=root, fork_run_id="run-5", fork_step=2
    ) as run:
        run.log_metrics({"train/loss": 0.01}, step=3)
    return root


def test_every_command_has_help() -> None:
    for command, result in zip(COMMANDS, naiad_many(*(([*c, "--help"], 0) for c in COMMANDS))):
        out = result.stdout
        assert out.startswith("usage: naiad") and "--help" in out
        if command and command != ["store"]:
            assert "--store" in out and "--project" in out


def test_ls_prints_a_table_csv_and_json(shared: Path) -> None:
    table = naiad_cli("ls", "--store", shared).stdout
    assert all(f"run-{i}" in table for i in range(8)) and "8 of 8 runs in project 'default'" in table
    assert "sys/state" in table and "inactive" in table
    rows = list(
        csv.DictReader(
            io.StringIO(
                naiad_cli(
                    "--store",
                    shared,
                    "ls",
                    "--format",
                    "csv",
                    "--columns",
                    "config/lr,train/loss",
                    "--sort",
                    "config/lr",
                    "--asc",
                    "--limit",
                    "3",
                ).stdout
            )
        )
    )
    assert [r["run"] for r in rows] == ["run-0", "run-1", "run-2"]
    assert float(rows[1]["config/lr"]) == pytest.approx(0.2) and float(rows[1]["train/loss"]) == 0.2
    data = json.loads(
        naiad_cli(
            "ls",
            "--store",
            shared,
            "--format",
            "json",
            "--filter",
            'config/lr > 0.45 and sys/tags contains "cnn"',
            "-c",
            "config/.*",
        ).stdout
    )
    assert sorted(r["run"] for r in data) == ["run-4", "run-5", "run-6", "run-7"]
    assert set(data[0]) == {"run", "config/layers", "config/lr", "config/optimizer"}


def test_experiments_lists_heads_with_run_counts(shared: Path) -> None:
    out = naiad_cli("experiments", "--store", shared).stdout
    assert "even" in out and "odd" in out and "2 experiments" in out
    data = {
        r["experiment"]: r
        for r in json.loads(naiad_cli("experiments", "--store", shared, "--format", "json").stdout)
    }
    assert data["odd"]["head run"] == "run-7" and data["odd"]["runs"] == 4
    assert data["even"]["head run"] == "run-6" and data["even"]["runs"] == 4


def test_show_prints_the_tree_series_files_and_lineage(shared: Path) -> None:
    tree = naiad_cli("show", "run-1", "--store", shared).stdout
    assert "run-1 (DEF-2)" in tree and "optimizer  'adam'" in tree
    assert "(last of 4 points at step 3)" in tree and "model.pt (7 bytes" in tree
    assert "'warming up'" in tree and "root run (no parent)" in tree
    info = json.loads(naiad_cli("show", "DEF-8", "--format", "json", "--store", shared).stdout)  # by sys/id
    assert info["run"] == "run-7"
    assert info["lineage"] == {"parent": "run-5", "fork_step": 2.0, "depth": 1, "children": []}
    assert info["fields"]["train/loss"] == {
        "type": "FloatSeries",
        "last": 0.01,
        "points": 1,
        "last_step": 3.0,
    }
    parent = naiad_cli("show", "run-5", "--store", shared).stdout
    assert "child run-7 forked at step 2" in parent
    assert naiad_cli("show", "--store", shared).stdout.startswith("run-7 (DEF-8)")  # the newest run


def test_export_writes_the_runs_table_and_metric_series(shared: Path, tmp_path: Path) -> None:
    out = naiad_cli(
        "export", "--store", shared, "--to", tmp_path / "runs.csv", "-f", "config/layers < 3"
    ).stdout
    assert "Wrote 3 runs" in out
    runs = pd.read_csv(tmp_path / "runs.csv", index_col="run")
    assert list(runs.index) == ["run-0", "run-1", "run-2"] and runs.loc["run-2", "config/layers"] == 2
    naiad_cli("export", "--store", shared, "--to", tmp_path / "runs.parquet", "--all")
    assert len(pd.read_parquet(tmp_path / "runs.parquet")) == 8
    out = naiad_cli(
        "export",
        "--store",
        shared,
        "--to",
        tmp_path / "m.parquet",
        "--metrics",
        "loss$",
        "--lineage",
        "-f",
        'sys/custom_run_id == "run-7"',
    ).stdout
    assert "Wrote 4 points of 1 series from 1 runs" in out
    metrics = pd.read_parquet(tmp_path / "m.parquet")
    assert list(metrics.columns) == ["run", "path", "step", "value", "timestamp"]
    assert metrics["step"].tolist() == [0.0, 1.0, 2.0, 3.0] and metrics["value"].iloc[-1] == 0.01


def test_sync_replays_an_offline_journal_once(store: Path) -> None:
    with naiad.Run(experiment_name="offline", run_id="off-1", store=store, mode="offline") as run:
        run["config/lr"] = 0.3
        for s in range(3):
            run.log_metrics({"loss": 1.0 - s / 10}, step=s)
    journal = store / "offline" / "default--off-1.naiad-journal"
    assert journal.is_dir()
    first = naiad_cli("sync", journal, "--store", store).stdout
    assert "run off-1 created" in first and "3 new points" in first
    again = naiad_cli("sync", "--store", store).stdout  # every journal under <store>/offline
    assert "run off-1 updated" in again and "0 new points" in again
    table = query.fetch_runs_table(attributes=["config/lr"], store=store)
    assert table["config/lr"].to_dict() == {"off-1": 0.3}
    assert "not an offline journal" in one_error_line(
        naiad_cli("sync", store / "nope", "--store", store, status=1)
    )


def test_trash_and_restore_hide_and_show_runs(store: Path) -> None:
    for i in range(2):
        with naiad.Run(experiment_name="e", run_id=f"t-{i}", store=store):
            pass
    assert "No run 'nope'" in one_error_line(naiad_cli("trash", "t-0", "nope", "--store", store, status=1))
    assert query.list_runs(store=store) == ["t-0", "t-1"]  # nothing trashed by a failed call
    assert naiad_cli("trash", "DEF-1", "--store", store).stdout.strip() == "Trashed run t-0 (DEF-1)"
    assert query.list_runs(store=store) == ["t-1"] and query.list_runs(store=store, trashed=True) == ["t-0"]
    assert naiad_cli("restore", "t-0", "--store", store).stdout.strip() == "Restored run t-0 (DEF-1)"
    assert query.list_runs(store=store) == ["t-0", "t-1"]


def test_store_info_reports_location_version_size_and_counts(shared: Path | str) -> None:
    info = json.loads(naiad_cli("store", "info", "--format", "json", "--store", shared).stdout)
    expected = SQLITE_VERSION if isinstance(shared, Path) else POSTGRES_VERSION
    assert info["schema_version"] == expected and info["projects"] == {"default": 8} and info["runs"] == 8
    assert info["points"] == 30 and info["fields"] > 8 * 20 and info["size_bytes"] > 0
    if isinstance(shared, Path):
        conn = sqlite3.connect(shared / "naiad.db")
        assert info["location"] == str(shared.resolve())
        assert info["fields"] == conn.execute("SELECT count(*) FROM fields").fetchone()[0]
        assert info["size_bytes"] >= (shared / "naiad.db").stat().st_size
    else:  # a team store is shown without its password
        assert info["location"].startswith("postgresql://naiad:***@") and ":naiad@" not in info["location"]
    text = naiad_cli("store", "info", "--store", shared).stdout
    assert "schema version" in text and "default (8 runs)" in text


def test_errors_are_one_line_with_a_non_zero_status(shared: Path, tmp_path: Path) -> None:
    cases: list[tuple[list[str | Path], int, str]] = [
        (["ls", "--store", shared, "--filter", "config/lr >> 1"], 1, "invalid filter: Expected a value"),
        (["ls", "--bogus"], 2, "unrecognized arguments: --bogus"),
        (["ls", "--format", "xml"], 2, "invalid choice: 'xml'"),
        (["ls", "--limit", "-3"], 2, "expected a number >= 0"),
        (["ls", "--store", tmp_path / "none"], 1, "No naiad store"),
        (["show", "ghost", "--store", shared], 1, "No run 'ghost'"),
        (["export", "--to", tmp_path / "x.txt", "--store", shared], 1, ".csv or .parquet"),
        (["store"], 2, "required"),
    ]
    for (_, _, fragment), result in zip(cases, naiad_many(*((args, status) for args, status, _ in cases))):
        assert fragment in one_error_line(result)
    bad_filter = one_error_line(naiad_many((cases[0][0], 1))[0])
    assert "column 12" in bad_filter and "'config/lr >> 1'" in bad_filter
    env = {"NAIAD_STORE": str(shared), "NAIAD_PROJECT": "nothing-here"}  # settings come from the env
    assert "0 of 0 runs in project 'nothing-here'" in naiad_cli("ls", env=env).stdout


def test_ui_serves_or_says_it_is_missing(shared: Path) -> None:
    try:
        import naiad._ui  # noqa: F401
    except ModuleNotFoundError:
        assert "web UI is not part" in one_error_line(naiad_cli("ui", "--store", shared, status=1))
        return
    proc = subprocess.Popen(
        [sys.executable, "-m", "naiad._cli", "ui", "--store", str(shared), "--port", "0", "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env({"PYTHONUNBUFFERED": "1"}),
    )
    try:
        assert "http://127.0.0.1:" in _first_output(proc, deadline=time.monotonic() + 60)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        assert proc.stdout is not None
        proc.stdout.close()


def _first_output(proc: subprocess.Popen[str], deadline: float) -> str:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        text = ""
        while time.monotonic() < deadline and "http://" not in text:
            if sel.select(timeout=0.5):
                line = proc.stdout.readline()
                if not line:
                    break
                text += line
        return text


@pytest.fixture(autouse=True)
def _no_stray_stores(tmp_path: Path) -> Iterator[None]:
    """The commands never create a store where none was asked for (sync creates its target only)."""
    yield
    assert not (tmp_path / ".naiad").exists()


def test_a_failed_run_that_ended_is_listed_as_failed(tmp_path: Path) -> None:
    store = tmp_path / "store"
    with naiad.Run(run_id="ok", store=store):
        pass
    with pytest.raises(RuntimeError), naiad.Run(run_id="broken", store=store):
        raise RuntimeError("boom")
    rows = json.loads(naiad_cli("ls", "--store", store, "--format", "json").stdout)
    states = {row["run"]: row["sys/state"] for row in rows}
    assert states == {"ok": "inactive", "broken": "failed"}
