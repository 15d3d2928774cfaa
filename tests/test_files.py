"""Files: content-addressed uploads, file series, artifacts, and downloads that stay in place."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

import naiad

# the same behaviour on every store backend (tests/conftest.py)
pytestmark = pytest.mark.backends()


@pytest.mark.backends("sqlite")  # checks the store directory itself
def test_upload_and_download_into_a_directory_and_to_a_path(store: Path, tmp_path: Path) -> None:
    src = tmp_path / "weights.pt"
    src.write_bytes(b"\x00\x01weights")
    with naiad.Run(store=store, run_id="f") as run:
        run["model/weights"].upload(str(src))
        run.assign_files({"data/sample": io.BytesIO(b"a,b\n")})
    src.unlink()  # the store has its own copy
    back = naiad.Run(run_id="f", store=store, mode="read-only")
    meta = back["model/weights"].fetch()
    assert meta["sha256"] == hashlib.sha256(b"\x00\x01weights").hexdigest() and meta["size"] == 9
    out = tmp_path / "out"
    out.mkdir()
    written = back["model/weights"].download(out)
    assert written == (out / "weights.pt").resolve() and written.read_bytes() == b"\x00\x01weights"
    target = back["data/sample"].download(tmp_path / "sample.csv")
    assert target.read_bytes() == b"a,b\n"
    blobs = list((store / "files").rglob("*"))
    assert all("weights" not in p.name for p in blobs)  # stored names never become paths


def test_a_hostile_stored_name_cannot_escape_the_destination(store: Path, tmp_path: Path) -> None:
    with naiad.Run(store=store, run_id="h") as run:
        run["evil"].upload(naiad.File(b"pwned", name="../../../../etc/passwd.sh"))
        run["evil2"].upload(naiad.File(b"pwned", name="..\\..\\x.exe"))
    dest = tmp_path / "dest"
    dest.mkdir()
    back = naiad.Run(run_id="h", store=store, mode="read-only")
    for path in ("evil", "evil2"):
        written = back[path].download(dest)
        assert written.parent == dest.resolve()
    assert sorted(p.name for p in dest.iterdir()) == ["evil.sh", "evil2.exe"]


def test_file_series_download_one_file_per_step(store: Path, tmp_path: Path) -> None:
    with naiad.Run(store=store, run_id="s") as run:
        for step in range(3):
            run.log_files({"preds": naiad.File(f"step {step}".encode(), name="p.txt")}, step=step)
        run["preds"].append(naiad.File(b"step 3", name="p.txt"), step=3)
    back = naiad.Run(run_id="s", store=store, mode="read-only")
    files = back["preds"].download(tmp_path / "preds")
    assert [p.read_text() for p in files] == [f"step {i}" for i in range(4)]


@pytest.mark.backends("sqlite")  # checks the store directory itself
def test_identical_content_is_stored_once(store: Path) -> None:
    with naiad.Run(store=store) as run:
        run["a"].upload(b"same bytes")
        run["b"].upload(b"same bytes")
    assert len([p for p in (store / "files").rglob("*") if p.is_file()]) == 1


@pytest.mark.backends("sqlite")  # checks the store directory itself
def test_track_files_records_a_manifest_without_copying(store: Path, tmp_path: Path) -> None:
    data = tmp_path / "dataset"
    data.mkdir()
    (data / "a.csv").write_text("1")
    (data / "b.csv").write_text("22")
    with naiad.Run(store=store, run_id="t") as run:
        run["datasets/train"].track_files(data)
    back = naiad.Run(run_id="t", store=store, mode="read-only")
    files = back["datasets/train"].fetch()["files"]
    assert [(Path(f["path"]).name, f["size"]) for f in files] == [("a.csv", 1), ("b.csv", 2)]
    assert not (store / "files").exists()


def test_upload_of_a_missing_file_is_a_clear_error(store: Path) -> None:
    with naiad.Run(store=store) as run, pytest.raises(naiad.FieldValueError, match="no such file"):
        run["x"].upload("/does/not/exist.bin")


def test_a_missing_file_under_warn_is_dropped_warned_at_the_users_line_and_counted(
    store: Path, tmp_path: Path
) -> None:
    """on_error="warn": a file that is not there costs that write only, never the call or the run."""
    good = tmp_path / "good.txt"
    good.write_bytes(b"kept")
    run = naiad.Run(store=store, run_id="w", on_error="warn")
    with pytest.warns(naiad.NaiadWarning, match="no such file") as caught:
        run["model/weights"].upload("/does/not/exist.bin")
    assert [Path(w.filename).name for w in caught] == [Path(__file__).name]
    with pytest.warns(naiad.NaiadWarning, match=r"'samples'.*no such file"):
        run.log_files({"samples": "/does/not/exist.png", "kept": str(good)}, step=0)
    with pytest.warns(naiad.NaiadWarning, match="no such file"):
        run["kept"].append("/does/not/exist.png", step=1)
    with pytest.warns(naiad.NaiadWarning, match="no file matches"):
        run["datasets/train"].track_files("/does/not/exist")
    run["model/config"].upload(str(good))
    run["epochs"] = 3
    with pytest.warns(naiad.NaiadWarning, match="'epochs' is an Integer; cannot upload a File"):
        run["epochs"].upload(str(good))
    run.close()
    back = naiad.Run(run_id="w", store=store, mode="read-only")
    assert not any(back.exists(p) for p in ("model/weights", "samples", "datasets/train"))
    assert list(back["kept"].fetch_values()["step"]) == [0]
    assert back["model/config"].fetch()["size"] == 4
    assert back["epochs"].fetch() == 3
    assert back["sys/diagnostics/dropped"].fetch() == 5


def test_a_missing_file_under_raise_refuses_the_whole_call(store: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_bytes(b"kept")
    with naiad.Run(store=store, run_id="r") as run:
        with pytest.raises(naiad.FieldValueError, match=r"'samples'.*no such file"):
            run.log_files({"kept": str(good), "samples": "/does/not/exist.png"}, step=0)
        run["after"] = 1
    back = naiad.Run(run_id="r", store=store, mode="read-only")
    assert not back.exists("kept") and not back.exists("samples") and back["after"].fetch() == 1
