"""``naiad store copy``: a laptop store into the team store and back, bit for bit, idempotently."""

from __future__ import annotations

import math
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

import naiad
from naiad import query
from naiad._storage import SavedView, open_store

NAN_PAYLOAD = struct.unpack(">d", bytes.fromhex("7ff80000deadbeef"))[0]


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAIAD_")}
    result = subprocess.run(
        [sys.executable, "-m", "naiad._cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result


def _laptop(store: Path) -> None:
    with naiad.Run(experiment_name="e", run_id="root", store=store, tags=["base"]) as run:
        run["config"] = {"lr": 0.1, "name": "adam", "flag": True}
        for step in range(300):  # several chunks
            run.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
        run.log_metrics({"odd": NAN_PAYLOAD}, step=0)
        run.log_metrics({"odd": -0.0}, step=1)
        run.log_string_series({"notes": "hello\x00world"}, step=0)
        run["model"].upload(naiad.File(b"weights", name="model.pt"))
        run.log_files({"preds": naiad.File(b"p0", name="p.txt")}, step=0)
    with naiad.Run(
        experiment_name="e", run_id="child", store=store, fork_run_id="root", fork_step=150
    ) as run:
        run.log_metrics({"loss": 0.5}, step=151)
    store_ = open_store(store)
    store_.save_view(SavedView("default", "forks", "#/charts?run=root&run=child", 7.0))
    store_.close()


def test_a_laptop_store_moves_to_the_team_store_and_back_unchanged(
    tmp_path: Path, postgres_uri: str, s3_blobs: str
) -> None:
    laptop = tmp_path / "laptop"
    _laptop(laptop)
    out = _cli("store", "copy", laptop, postgres_uri, "--target-blobs", s3_blobs).stdout
    assert "Copied 2 run(s)" in out and "0 already there" in out and "2 file blob(s) uploaded" in out
    assert "1 saved view(s)" in out
    assert "Verified: " in out and "naiad:***@" in out and ":naiad@" not in out
    again = _cli("store", "copy", laptop, postgres_uri).stdout  # idempotent
    assert "Copied 0 run(s)" in again and "2 already there" in again and "0 saved view(s)" in again
    team_store = open_store(postgres_uri)
    assert team_store.views() == [SavedView("default", "forks", "#/charts?run=root&run=child", 7.0)]
    team_store.close()

    team = naiad.Run(run_id="child", store=postgres_uri, mode="read-only")
    assert team["sys/forking/parent"].fetch() == "root" and team["sys/forking/depth"].fetch() == 1
    team.close()
    root = naiad.Run(run_id="root", store=postgres_uri, mode="read-only")
    odd = root["odd"].fetch_values()["value"].tolist()
    assert struct.pack(">d", odd[0]).hex() == "7ff80000deadbeef"
    assert odd[1] == 0.0 and math.copysign(1, odd[1]) == -1
    assert root["notes"].fetch_values()["value"].tolist() == ["hello\x00world"]
    assert root["model"].download(tmp_path / "m.pt").read_bytes() == b"weights"
    assert root["config/flag"].fetch() is True and root["sys/tags"].fetch() == {"base"}
    root.close()
    heads = query.list_experiments(store=postgres_uri)
    assert heads == ["e"]
    metrics = query.fetch_metrics(runs=["child"], attributes=["loss"], store=postgres_uri)
    local = query.fetch_metrics(runs=["child"], attributes=["loss"], store=laptop)
    assert metrics.equals(local)

    back = tmp_path / "back"
    out = _cli("store", "copy", postgres_uri, back).stdout
    assert "Copied 2 run(s)" in out and "Verified" in out
    assert query.fetch_metrics(runs=["root"], attributes=["loss"], store=back).equals(
        query.fetch_metrics(runs=["root"], attributes=["loss"], store=laptop)
    )
    with naiad.Run(run_id="root", store=back, mode="read-only") as copy:
        assert copy["preds"].download(tmp_path / "preds")[0].read_bytes() == b"p0"


@pytest.mark.parametrize("bad", ["postgresql://naiad:wrong-secret@127.0.0.1:1/nothing"])
def test_an_unreachable_team_store_is_one_line_without_the_password(bad: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAIAD_")}
    result = subprocess.run(
        [sys.executable, "-m", "naiad._cli", "ls", "--store", bad],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "Cannot reach the PostgreSQL store postgresql://naiad:***@127.0.0.1:1/nothing" in result.stderr
    assert "wrong-secret" not in result.stderr + result.stdout
