"""Attacks from issue 15 on the periphery: CLI output, sync order, the UI's token and limits, bad input.

Each test reproduces one attack a hostile (or merely unlucky) user tried, with real stores in
``tmp_path`` and the real ``naiad`` command and server.
"""

from __future__ import annotations

import http.client
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

import naiad
import naiad.query
from naiad._cli import main
from naiad.errors import FieldTypeError, FieldValueError, NaiadError


def _naiad(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_store_strings_are_shown_as_text_never_as_rich_markup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run id `parent[/b]` and a name with [link=...] print literally; no command fails."""
    store = tmp_path / "store"
    evil_name = "[link=http://evil.example/]click[/link]"
    with naiad.Run(experiment_name=evil_name, run_id="parent[/b]", store=store) as run:
        run["notes"] = "[bold red]boom[/bold red] :smile:"
    for command in (["ls"], ["experiments"], ["show", "parent[/b]"]):
        status, out, err = _naiad(capsys, "--store", str(store), *command)
        assert status == 0, (command, err)
        assert "\x1b]8;" not in out  # no terminal hyperlink escape
    _, out, _ = _naiad(capsys, "--store", str(store), "show", "parent[/b]")
    assert "parent[/b]" in out and evil_name in out and "[bold red]boom[/bold red] :smile:" in out
    _, out, _ = _naiad(capsys, "--store", str(store), "ls", "-c", "sys/custom_run_id,sys/name")
    assert "parent[/b]" in out


def test_sync_with_no_journals_is_success_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = _naiad(capsys, "--store", str(tmp_path / "store"), "sync")
    assert status == 0, err
    assert len(out.splitlines()) == 1 and out.startswith("Nothing to sync")


def test_sync_resolves_an_offline_fork_parent_whose_journal_sorts_after_the_child(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`default--child` sorts before `default--parent`; a plain `naiad sync` still links them."""
    store = tmp_path / "store"
    with naiad.Run(run_id="parent", experiment_name="e", store=store, mode="offline") as run:
        run.log_metrics({"loss": 1.0}, step=1)
        run.log_metrics({"loss": 0.5}, step=2)
    with naiad.Run(
        run_id="child", experiment_name="e", store=store, mode="offline", fork_run_id="parent", fork_step=2
    ) as run:
        run.log_metrics({"loss": 0.25}, step=3)
    status, out, err = _naiad(capsys, "--store", str(store), "sync")
    assert status == 0, err
    assert "fork parent resolved" in out
    with naiad.Run(run_id="child", store=store, mode="read-only") as child:
        assert child["sys/forking/parent"].fetch() == "parent"
        assert child["loss"].fetch_values(lineage_to_the_root=True)["value"].tolist() == [1.0, 0.5, 0.25]


def test_ui_on_a_public_interface_with_an_empty_token_generates_one(tmp_path: Path) -> None:
    from naiad._ui import make_server

    store = tmp_path / "store"
    with naiad.Run(run_id="r", store=store):
        pass
    server = make_server(store=store, host="0.0.0.0", port=0, token="")
    try:
        token = server.app.guard.token
        assert token and len(token) >= 16
        assert server.url.endswith(f"?token={token}")
    finally:
        server.server_close()


def test_ui_answers_an_out_of_range_limit_with_400_and_the_reason(tmp_path: Path) -> None:
    from naiad._ui import start, stop

    store = tmp_path / "store"
    with naiad.Run(run_id="r", store=store):
        pass
    server = start(store=store, port=0)
    try:
        port = server.server_address[1]
        for query in ("limit=1e23", "limit=100000000000000000000000", "offset=-1"):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", f"/api/runs?{query}", headers={"Host": f"127.0.0.1:{port}"})
            resp = conn.getresponse()
            body = resp.read().decode()
            conn.close()
            assert resp.status == 400, (query, body)
            assert "must be" in body
    finally:
        stop(server)


def test_a_float_appended_to_a_string_series_is_a_type_error_naming_both_types(tmp_path: Path) -> None:
    with naiad.Run(run_id="r", store=tmp_path / "store") as run:
        run["notes"].append("warming up", step=1)
        with pytest.raises(FieldTypeError) as info:
            run["notes"].append(1.5, step=2)
        assert "StringSeries" in str(info.value) and "Float" in str(info.value)
        assert info.value.path == "notes"


@pytest.mark.parametrize("argument", ["run_id", "experiment_name", "project"])
def test_a_lone_surrogate_in_an_identity_argument_is_a_naiad_error_naming_it(
    tmp_path: Path, argument: str
) -> None:
    with pytest.raises(FieldValueError, match=argument):
        naiad.Run(store=tmp_path / "store", **{argument: "bad\ud800"})


def test_a_naive_pandas_timestamp_is_stored_as_local_time_like_a_naive_datetime(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    with naiad.Run(run_id="r", store=tmp_path / "store") as run:
        run["when"] = pd.Timestamp("2020-01-02 03:04:05")
        run["also"] = datetime(2020, 1, 2, 3, 4, 5)
        run.wait()
        assert run["when"].fetch() == run["also"].fetch()
        assert run["when"].fetch().tzinfo is not None
        aware = pd.Timestamp("2020-01-02 03:04:05", tz="UTC")
        run["aware"] = aware
        run.wait()
        assert run["aware"].fetch() == datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def test_deleting_a_namespace_keeps_fields_whose_path_differs_only_in_case(tmp_path: Path) -> None:
    store = tmp_path / "store"
    with naiad.Run(run_id="r", store=store) as run:
        run["train/lr"] = 0.1
        run["Train/lr"] = 0.2
        run["TRAIN/lr"] = 0.3
        run.wait()
        del run["train"]
        run.wait()
    with naiad.Run(run_id="r", store=store, mode="read-only") as run:
        assert not run.exists("train/lr")
        assert run["Train/lr"].fetch() == 0.2 and run["TRAIN/lr"].fetch() == 0.3


def test_a_fork_inherits_user_fields_that_only_look_like_sys(tmp_path: Path) -> None:
    store = tmp_path / "store"
    with naiad.Run(run_id="a", store=store) as run:
        run["Sys/lr"] = 0.1
        run.log_metrics({"loss": 1.0}, step=1)
    with naiad.Run(run_id="b", store=store, fork_run_id="a", fork_step=1) as run:
        assert run["Sys/lr"].fetch() == 0.1


def test_file_series_steps_a_million_apart_download_as_distinct_files(tmp_path: Path) -> None:
    with naiad.Run(run_id="r", store=tmp_path / "store") as run:
        run["preds"].append(naiad.File(b"first", name="p.txt"), step=1000000)
        run["preds"].append(naiad.File(b"second", name="p.txt"), step=1000001)
        run.wait()
        written = run["preds"].download(tmp_path / "out")
    assert sorted(Path(p).read_bytes() for p in written) == [b"first", b"second"]


def test_download_files_writes_paths_that_sanitize_alike_to_distinct_files(tmp_path: Path) -> None:
    from naiad import query

    store = tmp_path / "store"
    with naiad.Run(run_id="r", store=store) as run:
        run.assign_files({"model/my model": naiad.File(b"one", name="m.bin")})
        run.assign_files({"model/my_model": naiad.File(b"two", name="m.bin")})
    frame = query.download_files(runs="r", destination=tmp_path / "out", store=store)
    assert sorted(Path(p).read_bytes() for p in frame["file"]) == [b"one", b"two"]


def test_a_foreign_sqlite_file_named_naiad_db_is_refused_untouched(tmp_path: Path) -> None:
    import sqlite3

    from naiad.errors import StorageError

    store = tmp_path / "store"
    store.mkdir()
    foreign = sqlite3.connect(store / "naiad.db")
    foreign.execute("CREATE TABLE invoices(id INTEGER PRIMARY KEY, total REAL)")
    foreign.commit()
    foreign.close()
    with pytest.raises(StorageError, match="did not create"):
        naiad.Run(run_id="r", store=store)
    check = sqlite3.connect(store / "naiad.db")
    tables = {r[0] for r in check.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    check.close()
    assert tables == {"invoices"}


def test_upload_temp_files_left_by_a_killed_process_are_removed_on_the_next_open(tmp_path: Path) -> None:
    import os

    store = tmp_path / "store"
    with naiad.Run(run_id="r", store=store) as run:
        run["model"].upload(naiad.File(b"weights", name="m.bin"))
    files = store / "files"
    orphan = files / ".incoming-killed"
    orphan.write_bytes(b"x" * 4096)
    old = os.stat(orphan).st_mtime - 3600
    os.utime(orphan, (old, old))
    fresh = files / ".incoming-live-upload"
    fresh.write_bytes(b"y")
    with naiad.Run(run_id="r", store=store) as run:
        assert run["model"].fetch()["size"] == 7
    assert not orphan.exists() and fresh.exists()


def test_clients_trickling_header_bytes_do_not_starve_a_normal_request(tmp_path: Path) -> None:
    """Twelve connections sending one header byte each stay open; a normal request is served."""
    import socket

    from naiad._ui import start, stop

    store = tmp_path / "store"
    with naiad.Run(run_id="r", store=store):
        pass
    server = start(store=store, port=0)
    port = server.server_address[1]
    slow = []
    try:
        for _ in range(12):  # more than the 8 workers
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(b"G")
            slow.append(s)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=8)
        conn.request("GET", "/api/info", headers={"Host": f"127.0.0.1:{port}"})
        resp = conn.getresponse()
        assert resp.status == 200 and b"version" in resp.read()
        conn.close()
    finally:
        for s in slow:
            s.close()
        stop(server)


def test_a_catastrophic_regex_in_a_filter_cannot_block_the_query(tmp_path: Path) -> None:
    """`~ "(a+)+$"` over a 30-character name answers (RE2 is linear; plain re refuses the nesting)."""
    from naiad import _regex, query

    store = tmp_path / "store"
    with naiad.Run(run_id="r", experiment_name="a" * 30 + "!", store=store):
        pass
    try:
        frame = query.list_runs(filter='sys/name ~ "(a+)+$"', store=store)
    except NaiadError as e:  # the fallback engine refuses nested repetition with a clear error
        assert "repetition inside a repetition" in str(e)
    else:
        assert list(frame) == []
    with pytest.raises(_regex.RegexError):
        _regex._python("(a+)+$")
    assert _regex._python("a+b*").search("xaab")


def test_running_time_and_heartbeat_advance_while_a_run_logs_without_pause(tmp_path: Path) -> None:
    """A run committing every second still refreshes sys/running_time and sys/ping_time every 5 s."""
    store = tmp_path / "store"
    with naiad.Run(run_id="busy", store=store, capture_stdout=False, capture_stderr=False) as run:
        started = time.monotonic()
        step = 0
        while time.monotonic() - started < 6.5:
            step += 1
            run.log_metrics({"train/loss": 1.0 / step}, step=step)
            time.sleep(0.01)
        assert run.wait()
        reader = naiad.Run(run_id="busy", store=store, mode="read-only")
        running_time = reader["sys/running_time"].fetch()
        ping_age = datetime.now(timezone.utc) - reader["sys/ping_time"].fetch().astimezone(timezone.utc)
        reader.close()
    # frozen at about 1 s (the first commit) before the fix, while the run logged for 6.5 s
    assert running_time >= 5.0
    assert ping_age.total_seconds() < 5.0


@pytest.mark.backends()
def test_a_filter_of_a_thousand_ord_terms_selects_its_runs(store: Path | str) -> None:
    """1,000 OR'd terms (a generated id list) compile and select; SQLite refused them as an
    expression tree too large."""
    for i in (3, 500, 999, 1500):
        with naiad.Run(run_id=f"r{i}", store=store) as run:
            run["n"] = i
    text = " or ".join(f"n = {i}" for i in range(1000))
    assert naiad.query.list_runs(filter=text, store=store) == ["r3", "r500", "r999"]
    text = " and ".join(f"n != {i}" for i in range(1000))
    assert naiad.query.list_runs(filter=text, store=store) == ["r1500"]


@pytest.mark.backends("sqlite", "postgres")  # a server's blobs sit in the bucket behind it
def test_a_corrupted_blob_is_refused_on_read_and_repaired_by_uploading_it_again(
    store: Path | str, tmp_path: Path
) -> None:
    """A byte flipped in a stored file: download() raises naming the corruption and leaves no
    file behind; uploading the same content again (any run) repairs the blob."""
    data = bytes(range(256)) * 4096
    with naiad.Run(run_id="files", store=store) as run:
        run["model"].upload(naiad.File(data, name="model.bin"))
    with naiad.Run(run_id="files", store=store, mode="read-only") as run:
        sha = run["model"].fetch()["sha256"]
        if isinstance(store, Path):
            blob = store / "files" / sha[:2] / sha
            raw = bytearray(blob.read_bytes())
            raw[1000] ^= 0x01
            blob.write_bytes(bytes(raw))
        else:  # the team store: overwrite the object in the bucket
            blobs = naiad._storage.open_store(store).blobs  # type: ignore[attr-defined]
            key = blobs.key(sha)
            blobs.client().put_object(Bucket=blobs.bucket, Key=key, Body=data[:1000] + b"X" + data[1001:])
        with pytest.raises(naiad.errors.StorageError, match="corrupted"):
            run["model"].download(tmp_path / "out.bin")
        assert not (tmp_path / "out.bin").exists() and not list(tmp_path.glob("out.bin*"))
    if isinstance(store, Path):
        with naiad.Run(run_id="again", store=store) as run:
            run["model"].upload(naiad.File(data, name="model.bin"))
        with naiad.Run(run_id="files", store=store, mode="read-only") as run:
            assert run["model"].download(tmp_path / "out.bin").read_bytes() == data


def test_a_byte_flipped_journal_is_refused_by_name_and_leaves_nothing_in_the_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A journal altered after its run closed is not synced (exit 1, its name and the reason on
    stderr) and creates no run; the good journal beside it syncs, and syncing again is fine."""
    store = tmp_path / "store"
    for run_id in ("good", "flipped"):
        with naiad.Run(run_id=run_id, store=store, mode="offline") as run:
            for step in range(3000):
                run.log_metrics({"m/a": float(step)}, step=step)
            run["cfg/lr"] = 0.001
    journal = next((store / "offline").glob("*flipped*"))
    db = journal / "naiad.db"
    raw = bytearray(db.read_bytes())
    raw[len(raw) // 2] ^= 0x10
    db.write_bytes(bytes(raw))

    status, out, err = _naiad(capsys, "--store", str(store), "sync")
    assert status == 1
    assert journal.name in err and "changed after its run closed" in err, err
    assert "1 refused" in out
    assert naiad.query.list_runs(store=store) == ["good"]
    with naiad.Run(run_id="good", store=store, mode="read-only") as run:
        assert run["m/a"].fetch_values()["value"].tolist() == [float(s) for s in range(3000)]
    db.unlink()  # give it up; the good journal syncs again unchanged (its seal survived the reads)
    shutil.rmtree(journal)
    status, out, err = _naiad(capsys, "--store", str(store), "sync")
    assert status == 0, err
    assert "0 new points" in out
