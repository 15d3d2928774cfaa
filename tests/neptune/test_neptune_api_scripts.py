"""Neptune 1.x scripts for files, file sets, artifacts, project fields, run methods and arguments."""

from __future__ import annotations

import io
import zipfile

import pytest
from _nep import PROJECT, Scripts

from naiad import query


def _png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_images_charts_and_tables_upload_explicitly_and_implicitly(scripts: Scripts) -> None:
    """Figures, PIL images, arrays, CHW tensors and DataFrames: PNG or HTML, as Neptune made them."""
    pytest.importorskip("matplotlib")
    pytest.importorskip("PIL")
    (scripts.cwd / "last").mkdir()
    done = scripts.run("images_and_charts.py")
    assert done.stdout.strip() == "extensions png html"
    with scripts.stored("images-1") as run:
        data = run.fetch()
        tensor = run["images/tensor"].download(scripts.cwd / "t").read_bytes()  # type: ignore[union-attr]
        array = run["images/from_array"].download(scripts.cwd / "a").read_bytes()  # type: ignore[union-attr]
        table = run["tables/implicit"].download(scripts.cwd / "h").read_text()  # type: ignore[union-attr]
        svg = run["charts/line_html"].download(scripts.cwd / "s").read_text()  # type: ignore[union-attr]
        misclassified = run["train/misclassified"].fetch_values(include_timestamp=False)
        predictions = run["train/predictions"].fetch_values(include_timestamp=False)
    assert {k: v["mime"] for k, v in data["charts"].items()} == {
        "line": "image/png",
        "line_html": "text/html",
        "line_image": "image/png",
    }
    assert data["charts"]["line"]["sha256"] == data["charts"]["line_image"]["sha256"]  # same PNG either way
    assert _png_size(tensor) == (5, 4)  # 3x4x5 channels-first → a 5 wide, 4 high image
    assert _png_size(array) == (7, 6)
    assert _png_size((scripts.cwd / "got").read_bytes()) == (5, 3)  # the PIL image, downloaded
    assert "<table" in table and "acc" in table and "<svg" in svg
    assert [v["name"] for v in misclassified["value"]] == ["digit 0.png", "digit 1.png", "digit 2.png"]
    last = (scripts.cwd / "last" / "misclassified.png").read_bytes()  # download_last: only the last
    assert list((scripts.cwd / "last").iterdir()) == [scripts.cwd / "last" / "misclassified.png"]
    assert _png_size(last) == (4, 4) and len(last) == misclassified["value"].iloc[-1]["size"]
    assert predictions["step"].tolist() == [10.0, 11.0, 12.0]


def test_filesets_and_artifacts_list_download_and_compare_by_hash(scripts: Scripts) -> None:
    """upload_files adds, delete_files removes, download gives the ZIP; artifacts compare by hash."""
    done = scripts.run("filesets_artifacts.py")
    lines = done.stdout.splitlines()
    assert lines[0] == "root [('data', 'directory')]"
    assert lines[1] == "data [('raw', 0), ('test.csv', 8), ('train.csv', 8)]"  # raw/ is a directory
    assert lines[2] == "tracked ['raw/dump.bin', 'test.csv', 'train.csv'] [3, 8, 8]"
    assert lines[4] == "same data True"
    archive = zipfile.ZipFile(io.BytesIO((scripts.cwd / "downloads" / "csvs.zip").read_bytes()))
    assert sorted(archive.namelist()) == ["data/raw/dump.bin", "data/test.csv", "data/train.csv"]
    assert archive.read("data/train.csv") == b"x,y\n1,2\n"
    with scripts.stored("filesets-1") as run:
        data = run.fetch()
        configs = run["configs"].download(scripts.cwd / "c.zip").read_bytes()  # type: ignore[union-attr]
    assert zipfile.ZipFile(io.BytesIO(configs)).read("notes.md") == b"# notes\n"
    assert data["dataset"]["csvs"]["mime"] == "application/zip"
    assert lines[3] == f"hash {data['artifacts']['train']['hash']}"
    assert len(data["artifacts"]["all"]["files"]) == 3


def test_project_fields_are_stored_read_back_and_kept_out_of_the_runs_table(scripts: Scripts) -> None:
    """project["general/brief"] = ...: read back by a later init_project; the runs table lists runs only."""
    done = scripts.run("project_fields.py")
    lines = done.stdout.splitlines()
    assert lines[0] == "brief Classify seabirds from camera-trap photos"
    assert lines[1] == "general ['brief', 'deadline', 'sample', 'team']"
    assert lines[2] == "exists True False"
    assert lines[3] == "runs ['TEA-2'] 1"  # the project's own run (TEA-1) is not a row
    with scripts.stored("__project__") as fields:
        assert fields["general/deadline"].fetch() == 2027
        assert fields["general/team"].fetch() == {"ana", "ben"}
        sample = fields["general/sample"].download(scripts.cwd / "s.csv").read_text()  # type: ignore[union-attr]
        digest = fields["datasets/v1"].fetch()["hash"]
        assert "monitoring" not in fields.fetch()  # the project's run captures nothing of its own
    assert sample == "id,label\n1,cat\n2,dog\n"
    with scripts.stored("uses-project-data") as run:
        assert run["data/version"].fetch() == digest
        assert run["data/brief"].fetch().startswith("Classify")


def test_run_methods_rename_assign_sync_and_reopen_by_sys_id(scripts: Scripts) -> None:
    """sys/name is writable (the experiment stays), assign at the root, get_url, neptune.Run(with_id=)."""
    done = scripts.run("run_methods.py")
    assert done.stdout.splitlines() == [
        "url http://127.0.0.1:8765/#/run/methods-1",
        "name baseline, lr 0.1",
        "experiment baseline",
        "state Inactive failed False",
        "root ['data', 'monitoring', 'parameters', 'sys', 'train']",
        "acc 0.7",
    ]
    with scripts.stored("methods-1") as run:
        assert run["sys/description"].fetch() == "first try"
        assert run.fetch()["parameters"] == {"lr": 0.1, "momentum": 0.9}
        assert not run.exists("scratch")
    table = query.fetch_runs_table(project=PROJECT, store=scripts.store)
    assert table["sys/name"].tolist() == ["baseline, lr 0.1"]


def test_init_run_arguments_and_neptune_variables_are_honoured(scripts: Scripts) -> None:
    """NEPTUNE_CUSTOM_RUN_ID / NEPTUNE_MODE, source_files, dependencies, capture_* switches, a str tag."""
    scripts.run("init_arguments.py", NEPTUNE_CUSTOM_RUN_ID="args-1", NEPTUNE_MODE="sync")
    with scripts.stored("args-1") as run:
        data = run.fetch()
        structure = run.get_structure()
        stdout = run["monitoring/main/stdout"].fetch_values()["value"].tolist()
    assert data["sys"]["experiment"]["name"] == "all-arguments"
    assert data["sys"]["description"] == "every init_run argument" and data["sys"]["tags"] == {"single-tag"}
    assert structure["source_code"]["files"] == {"train.py": "File", "utils.py": "File"}
    assert "git" not in structure["source_code"]  # git_ref=GitRef.DISABLED
    assert data["environment"]["packages"]  # dependencies="infer": the installed packages
    assert any("hello from the script" in line for line in stdout)
    assert "stderr" not in data["monitoring"]["main"]
    with scripts.stored("no-source") as run:
        assert "source_code" not in run.fetch()  # source_files=[] and git_ref=False


def test_legacy_new_import_path_and_its_submodules(scripts: Scripts) -> None:
    """import neptune.new as neptune; from neptune.new.types import File; a with block stops the run."""
    assert scripts.run("legacy_new_import.py").stdout.strip() == "done"
    with scripts.stored("legacy-1") as run:
        data = run.fetch()
        card = run["model/card"].download(scripts.cwd / "card").read_text()  # type: ignore[union-attr]
    assert data["params"] == {"layers": "(32, 16)", "dropout": "None", "lr": 0.01}
    assert card == "two dense layers" and data["sys"]["tags"] == {"legacy"}
    assert data["sys"]["state"] == "inactive"
    assert [v for _, v in scripts.series("legacy-1", "train/loss")] == [0.9, 0.5, 0.3]


def test_a_crash_inside_the_with_block_marks_the_run_failed(scripts: Scripts) -> None:
    """The exception propagates; the run is inactive, sys/failed, with the exception recorded."""
    done = scripts.run("crash_marks_failed.py", check=False)
    assert done.returncode == 1 and "FloatingPointError: loss diverged" in done.stderr
    with scripts.stored("crash-1") as run:
        data = run.fetch()
    assert data["sys"]["failed"] is True and data["sys"]["state"] == "inactive"
    assert data["sys"]["diagnostics"]["exception"] == "FloatingPointError: loss diverged"
    assert [v for _, v in scripts.series("crash-1", "train/loss")] == [1.0, 10.0, 100.0]


def test_stringify_unsupported_makes_argparse_and_nested_configs_storable(scripts: Scripts) -> None:
    """vars(args) with lists, paths and None; expand=True keys lists by position; the rest is skipped."""
    done = scripts.run("stringify_configs.py")
    assert done.stderr.count("NeptuneUnsupportedType") == 2
    with scripts.stored("configs-1") as run:
        data = run.fetch()
        structure = run.get_structure()
    assert data["args"] == {"lr": 3e-4, "layers": "[64, 32]", "out": "outputs", "scheduler": "None"}
    assert data["model"] == {
        "sizes": {"0": 4, "1": 8},
        "act": {"name": "gelu", "approx": {"0": True, "1": "tanh"}},
    }
    assert structure["model"]["sizes"]["1"] == "Integer"  # np.int64 typed as an Integer
    assert data["raw"] == {"ok": 0.5}
