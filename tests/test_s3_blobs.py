"""File blobs in an S3 bucket (``blobs="s3://BUCKET/PREFIX"``), against a real S3 server (moto)."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

import naiad
from naiad import query
from naiad._storage._s3 import S3Blobs

pytest.importorskip("boto3")


def _keys(location: str) -> list[str]:
    blobs = S3Blobs(location)
    listing = blobs.client().list_objects_v2(Bucket=blobs.bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def test_a_directory_store_keeps_its_files_in_the_bucket(store: Path, tmp_path: Path, s3_blobs: str) -> None:
    src = tmp_path / "weights.pt"
    src.write_bytes(b"\x00\x01weights")
    with naiad.Run(store=store, run_id="f", blobs=s3_blobs) as run:
        run["model/weights"].upload(str(src))
        run["again"].upload(b"\x00\x01weights")  # same content: one object
        run.log_files({"preds": naiad.File(b"step 0", name="p.txt")}, step=0)
    src.unlink()
    sha = hashlib.sha256(b"\x00\x01weights").hexdigest()
    prefix = s3_blobs.split("/", 3)[3]
    keys = _keys(s3_blobs)
    assert f"{prefix}/blobs/sha256/{sha[:2]}/{sha}" in keys and len(keys) == 2
    assert not list((store / "files").rglob("*"))  # nothing went to the local directory
    # a reader that is not told where the blobs are finds them: the store recorded it
    back = naiad.Run(run_id="f", store=store, mode="read-only")
    assert back["model/weights"].download(tmp_path / "w.pt").read_bytes() == b"\x00\x01weights"
    [written] = back["preds"].download(tmp_path / "preds")
    assert written.read_bytes() == b"step 0"
    back.close()
    out = tmp_path / "q"
    query.download_files(runs=["f"], attributes=["model/weights"], destination=out, store=store)
    assert [p.read_bytes() for p in out.rglob("*") if p.is_file()] == [b"\x00\x01weights"]


def test_a_large_file_goes_up_in_parts_and_comes_back_identical(
    store: Path, tmp_path: Path, s3_blobs: str
) -> None:
    data = os.urandom(9 << 20)  # above the 8 MiB multipart threshold
    with naiad.Run(store=store, run_id="big", blobs=s3_blobs, mode="sync") as run:
        run["checkpoint"].upload(io.BytesIO(data))
    back = naiad.Run(run_id="big", store=store, mode="read-only", blobs=s3_blobs)
    got = back["checkpoint"].download(tmp_path / "ckpt.bin").read_bytes()
    back.close()
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()


def test_two_writers_racing_on_the_same_content_both_succeed(s3_blobs: str) -> None:
    first, second = S3Blobs(s3_blobs), S3Blobs(s3_blobs)
    sha, _ = first.put(b"shared")
    second._single(second.key(sha), b"shared", sha)  # the race: it lost the If-None-Match
    with second.open(sha) as f:
        assert f.read() == b"shared"
    assert len(_keys(s3_blobs)) == 1


def test_a_missing_bucket_is_an_error_that_names_it_and_the_fix(store: Path, s3_blobs: str) -> None:
    nowhere = "s3://naiad-no-such-bucket/x"
    with (
        naiad.Run(store=store, run_id="m", blobs=nowhere, mode="sync") as run,
        pytest.raises(naiad.StorageError, match=r"naiad-no-such-bucket.*create the bucket"),
    ):
        run["f"].upload(b"content")
    with pytest.raises(naiad.StorageError, match="no bucket"):
        naiad.Run(store=store, run_id="n", blobs="s3://")


def test_naiad_blobs_and_the_cli_flag_choose_the_bucket(store: Path, tmp_path: Path, s3_blobs: str) -> None:
    elsewhere = tmp_path / "elsewhere"
    with naiad.Run(store=elsewhere, run_id="env", _environ={**os.environ, "NAIAD_BLOBS": s3_blobs}) as run:
        run["f"].upload(b"from the environment")
    assert len(_keys(s3_blobs)) == 1
    with naiad.Run(experiment_name="offline", run_id="off", store=store, mode="offline") as run:
        run["f"].upload(b"from a journal")
    journal = store / "offline" / "default--off.naiad-journal"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAIAD_")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "naiad._cli",
            "sync",
            str(journal),
            "--store",
            str(store),
            "--blobs",
            s3_blobs,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert len(_keys(s3_blobs)) == 2  # the journal's file went to the bucket, not to files/
