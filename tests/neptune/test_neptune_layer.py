"""The neptune 1.x layer's own rules, checked in-process against a store in tmp_path."""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import naiad
from naiad import neptune
from naiad.neptune.types import File
from naiad.neptune.utils import stringify_unsupported

PROJECT = "team-alpha/seabird"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in ("NEPTUNE_MODE", "NEPTUNE_CUSTOM_RUN_ID", "NAIAD_MODE", "NAIAD_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NAIAD_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("NEPTUNE_PROJECT", PROJECT)
    monkeypatch.chdir(tmp_path)
    yield tmp_path / "store"


def stored(store: Path, run_id: str) -> naiad.Run:
    return naiad.Run(run_id=run_id, project=PROJECT, store=store, mode="read-only")


def test_stringify_unsupported_walks_dicts_and_expands_lists() -> None:
    """Nested values Neptune could not store become strings; expand=True keys lists by position."""
    value = {"a": {"b": None, "c": 1.5}, "d": [1, (2, 3)], 4: "x"}
    assert stringify_unsupported(value) == {"a": {"b": "None", "c": 1.5}, "d": "[1, (2, 3)]", "4": "x"}
    assert stringify_unsupported(value, expand=True)["d"] == {"0": 1, "1": {"0": 2, "1": 3}}


def test_environment_names_the_run_and_mode(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """NEPTUNE_CUSTOM_RUN_ID and NEPTUNE_MODE are read as Neptune read them."""
    monkeypatch.setenv("NEPTUNE_CUSTOM_RUN_ID", "from-env")
    monkeypatch.setenv("NEPTUNE_MODE", "sync")
    run = neptune.init_run(api_token="ignored")
    run["x"] = 1
    assert run.naiad_run.mode == "sync"
    run.stop()
    with stored(store, "from-env") as back:
        assert back["x"].fetch() == 1


def test_with_id_that_no_run_has_says_where_it_looked(store: Path) -> None:
    """A wrong with_id raises naiad's RunNotFound naming the id, the project and the fix."""
    neptune.init_run(custom_run_id="exists").stop()
    with pytest.raises(naiad.RunNotFound, match=r"No run with id 'SEA-99' in project 'team-alpha/seabird'"):
        neptune.init_run(with_id="SEA-99")


def test_bad_mode_and_read_only_without_id_are_refused(store: Path) -> None:
    with pytest.raises(ValueError, match="mode must be one of async, sync, offline, debug, read-only"):
        neptune.init_run(mode="online")
    with pytest.raises(ValueError, match="pass with_id"):
        neptune.init_run(mode="read-only")


def test_a_type_change_is_warned_and_the_field_keeps_its_value(store: Path) -> None:
    """Neptune kept a field's type: a string into a Float warns and the float stays."""
    run = neptune.init_run(custom_run_id="types")
    run["score"] = 0.5
    with pytest.warns(neptune.NeptuneWarning, match="'score' keeps its type"):
        run["score"] = "high"
    with pytest.warns(neptune.NeptuneUnsupportedType, match="at 'blob'"):
        run["blob"] = {1, 2}
    run.stop()
    with stored(store, "types") as back:
        assert back["score"].fetch() == 0.5
        assert not back.exists("blob")


def test_namespace_handles_assign_fetch_and_pop(store: Path) -> None:
    """A handle's sub-handles write under it; fetch() of the namespace returns the dict; pop deletes."""
    run = neptune.init_run(custom_run_id="ns")
    params = run["params"]
    params["model"] = {"depth": 3, "width": 64}
    params["lr"] = 0.1
    run.wait()
    assert params.fetch() == {"lr": 0.1, "model": {"depth": 3, "width": 64}}
    assert run.get_root_object() is run
    params.pop("model/width")
    run.assign({"extra": {"k": "v"}})
    run.stop()
    with stored(store, "ns") as back:
        data = back.fetch()
    assert data["params"] == {"lr": 0.1, "model": {"depth": 3}}
    assert data["extra"] == {"k": "v"}


def test_file_needs_exactly_one_source_and_as_image_checks_channels() -> None:
    with pytest.raises(ValueError, match="a path or content"):
        File()
    assert File("model.pt").extension == "pt"
    with pytest.raises(ValueError, match="1, 3 or 4 channels"):
        File.as_image(np.zeros((2, 2, 2)))


def test_fetch_hash_and_extension_of_an_uploaded_file(store: Path) -> None:
    """fetch_extension gives File's extension back; fetch_hash is the content's SHA-256."""
    run = neptune.init_run(custom_run_id="hash")
    run["model/pickled"].upload(File.as_pickle([1, 2]))
    run.wait()
    assert run["model/pickled"].fetch_extension() == "pkl"
    assert run["model/pickled"].fetch_hash() == hashlib.sha256(pickle.dumps([1, 2])).hexdigest()
    run.stop()


def test_a_missing_file_is_skipped_with_a_warning_and_the_rest_is_kept(store: Path) -> None:
    """As Neptune did: upload, upload_files and a file series skip a path that is not there."""
    from naiad.neptune import NeptuneWarning

    run = neptune.init_run(custom_run_id="missing")
    with pytest.warns(NeptuneWarning, match="no such file"):
        run["model/weights"].upload("/does/not/exist.bin")
    with pytest.warns(NeptuneWarning, match="No file matches"):
        run["model/set"].upload_files(["/does/not/exist.bin"])
    with pytest.warns(NeptuneWarning, match="no such file"):
        run["samples"].append(File("/does/not/exist.png"))
    run["params/lr"] = 0.1
    run.stop()
    with stored(store, "missing") as back:
        assert back["params/lr"].fetch() == 0.1
        assert not any(back.exists(p) for p in ("model/weights", "model/set", "samples"))


def test_a_read_only_project_without_fields_reads_as_empty(store: Path) -> None:
    """Nothing was ever written at the project level: its fields read as none, not as a missing
    run named after naiad's internal ``__project__``."""
    neptune.init_run(project="ws/other").stop()  # the store exists, this project has no fields
    project = neptune.init_project(project="ws/empty", mode="read-only")
    assert project.fetch() == {} and project.get_structure() == {}
    assert not project.exists("general/brief")
    with pytest.raises(naiad.errors.FieldNotFound, match="Project 'ws/empty' has no field 'general/brief'"):
        project["general/brief"].fetch()
    assert project.fetch_runs_table().to_pandas().empty
    project.stop()
