"""Writes through a real `naiad server` that drops answers, dies and comes back: each batch is
applied exactly once, and nothing acknowledged is lost."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import warnings
from array import array
from pathlib import Path

import pytest

import naiad
from naiad._storage import Assign, Floats, Incr, RunSpec, open_store
from naiad._storage._http import HttpStore
from naiad._types import FieldType
from naiad.errors import NaiadWarning
from tests.conftest import naiad_server


def _spec(run_id: str) -> RunSpec:
    return RunSpec("p", run_id, "e", None, None, 1.0, "o", "h")


def test_a_batch_whose_answer_was_lost_is_applied_once() -> None:
    """The server commits, then drops every second answer; the client retries the very same
    (writer, seq): the counter and the series show each batch exactly once."""
    with naiad_server(env={"NAIAD_SERVER_TEST_DROP_ACKS": "2"}) as server:
        store = open_store(server.url, token=server.token())
        assert isinstance(store, HttpStore)
        try:
            run = store.open_run(_spec("a"))
            store.write_batch(run.pk, [Assign("count", int(FieldType.INTEGER), 0)])
            lost = 0
            for i in range(10):
                step = array("q", [i * 1_000_000])
                store.write_batch(
                    run.pk,
                    [Incr("count", 1), Floats("loss", step, array("d", [float(i)]), array("d", [1.0]))],
                )
                lost += store.spooled()  # an answer that never came: the batch waits to be resent
            assert lost >= 4
            store.close()  # delivers what is left
            store = open_store(server.url, token=server.token())
            count = store.field(run.pk, "count")
            assert count is not None and count.value == 10
            loss = store.field(run.pk, "loss")
            assert loss is not None and loss.count == 10
        finally:
            store.close()
        assert "_DroppedAck" in server.output()  # the answers really were dropped


def _log_until(run: naiad.Run, start: int, stop: int) -> int:
    for step in range(start, stop):
        run.log_metrics({"train/loss": 1.0 / (step + 1)}, step=step)
    return stop


@pytest.mark.parametrize("how", ["sigkill", "restart"])
def test_a_run_outlives_its_server(how: str, tmp_path: Path) -> None:
    """The server is killed (or restarted) mid-run: the run keeps logging, wait() says False
    with a warning while batches are spooled, and after the server is back every point is
    there exactly once."""
    with naiad_server() as server:
        os.environ["NAIAD_TOKEN"] = server.token()
        try:
            run = naiad.Run(store=server.url, run_id="long", experiment_name="e")
            step = _log_until(run, 0, 50)
            assert run.wait()
            if how == "sigkill":
                server.kill()
            else:
                server.stop()
            step = _log_until(run, step, 120)  # training goes on: nothing here waits for the server
            with pytest.warns(NaiadWarning, match="wait in the local spool"):
                assert not run.wait()
            spool = run._store.spool_path  # type: ignore[union-attr]
            assert spool.is_file()
            server.start()
            step = _log_until(run, step, 150)
            deadline = time.monotonic() + 60
            delivered = False
            with warnings.catch_warnings(record=True) as said:  # each False wait() warns once
                warnings.simplefilter("always", NaiadWarning)
                while not delivered and time.monotonic() < deadline:
                    delivered = run.wait()
                    time.sleep(0.2)
            assert all("wait in the local spool" in str(w.message) for w in said)
            assert delivered
            run.close()
            assert not spool.exists()  # delivered and removed
            back = naiad.Run(store=server.url, run_id="long", mode="read-only")
            values = back["train/loss"].fetch_values()
            back.close()
            assert list(values["step"]) == list(range(150))
        finally:
            del os.environ["NAIAD_TOKEN"]


def test_a_50_mb_file_goes_straight_to_s3(tmp_path: Path) -> None:
    """The server takes request bodies of at most 1 MiB, yet a 50 MB checkpoint uploads and
    downloads: the bytes go to S3 by presigned URLs, never through the server."""
    data = os.urandom(1 << 20) * 50
    path = tmp_path / "model.ckpt"
    path.write_bytes(data)
    with naiad_server(args=("--max-body-mb", "1")) as server:
        token = server.token()
        with naiad.Run(store=server.url, run_id="big", token=token) as run:
            run["checkpoint"] = naiad.File(path)
        target = tmp_path / "down"
        back = naiad.Run(store=server.url, run_id="big", mode="read-only", token=token)
        back["checkpoint"].download(target)
        back.close()
        [got] = [p for p in target.rglob("*") if p.is_file()] if target.is_dir() else [target]
        assert hashlib.sha256(got.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
        assert '"status": 413' not in server.output()


DIES = """
import os, signal, sys, naiad
run = naiad.Run(store=sys.argv[1], run_id="crash")
for step in range(50):
    run.log_metrics({"loss": float(step)}, step=step)
assert run.wait()
print("ready", flush=True)
sys.stdin.readline()  # the server is down now
for step in range(50, 100):
    run.log_metrics({"loss": float(step)}, step=step)
import warnings
warnings.simplefilter("ignore")
assert not run.wait()  # spooled on disk, not in the store
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_naiad_sync_delivers_what_a_dead_process_spooled(tmp_path: Path) -> None:
    """A training process is SIGKILLed while the server is down: its spooled batches stay on
    disk, and `naiad sync` delivers them once the server is back."""
    with naiad_server() as server:
        env = {**os.environ, "NAIAD_TOKEN": server.token()}
        child = subprocess.Popen(
            [sys.executable, "-c", DIES, server.url],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "ready"
        server.kill()
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.wait(120) == -signal.SIGKILL
        child.stdin.close()
        child.stdout.close()
        assert list((tmp_path / ".naiad" / "offline").glob("*.naiad-spool"))
        server.start()
        synced = subprocess.run(
            [sys.executable, "-m", "naiad._cli", "sync", "--store", server.url],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert synced.returncode == 0, synced.stderr
        assert "spooled batch(es) delivered" in synced.stdout
        assert not list((tmp_path / ".naiad" / "offline").glob("*.naiad-spool"))
        back = naiad.Run(store=server.url, run_id="crash", mode="read-only", token=env["NAIAD_TOKEN"])
        assert list(back["loss"].fetch_values()["step"]) == list(range(100))
        back.close()


def test_the_server_rides_out_dropped_database_connections() -> None:
    """PostgreSQL terminates the server's connections (a restart, an admin): the next calls,
    reads and writes, succeed on fresh connections, and each batch is still applied once."""
    import uuid

    import psycopg

    from tests.conftest import NaiadServer, postgres_schema, s3_bucket

    app = f"naiad_srv_{uuid.uuid4().hex[:8]}"
    with postgres_schema() as uri, s3_bucket() as blobs:
        open_store(uri, blobs=blobs).close()
        server = NaiadServer(f"{uri}&application_name={app}", blobs)
        try:
            server.start()
            store = open_store(server.url, token=server.token())
            run = store.open_run(_spec("a"))
            store.write_batch(run.pk, [Assign("count", int(FieldType.INTEGER), 0)])
            base = uri.split("?")[0]
            with psycopg.connect(base, autocommit=True) as admin:
                killed = admin.execute(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = %s",
                    [app],
                ).fetchone()
            assert killed is not None and killed[0] >= 1
            store.write_batch(run.pk, [Incr("count", 1)])
            count = store.field(run.pk, "count")
            assert count is not None and count.value == 1 and store.spooled() == 0
            store.close()
        finally:
            server.close()
