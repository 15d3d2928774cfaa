"""The team store under real load and real faults: many writer processes, a reader, schema
versions, and the PostgreSQL server going away mid-run."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import uuid

import pytest
from _downgrade import postgres_back_to

import naiad
from naiad import query
from naiad._storage._postgres_schema import SCHEMA_VERSION

pytest.importorskip("psycopg")

WRITER = textwrap.dedent("""
    import sys, naiad
    uri, rid, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with naiad.Run(run_id=rid, experiment_name="load", store=uri) as run:
        run["config/worker"] = rid
        for s in range(steps):
            run.log_metrics({"a": s * 0.5, "b": -s, "c": 1.0 / (s + 1)}, step=s)
            if s % 100 == 0:
                run.log_string_series({"log": f"step {s}"}, step=s)
    print("done", rid)
""")

READER = textwrap.dedent("""
    import sys, time, naiad
    from naiad import query
    uri, deadline = sys.argv[1], time.monotonic() + float(sys.argv[2])
    reads = 0
    while time.monotonic() < deadline:
        query.fetch_runs_table(attributes=["config/worker"], store=uri)
        reads += 1
        time.sleep(0.05)
    print("reads", reads)
""")


@pytest.mark.slow
def test_sixteen_writers_and_a_reader_on_one_team_store(team_store_uri: str) -> None:
    steps = 1500
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAIAD_")}
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, team_store_uri, "20"], stdout=subprocess.PIPE, text=True, env=env
    )
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, team_store_uri, f"w{i:02d}", str(steps)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(16)
    ]
    results = [w.communicate(timeout=300) for w in writers]
    assert [w.returncode for w in writers] == [0] * 16, [err for _, err in results if err]
    assert all(not err for _, err in results), [err for _, err in results if err]  # no warning either
    out, _ = reader.communicate(timeout=120)
    assert reader.returncode == 0 and int(out.split()[-1]) > 0
    table = query.fetch_runs_table(attributes=["config/worker"], store=team_store_uri)
    assert sorted(table["config/worker"]) == [f"w{i:02d}" for i in range(16)]
    names = [f"w{i:02d}" for i in range(16)]
    metrics = query.fetch_metrics(runs=names, attributes=["a", "b", "c"], store=team_store_uri)
    assert len(metrics) == 16 * steps  # every point of every writer, none twice
    for rid in ("w00", "w15"):
        with naiad.Run(run_id=rid, store=team_store_uri, mode="read-only") as run:
            values = run["b"].fetch_values()
            assert values["step"].tolist() == [float(s) for s in range(steps)]
            assert run["log"].fetch_last() == "step 1400" and run["sys/state"].fetch() == "inactive"
    heads = query.list_experiments(store=team_store_uri)
    assert heads == ["load"]
    ids = sorted(query.fetch_runs_table(attributes=["sys/id"], store=team_store_uri)["sys/id"])
    assert len(set(ids)) == 16  # one counter, no sys/id twice


def test_a_newer_schema_is_refused_naming_both_versions(team_store_uri: str) -> None:
    import psycopg

    from naiad._storage._postgres import parse_uri

    conninfo, schema = parse_uri(team_store_uri)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'UPDATE "{schema}".meta SET value = %s WHERE key = %s', ["99", "schema_version"])  # type: ignore[arg-type]
    with pytest.raises(
        naiad.SchemaVersionError, match=rf"schema version 99.*understands version {SCHEMA_VERSION}"
    ):
        naiad.Run(store=team_store_uri)


def test_a_version_1_team_store_is_upgraded_on_open_and_lists_as_before(team_store_uri: str) -> None:
    """A team store at schema 1 opens, gains the listing index, and leaves its trash out."""
    import psycopg

    from naiad._storage._postgres import parse_uri

    for i in range(3):
        with naiad.Run(store=team_store_uri, run_id=f"r{i}") as run:
            run["x"] = i
    conninfo, schema = parse_uri(team_store_uri)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')  # type: ignore[arg-type]
        conn.execute("UPDATE fields SET int = 1 WHERE path = 'sys/trashed' AND run_id = 1")
    postgres_back_to(team_store_uri, 1)
    assert query.list_runs(store=team_store_uri) == ["r1", "r2"]
    assert query._count_runs(store=team_store_uri, trashed=True) == 1
    with psycopg.connect(conninfo, autocommit=True) as conn:
        version = conn.execute(
            f'SELECT value FROM "{schema}".meta WHERE key = %s', ["schema_version"]
        ).fetchone()  # type: ignore[arg-type]
        index = conn.execute(
            "SELECT 1 FROM pg_indexes WHERE schemaname = %s AND indexname = 'fields_true'", [schema]
        )
        assert version == (str(SCHEMA_VERSION),) and index.fetchone() == (1,)


def test_the_writer_retries_while_the_server_is_away_and_loses_nothing(team_store_uri: str) -> None:
    """Every server connection of the run is cut mid-run (as by a restart): logging goes on,
    the writer reconnects, and every point logged before, during and after is stored."""
    import psycopg

    from naiad._storage._postgres import parse_uri

    # only this run's connections are cut: the test server is shared with other tests
    name = f"naiad-away-{uuid.uuid4().hex[:12]}"
    uri = f"{team_store_uri}&application_name={name}"
    conninfo, _ = parse_uri(team_store_uri)  # the admin connection itself is not named so
    with (
        naiad.Run(run_id="r", store=uri, on_error="raise") as run,
        pytest.warns(naiad.NaiadWarning),
    ):
        for s in range(50):
            run.log_metrics({"x": float(s)}, step=s)
        run.wait()
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                [name],
            )
        for s in range(50, 100):
            run.log_metrics({"x": float(s)}, step=s)
            time.sleep(0.002)
        run.wait()
    with naiad.Run(run_id="r", store=team_store_uri, mode="read-only") as back:
        assert back["x"].fetch_values()["value"].tolist() == [float(s) for s in range(100)]


def _cut_listener(name: str, conninfo: str) -> int:
    """Terminate the LISTEN connection of the store named ``name`` (as a server restart would)."""
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s AND query LIKE 'LISTEN%%'",
            [name],
        ).fetchall()
    return len(rows)


def test_change_waits_survive_the_listen_connection_being_cut(team_store_uri: str) -> None:
    """A cut LISTEN connection counts as a change (nothing is missed), then it listens again."""
    from naiad._storage import Assign, RunSpec, open_store
    from naiad._storage._postgres import parse_uri
    from naiad._types import FieldType

    name = f"naiad-listen-{uuid.uuid4().hex[:12]}"
    store = open_store(f"{team_store_uri}&application_name={name}")
    try:
        run = store.open_run(RunSpec("p", "a", None, None, None, 1.0, "o", "h"))
        token = store.wait_for_changes(None, 10.0)
        assert _cut_listener(name, parse_uri(team_store_uri)[0]) == 1
        token = store.wait_for_changes(token, 30.0)  # woken by the cut, not by the timeout
        for _ in range(60):  # until it listens again: two waits in a row agree
            again = store.wait_for_changes(token, 0.5)
            if again == token:
                break
            token = again
        store.write_batch(run.pk, [Assign("x", FieldType.INTEGER, 1)])
        assert store.wait_for_changes(token, 30.0) != token
    finally:
        store.close()


def test_run_watchers_hear_each_write_even_after_the_listen_connection_is_cut(team_store_uri: str) -> None:
    """The server's live stream watches runs on the store's own listening connection: a write
    names its run, a cut connection is listened again, and a stopped watcher hears nothing."""
    import queue

    from naiad._storage import Assign, RunSpec, open_store
    from naiad._storage._postgres import parse_uri
    from naiad._types import FieldType

    name = f"naiad-watch-{uuid.uuid4().hex[:12]}"
    store = open_store(f"{team_store_uri}&application_name={name}")
    heard: queue.Queue[int] = queue.Queue()
    try:
        run = store.open_run(RunSpec("p", "a", None, None, None, 1.0, "o", "h"))
        other = store.open_run(RunSpec("p", "b", None, None, None, 1.0, "o", "h"))
        stop = store.watch_runs(heard.put)
        store.wait_for_changes(None, 10.0)  # listening now
        store.write_batch(other.pk, [Assign("x", FieldType.INTEGER, 1)])
        assert heard.get(timeout=30) == other.pk
        assert _cut_listener(name, parse_uri(team_store_uri)[0]) == 1
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # written until the new connection hears one
            store.write_batch(run.pk, [Assign("x", FieldType.INTEGER, 2)])
            try:
                if heard.get(timeout=1.0) == run.pk:
                    break
            except queue.Empty:
                continue
        else:
            pytest.fail("no write was heard after the LISTEN connection was cut")
        stop()
        time.sleep(0.5)  # what was already in flight
        while not heard.empty():
            heard.get()
        token = store.wait_for_changes(None, 1.0)
        store.write_batch(run.pk, [Assign("x", FieldType.INTEGER, 3)])
        assert store.wait_for_changes(token, 30.0) != token  # the listener heard it...
        time.sleep(0.2)
        assert heard.empty()  # ...and handed it to nobody
    finally:
        store.close()


def test_change_waits_fall_back_to_polling_when_nobody_can_listen() -> None:
    """No server to listen on: every wait says "changed" after a short pause, so callers poll."""
    from naiad._storage._postgres_listen import ChangeListener

    listener = ChangeListener("postgresql://naiad@127.0.0.1:1/nothing", "naiad", str)
    try:
        first = listener.wait(None, 5.0)
        assert listener.wait(first, 5.0) != first
        assert listener.error  # why, for whoever looks
    finally:
        listener.close()
    assert not listener.alive()  # no thread left behind
