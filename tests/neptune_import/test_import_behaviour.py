"""How ``naiad import neptune`` behaves: forks rebuilt, idempotent, --replace, failures, refusals."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from _neptune_export import NEW, OLD, SCHEMA, Export, write_part

import naiad
from naiad import query
from naiad._storage import open_store

pytestmark = pytest.mark.backends("sqlite", "postgres")


def _import(cli: Any, export: Export, store: Any, *extra: str) -> tuple[int, str, str]:
    return cli("--store", store, "import", "neptune", export.data, export.files, *extra)


def _counts(store: Any) -> tuple[int, int, int]:
    s = open_store(str(store), create=False)
    try:
        stats = s.stats()
        return stats.runs, stats.fields, stats.points
    finally:
        s.close()


def test_fork_chain_is_rebuilt_with_a_fractional_fork_step(export: Export, store: Any, cli: Any) -> None:
    """Three levels: the leaf's stitched loss is the root's up to 80.5, the middle run's up to
    150, then its own; each fork has its parent, step, depth and family, and its own configs
    only (nothing doubled by inheritance)."""
    assert _import(cli, export, store)[0] == 0
    leaf = naiad.Run(run_id="sb-leaf", project=NEW, store=store, mode="read-only")
    frame = leaf["train/loss"].fetch_values()
    by_run = frame.groupby("run_id", observed=True)["step"].agg(["min", "max", "count"])
    assert by_run.loc["sb-root"].tolist() == [0, 80, 81]
    assert by_run.loc["sb-mid"].tolist() == [81, 150, 70]
    assert by_run.loc["sb-leaf"].tolist() == [151, 200, 50]
    assert frame["step"].is_monotonic_increasing
    mid = naiad.Run(run_id="sb-mid", project=NEW, store=store, mode="read-only")
    assert mid["sys/forking/parent"].fetch() == "sb-root"
    assert mid["sys/forking/step"].fetch() == 80.5
    assert (mid["sys/forking/depth"].fetch(), leaf["sys/forking/depth"].fetch()) == (1, 2)
    assert leaf["sys/family"].fetch() == "sb-root"
    assert leaf["sys/forking/step"].fetch() == 150
    assert not leaf.exists("config/batch") and not mid.exists("config/scheduler")
    assert leaf["sys/tags"].fetch() == {"fork", "best"}
    metrics = query.fetch_metrics(experiments="seabird", attributes="train/loss", project=NEW, store=store)
    assert len(metrics) == 201  # the head (sb-leaf) read along its lineage
    heads = query.fetch_experiments_table(project=NEW, store=store, attributes=["sys/custom_run_id"])
    assert heads["sys/custom_run_id"].tolist() == ["sb-leaf"]  # the head as exported
    leaf.close()
    mid.close()


def test_a_fork_whose_parent_was_not_exported_keeps_the_requested_parent(
    export: Export, store: Any, cli: Any
) -> None:
    status, out, _ = _import(cli, export, store)
    assert status == 0 and "'sb-deleted' is not in the export" in out
    run = naiad.Run(run_id="sb-orphan", project=NEW, store=store, mode="read-only")
    assert run["sys/forking/requested_parent"].fetch() == "sb-deleted"
    assert not run.exists("sys/forking/parent") and run["sys/forking/depth"].fetch() == 0
    run.close()


def test_an_incomplete_run_is_skipped_and_reported(export: Export, store: Any, cli: Any) -> None:
    status, out, _ = _import(cli, export, store)
    assert status == 0
    assert "sb-partial" in out and "without part_0" in out
    assert "sb-partial" not in query.list_runs(project=NEW, store=store, trashed=None)


def test_a_second_import_adds_nothing(export: Export, store: Any, cli: Any) -> None:
    assert _import(cli, export, store)[0] == 0
    before = _counts(store)
    status, out, _ = _import(cli, export, store)
    assert status == 0
    assert out.count("already imported") == 6
    assert _counts(store) == before


def test_replace_rewrites_what_an_earlier_import_wrote(export: Export, store: Any, cli: Any) -> None:
    """Without --replace a changed export leaves the run alone; with it, the run is rewritten."""
    assert _import(cli, export, store)[0] == 0
    (part,) = export.parts(NEW, "sb-leaf")
    rows = [r for r in pq.read_table(part).to_pylist() if r["attribute_path"] != "train/loss"]
    for r in rows:
        if r["attribute_path"] == "config/lr" and r["float_value"] is not None:
            r["float_value"] = 0.42
    write_part(export, NEW, "sb-leaf", 0, rows)
    assert _import(cli, export, store)[0] == 0
    run = naiad.Run(run_id="sb-leaf", project=NEW, store=store, mode="read-only")
    assert run["config/lr"].fetch() == 0.0001
    run.close()
    status, out, _ = _import(cli, export, store, "--replace")
    assert status == 0 and out.count("replaced") == 6
    run = naiad.Run(run_id="sb-leaf", project=NEW, store=store, mode="read-only")
    assert run["config/lr"].fetch() == 0.42
    assert not run.exists("train/loss")  # gone from the export: gone from the run
    assert run["sys/forking/parent"].fetch() == "sb-mid"
    run.close()


def test_an_unreadable_part_fails_naming_the_file_and_imports_nothing(export: Export, store: Any) -> None:
    """A truncated part: non-zero exit, the file named, and no run (not even half of one)."""
    (bad,) = export.parts(NEW, "sb-mid")
    data = bad.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAIAD_")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "naiad._cli",
            "--store",
            str(store),
            "import",
            "neptune",
            str(export.data),
            str(export.files),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 1
    assert str(bad) in proc.stderr and "Nothing" in proc.stderr
    if isinstance(store, Path) and not store.exists():
        return
    assert _counts(store)[0] == 0


def test_a_file_path_escaping_the_files_directory_is_refused(export: Export, store: Any, cli: Any) -> None:
    """The path is named in the report, the field is not created, the outside file never stored."""
    status, out, _ = _import(cli, export, store)
    assert status == 0
    assert "'../../outside/secret.txt' escapes the files directory" in out
    run = naiad.Run(run_id="sb-root", project=NEW, store=store, mode="read-only")
    assert not run.exists("files/evil") and run.exists("files/notes")
    run.close()
    secret = hashlib.sha256(export.outside.read_bytes()).hexdigest()
    s = open_store(str(store), create=False)
    try:
        assert not s.blobs.exists(secret)
    finally:
        s.close()


def test_project_option_puts_every_run_into_one_project(export: Export, store: Any, cli: Any) -> None:
    assert _import(cli, export, store, "--project", "migrated")[0] == 0
    runs = set(query.list_runs(project="migrated", store=store, trashed=None))
    assert runs == {"sb-root", "sb-mid", "sb-leaf", "sb-orphan", "legacy-baseline", "LEG-2"}
    run = naiad.Run(run_id="LEG-2", project="migrated", store=store, mode="read-only")
    assert run["import/neptune/project_id"].fetch() == OLD
    run.close()


@pytest.mark.backends("sqlite")
def test_help_describes_the_command(cli: Any) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli("import", "neptune", "--help")
    assert exit_info.value.code == 0


@pytest.mark.backends("sqlite")
def test_a_bad_utc_offset_is_a_usage_error(export: Export, cli: Any, capsys: Any) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli("import", "neptune", export.data, export.files, "--legacy-utc-offset", "noon")
    assert exit_info.value.code == 2
    assert "expected a UTC offset" in capsys.readouterr().err


def test_a_part_of_another_format_is_named(export: Export, store: Any, cli: Any, tmp_path: Path) -> None:
    """A Parquet file without the exporter's columns is refused before anything is written."""
    import pyarrow as pa

    (part,) = export.parts(NEW, "sb-leaf")
    pq.write_table(pa.table({"x": [1]}), part)
    status, _, err = _import(cli, export, store)
    assert status == 1 and str(part) in err and "attribute_path" in err
    assert SCHEMA.names[0] in err or "project_id" in err


def test_the_ui_draws_the_imported_fork_chain_as_one_curve(export: Export, store: Any, cli: Any) -> None:
    """The chart data the UI serves for the experiment's head: three segments (root, middle,
    leaf) with fork markers at 80.5 and 150, as for a native fork."""
    from naiad._ui._series import chart

    assert _import(cli, export, store)[0] == 0
    s = open_store(str(store), create=False)
    try:
        (series,) = chart(s, NEW, ["sb-leaf"], ["train/loss"])["charts"]["train/loss"]
    finally:
        s.close()
    assert [(g["run"], g["from"], g["to"]) for g in series["segments"]] == [
        ("sb-root", 0.0, 80.0),
        ("sb-mid", 81.0, 150.0),
        ("sb-leaf", 151.0, 200.0),
    ]
    assert [(f["parent"], f["child"], f["step"]) for f in series["forks"]] == [
        ("sb-root", "sb-mid", 80.5),
        ("sb-mid", "sb-leaf", 150.0),
    ]
