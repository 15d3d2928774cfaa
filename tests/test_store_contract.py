"""The storage primitives every backend implements, typed against the `RunStore` Protocol.

It runs against the embedded store, the in-memory store of `naiad.testing`, the team store
(PostgreSQL + S3) and a `naiad server` in front of it (HTTP). A new backend runs this module
unchanged by adding itself to `BACKENDS`.
"""

from __future__ import annotations

import dataclasses
import json
import struct
import threading
import time
from array import array
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from _downgrade import sqlite_back_to

import naiad
from naiad import _sys
from naiad._filter import parse
from naiad._storage import (
    Assign,
    Delete,
    Floats,
    Points,
    RunSelection,
    RunSpec,
    RunStore,
    SavedView,
    SetChange,
    open_store,
)
from naiad._storage._http import HttpStore
from naiad._storage._schema import SCHEMA_VERSION
from naiad._storage._summary import columns
from naiad._types import FieldType
from naiad.testing import MemoryStore, fields, series, temporary_store

# Each backend opens a fresh store from (a directory for it, the request for its fixtures).
BACKENDS: dict[str, Callable[[Path, pytest.FixtureRequest], RunStore]] = {
    "sqlite": lambda root, _request: open_store(root),
    "memory": lambda _root, _request: MemoryStore(),
    # a fresh PostgreSQL schema (and S3 bucket for its files) per test
    "postgres": lambda _root, request: open_store(
        request.getfixturevalue("postgres_uri"), blobs=request.getfixturevalue("s3_blobs")
    ),
    # a naiad server (uvicorn subprocess) in front of a fresh PostgreSQL schema + S3 bucket; the
    # contract is what a batch does, not how fast: on a loaded machine a wide batch can outlast
    # the client's default 30 s, and a batch that times out is spooled (its warnings not returned)
    "http": lambda _root, request: HttpStore(
        request.getfixturevalue("http_server").url,
        token=request.getfixturevalue("http_server").token(),
        timeout_s=600.0,
    ),
}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunStore]:
    store = BACKENDS[request.param](tmp_path / "store", request)
    yield store
    store.close()


def spec(run_id: str, **kw: object) -> RunSpec:
    base = {
        "project": "p",
        "custom_id": run_id,
        "experiment": "e",
        "fork_parent": None,
        "fork_step": None,
        "creation_time": 1.0,
        "owner": "o",
        "hostname": "h",
    }
    base.update(kw)
    return RunSpec(**base)  # type: ignore[arg-type]


def test_open_run_creates_once_then_resumes(backend: RunStore) -> None:
    first = backend.open_run(spec("a"))
    again = backend.open_run(spec("a"))
    assert first.created and not again.created and first.pk == again.pk
    assert (first.sys_id, backend.find_run("p", "a")) == ("P-1", again)
    assert backend.find_run("p", "missing") is None


def test_a_batch_applies_every_op_in_order(backend: RunStore) -> None:
    run = backend.open_run(spec("a"))
    backend.write_batch(
        run.pk,
        [
            Assign("x", int(FieldType.INTEGER), 1),
            Floats("loss", array("q", [0, 1_000_000]), array("d", [0.5, 0.25]), array("d", [1.0, 2.0])),
            Points("notes", int(FieldType.STRING_SERIES), [(0, 1.0, "a"), (5, 2.0, "b")]),
            SetChange("tags", "add", ("t1", "t2")),
            SetChange("tags", "remove", ("t1",)),
            Delete("x"),
            Assign("x", int(FieldType.STRING), "again"),
        ],
    )
    got = {f.path: f for f in backend.fields(run.pk)}
    assert got["x"].type == FieldType.STRING and got["x"].value == "again"
    assert json.loads(got["tags"].value) == ["t2"]
    assert (got["loss"].step, got["loss"].count) == (1_000_000, 2)
    [chunk] = backend.chunks(run.pk, "loss", None)
    assert array("d", chunk.values).tolist() == [0.5, 0.25]
    assert backend.points(run.pk, "notes", 0) == [(0, 1.0, "a")]
    assert backend.last_point_before(run.pk, "loss", 500_000) == (0, 0.5)


def test_a_write_of_another_type_from_another_writer_is_reported_not_applied(backend: RunStore) -> None:
    run = backend.open_run(spec("a"))
    backend.write_batch(run.pk, [Assign("x", int(FieldType.INTEGER), 1)])
    warnings = backend.write_batch(run.pk, [Assign("x", int(FieldType.STRING), "s")])
    assert warnings and "Integer" in warnings[0]
    assert backend.field(run.pk, "x").value == 1  # type: ignore[union-attr]


def test_in_a_wide_batch_only_the_writes_of_another_type_are_dropped_and_reported(backend: RunStore) -> None:
    """A batch of many atoms and many series (written as a few statements) applies every op
    except those that meet a field of another type, and names each of those."""
    run = backend.open_run(spec("a"))
    backend.write_batch(
        run.pk, [Assign("x", int(FieldType.INTEGER), 1), Assign("s", int(FieldType.STRING), "t")]
    )
    one = (array("q", [0]), array("d", [0.5]), array("d", [1.0]))
    warnings = backend.write_batch(
        run.pk,
        [
            *(Assign(f"cfg/k{i}", int(FieldType.FLOAT), i * 0.5) for i in range(25_000)),
            Assign("x", int(FieldType.STRING), "no"),
            *(Floats(f"m/k{i}", *one) for i in range(25_000)),
            Floats("s", *one),
        ],
    )
    assert len(warnings) == 2 and "'x'" in warnings[0] and "'s'" in warnings[1]
    got = {f.path: f for f in backend.fields(run.pk)}
    assert (got["x"].value, got["s"].value) == (1, "t")
    assert got["cfg/k24999"].value == 24999 * 0.5
    assert (got["m/k24999"].count, got["m/k24999"].step) == (1, 0)
    [chunk] = backend.chunks(run.pk, "m/k12345", None)
    assert array("d", chunk.values).tolist() == [0.5]


def test_fork_parent_must_exist_unless_allowed(backend: RunStore) -> None:
    with pytest.raises(naiad.ForkParentNotFound):
        backend.open_run(spec("child", fork_parent="nope", fork_step=3))
    orphan = backend.open_run(spec("orphan", fork_parent="nope", fork_step=3, allow_missing_parent=True))
    assert orphan.parent_pk is None


def test_blobs_are_content_addressed(backend: RunStore) -> None:
    sha, size = backend.blobs.put(b"hello")
    assert (size, backend.blobs.put(b"hello")[0]) == (5, sha)
    with backend.blobs.open(sha) as f:
        assert f.read() == b"hello"
    with pytest.raises(naiad.StorageError):
        backend.blobs.open("../../etc/passwd")


def test_selection_filters_sorts_limits_and_leaves_out_the_trash(backend: RunStore) -> None:
    for i, run_id in enumerate(["a", "b", "c", "d"]):
        run = backend.open_run(spec(run_id, experiment="e" if run_id != "d" else "other"))
        backend.write_batch(
            run.pk,
            [
                Assign("lr", int(FieldType.FLOAT), 0.1 * (i + 1)),
                Assign("name", int(FieldType.STRING), f"model-{run_id}"),
                SetChange("sys/tags", "add", ("big",) if i % 2 else ("small",)),
                Floats(
                    "loss", array("q", [0, 1_000_000]), array("d", [1.0, 0.5 - i / 10]), array("d", [1, 2])
                ),
            ],
        )
    trashed = backend.find_run("p", "b")
    assert trashed is not None
    backend.write_batch(trashed.pk, [Assign("sys/trashed", int(FieldType.BOOLEAN), True)])

    def labels(**kw: object) -> list[str]:
        return [label for _, label in backend.select_runs(RunSelection(project="p", **kw), 0.0)]  # type: ignore[arg-type]

    assert labels() == ["a", "c", "d"]
    assert labels(trashed=None) == ["a", "b", "c", "d"]
    assert labels(trashed=True) == ["b"]
    assert labels(filter=parse("lr > 0.15 and last(loss) < 0.35")) == ["c", "d"]
    assert labels(filter=parse('sys/tags contains "big"'), trashed=None) == ["b", "d"]
    assert labels(filter=parse('name ~ "-[ad]$" or not exists(lr)')) == ["a", "d"]
    assert labels(filter=parse("sys/trashed")) == ["b"]
    assert labels(sort_by="lr", ascending=False, limit=2) == ["d", "c"]
    assert labels(names_regex="^[cd]") == ["c", "d"]
    assert labels(heads=True) == ["e", "other"] or labels(heads=True) == ["other", "e"]
    assert labels(heads=True, names=("e",)) == ["e"]
    counts = backend.count_by_experiment(RunSelection(project="p", experiments=("e",)), 0.0)
    assert counts == {"e": 2}
    # a table's total: what the selection holds, its limit aside
    for kw in ({}, {"trashed": None}, {"filter": parse("lr > 0.15")}, {"heads": True}, {"limit": 1}):
        sel = RunSelection(project="p", **kw)  # type: ignore[arg-type]
        everything = backend.select_runs(dataclasses.replace(sel, limit=None), 0.0)
        assert backend.count_runs(sel, 0.0) == len(everything)


def test_series_reads_take_a_step_range_and_a_tail(backend: RunStore) -> None:
    run = backend.open_run(spec("a"))
    rows = [(s * 1_000_000, float(s), f"n{s}") for s in range(10)]
    backend.write_batch(run.pk, [Points("notes", int(FieldType.STRING_SERIES), rows)])
    assert [r[2] for r in backend.points(run.pk, "notes", 6_000_000, min_step=4_000_000)] == [
        "n4",
        "n5",
        "n6",
    ]
    assert [r[2] for r in backend.points(run.pk, "notes", None, tail=2)] == ["n8", "n9"]
    assert backend.find_run_by_sys_id("p", run.sys_id) == backend.find_run("p", "a")


def test_field_rows_and_series_extremes_of_many_runs(backend: RunStore) -> None:
    """What a runs table reads in two calls: every field of a page of runs, then min/max."""
    a, b = backend.open_run(spec("a")), backend.open_run(spec("b"))
    nan = float("nan")
    backend.write_batch(
        a.pk,
        [
            Assign("lr", int(FieldType.FLOAT), 0.1),
            Floats("loss", array("q", [0, 1, 2]), array("d", [0.5, nan, -2.0]), array("d", [1.0] * 3)),
        ],
    )
    backend.write_batch(b.pk, [Floats("loss", array("q", [0]), array("d", [nan]), array("d", [1.0]))])
    rows = {(pk, path) for pk, path, _, _ in backend.field_rows([a.pk, b.pk]) if not path.startswith("sys/")}
    assert rows == {(a.pk, "lr"), (a.pk, "loss"), (b.pk, "loss")}
    extremes = {(pk, path): (lo, hi) for pk, path, lo, hi in backend.series_extremes([a.pk, b.pk])}
    assert extremes == {(a.pk, "loss"): (-2.0, 0.5), (b.pk, "loss"): (None, None)}  # NaN is no extreme
    assert backend.series_extremes([a.pk]) == [(a.pk, "loss", -2.0, 0.5)]


def test_sessions_decide_the_state(backend: RunStore) -> None:
    run = backend.open_run(spec("a"))
    session = backend.open_session(run.pk, "h", 1, 100.0)
    assert backend.run_state(run.pk, 101.0) == ("active", 100.0)
    assert backend.active_runs([run.pk], 101.0) == {run.pk}
    assert backend.run_state(run.pk, 200.0)[0] == "inactive"  # no heartbeat for 100 s
    backend.ping(session, 150.0, closing=True)
    assert backend.run_state(run.pk, 151.0) == ("inactive", 150.0)


def test_saved_views_are_kept_per_project_replaced_by_name_and_deleted(backend: RunStore) -> None:
    odd = "caf\u00e9 \x00 \U0001f680"  # NUL and astral characters survive every backend
    backend.save_view(SavedView("p", "best", "#/runs?sort=loss", 10.0))
    backend.save_view(SavedView("p", odd, "#/charts?run=a", 11.0))
    backend.save_view(SavedView("q", "best", "#/runs", 12.0))  # same name, another project
    backend.save_view(SavedView("p", "best", "#/runs?sort=acc", 13.0))  # replaces p's "best"
    assert backend.views("p") == [
        SavedView("p", "best", "#/runs?sort=acc", 13.0),
        SavedView("p", odd, "#/charts?run=a", 11.0),
    ]
    assert [(v.project, v.name) for v in backend.views()] == [("p", "best"), ("p", odd), ("q", "best")]
    assert backend.delete_view("p", "best") and not backend.delete_view("p", "best")
    assert [v.name for v in backend.views("p")] == [odd] and backend.views("nobody") == []
    assert backend.views("q") == [SavedView("q", "best", "#/runs", 12.0)]


def test_wait_for_changes_wakes_on_a_write_and_otherwise_times_out(backend: RunStore) -> None:
    run = backend.open_run(spec("a"))
    token = backend.wait_for_changes(None, 5.0)  # at once: the current token
    assert backend.wait_for_changes(token, 0.2) == token  # nothing written: the timeout ends it
    backend.write_batch(run.pk, [Assign("x", FieldType.INTEGER, 1)])
    moved = backend.wait_for_changes(token, 30.0)  # written before the wait: returns at once
    assert moved != token
    woke: list[str] = []
    waiter = threading.Thread(target=lambda: woke.append(backend.wait_for_changes(moved, 60.0)))
    waiter.start()
    time.sleep(0.3)  # let the waiter block first; the test holds whichever order happens
    writer = threading.Thread(target=backend.write_batch, args=(run.pk, [Assign("x", FieldType.INTEGER, 2)]))
    writer.start()
    writer.join()
    waiter.join(30.0)
    assert not waiter.is_alive() and woke[0] != moved  # woken by the write, long before 60 s
    foreign = backend.wait_for_changes("not-a-token-of-this-store", 30.0)
    assert foreign == backend.wait_for_changes(None, 0.0)  # an unknown token counts as changed


def test_a_schema_1_store_brings_its_views_json_along_once(tmp_path: Path) -> None:
    """A store last opened by a naiad that kept views in ui/views.json keeps its views."""

    root = tmp_path / "store"
    open_store(root).close()
    sqlite_back_to(root / "naiad.db", 1)
    (root / "ui").mkdir()
    legacy = {
        "p": {"best": {"url": "#/runs?sort=loss", "saved": 5.0}, "broken": "not a view"},
        "q": {"all": {"url": "#/runs", "saved": 6.0}},
    }
    (root / "ui" / "views.json").write_text(json.dumps(legacy), "utf-8")
    store = open_store(root)
    assert store.stats().schema_version == SCHEMA_VERSION
    assert store.views() == [
        SavedView("p", "best", "#/runs?sort=loss", 5.0),
        SavedView("q", "all", "#/runs", 6.0),
    ]
    store.delete_view("p", "best")
    store.close()
    again = open_store(root)  # migrated once: the file is not read again
    assert [v.name for v in again.views()] == ["all"]
    again.close()


def test_testing_helpers_read_back_exactly() -> None:
    with temporary_store() as store:
        with naiad.Run(store=store, run_id="t") as run:
            run["params/lr"] = 0.1
            run.log_metrics({"loss": 0.5}, step=1)
        assert series(store, "t", "loss") == [(1.0, 0.5)]
        assert fields(store, "t")["params/lr"] == 0.1
    assert not store.exists()


def test_a_long_float_series_reads_page_by_page_exactly_along_a_fork(backend: RunStore) -> None:
    """A series stored as many chunks (more than a read holds at once), forked in the middle
    of one, reads back every step, value (NaN payload and -0.0 included) and timestamp."""
    from naiad._read import float_series, lineage

    root = backend.open_run(spec("root"))
    per, batches = 1500, 40  # chunks of 1,500 points are never merged, so there are 40 of them
    odd = struct.unpack("<d", struct.pack("<Q", 0x7FF8_0000_0000_BEEF))[0]
    expected_vals: list[float] = []
    for b in range(batches):
        steps = array("q", [(b * per + i) * 1_000_000 for i in range(per)])
        vals = array("d", [odd if i == 7 else -0.0 if i == 8 else b * per + i + 0.25 for i in range(per)])
        expected_vals += vals.tolist()
        backend.write_batch(root.pk, [Floats("m", steps, vals, array("d", [1.5e9 + s for s in steps]))])
    pages = backend.chunks(root.pk, "m", None, limit=16)
    assert pages == backend.chunks(root.pk, "m", None)[:16]  # the first 16, whatever the layout
    fork_at = 25 * per + 700  # inside the 26th chunk
    child = backend.open_run(spec("child", fork_parent="root", fork_step=fork_at))
    backend.write_batch(
        child.pk, [Floats("m", array("q", [(fork_at + 1) * 1_000_000]), array("d", [9.0]), array("d", [2e9]))]
    )
    cols = float_series(backend, lineage(backend, backend.get_run(child.pk)), "m")
    assert cols["step"].tolist() == [s * 1_000_000 for s in range(fork_at + 2)]
    got = cols["value"].tolist()
    assert [struct.pack("<d", v) for v in got[:-1]] == [
        struct.pack("<d", v) for v in expected_vals[: fork_at + 1]
    ]
    assert got[-1] == 9.0 and cols["source"].tolist() == [0] * (fork_at + 1) + [1]
    assert cols["timestamp"][:3].tolist() == [1.5e9, 1.5e9 + 1e6, 1.5e9 + 2e6]
    window = float_series(backend, [(backend.get_run(root.pk), None)], "m", (30 * per - 2, 30 * per + 1))
    assert window["step"].tolist() == [s * 1_000_000 for s in range(30 * per - 2, 30 * per + 2)]


_ODD_TEXT = ["", "é日本語", "nul\x00inside", "\x01starts with the team store's escape", "😀🚀", "a\r\nb\tc"]


def test_a_long_string_series_reads_back_exactly_by_range_tail_and_along_a_fork(backend: RunStore) -> None:
    """Lines logged one at a time, in small batches and in batches larger than a chunk (very
    long lines among them) read back exactly: whole, by step range, by tail, along a fork."""
    from naiad._read import lineage, string_series
    from naiad._storage._text_chunks import rows_in

    root = backend.open_run(spec("root"))
    expected: list[tuple[int, float, str]] = []

    def log(run_pk: int, values: list[str]) -> None:
        start = len(expected)
        rows = [((start + i) * 1_000_000, 1.7e9 + start + i, v) for i, v in enumerate(values)]
        expected.extend(rows)
        backend.write_batch(run_pk, [Points("logs/out", int(FieldType.STRING_SERIES), rows)])

    for i in range(40):  # one line per batch: the trailing chunk grows, small ones merge
        log(root.pk, [_ODD_TEXT[i % len(_ODD_TEXT)] + str(i)])
    log(root.pk, [f"line {i}" for i in range(9000)])  # more points than one chunk holds
    log(root.pk, ["x" * 300_000, "y" * 700_000, "z" * 400_000, "short"])  # more text than one chunk
    for i in range(30):
        log(root.pk, [f"tail {i}", _ODD_TEXT[i % len(_ODD_TEXT)]])
    n = len(expected)
    assert backend.points(root.pk, "logs/out", None) == expected
    assert backend.points(root.pk, "logs/out", None, tail=5) == expected[-5:]
    assert backend.points(root.pk, "logs/out", 9100 * 1_000_000, min_step=20 * 1_000_000) == expected[20:9101]
    chunks = backend.text_chunks(root.pk, "logs/out", None)
    assert sum(c.count for c in chunks) == n and [c.first_step for c in chunks] == sorted(
        c.first_step for c in chunks
    )
    assert backend.text_chunks(root.pk, "logs/out", None, limit=2) == chunks[:2]
    tail = backend.text_chunks(root.pk, "logs/out", None, tail=3)
    assert rows_in(tail, None, None, 3) == expected[-3:] and len(tail) <= 2  # a chunk or two
    assert backend.text_chunks(root.pk, "missing", None) == []
    found = backend.last_point_before(root.pk, "logs/out", 45 * 1_000_000)
    assert found == (45 * 1_000_000, expected[45][2])
    fork_at = 9020
    child = backend.open_run(spec("child", fork_parent="root", fork_step=fork_at))
    backend.write_batch(
        child.pk,
        [Points("logs/out", int(FieldType.STRING_SERIES), [((fork_at + 1) * 1_000_000, 2e9, "child")])],
    )
    chain = lineage(backend, backend.get_run(child.pk))
    cols = string_series(backend, chain, "logs/out")
    assert cols["value"].tolist() == [v for _, _, v in expected[: fork_at + 1]] + ["child"]
    assert cols["step"].tolist() == [s for s, _, _ in expected[: fork_at + 1]] + [(fork_at + 1) * 1_000_000]
    assert cols["timestamp"][-2:].tolist() == [expected[fork_at][1], 2e9]
    assert cols["source"].tolist() == [0] * (fork_at + 1) + [1]
    last = string_series(backend, chain, "logs/out", tail=3)
    assert last["value"].tolist() == [expected[fork_at - 1][2], expected[fork_at][2], "child"]
    window = string_series(backend, chain, "logs/out", (9005.0, 9010.0))
    assert window["value"].tolist() == [v for _, _, v in expected[9005:9011]]


def test_every_backend_summarizes_its_chunks_with_stored_points(backend: RunStore) -> None:
    """chunk_summaries (a seam method) covers the chunks of the range, with their counts, and
    its picks are stored points including each chunk's first, last, min and max."""
    rec = backend.open_run(spec("a"))
    for lo in range(0, 3000, 1000):
        steps = np.arange(lo, lo + 1000)
        vals = np.sin(steps / 37.0) + (steps == 1500) * 5.0
        backend.write_batch(
            rec.pk,
            [
                Floats(
                    "m",
                    array("q", steps.tolist()),
                    array("d", vals.tolist()),
                    array("d", (steps * 1.0).tolist()),
                )
            ],
        )
    sums = backend.chunk_summaries(rec.pk, "m", None)
    chunks = backend.chunks(rec.pk, "m", None)
    assert sum(c.count for c in sums) == 3000
    assert [(c.first_step, c.last_step) for c in sums] == [(c.first_step, c.last_step) for c in chunks]
    from naiad._storage import _codec

    decoded = [_codec.columns(c) for c in chunks]
    raw_s = np.concatenate([s for s, _, _ in decoded])
    raw_v = np.concatenate([v for _, v, _ in decoded])
    for c in sums:
        assert c.picks is not None
        s, v, _ = columns(c.picks)
        assert s.size < c.count and np.array_equal(raw_v[np.searchsorted(raw_s, s)], v)
        inside = (raw_s >= c.first_step) & (raw_s <= c.last_step)
        assert {c.first_step, c.last_step} <= set(s.tolist())
        assert v.max() == raw_v[inside].max() and v.min() == raw_v[inside].min()
    assert [c.first_step for c in backend.chunk_summaries(rec.pk, "m", 1200, min_step=1100)] == [
        c.first_step for c in backend.chunks(rec.pk, "m", 1200, min_step=1100)
    ]


def test_runs_in_creation_order_follow_their_creation_times_not_their_arrival(backend: RunStore) -> None:
    """The table's default order is creation time (a backdated or imported run sorts by its
    own time), both ways, with a page limit."""
    for run_id, created in (("a", 30.0), ("b", 10.0), ("c", 20.0), ("d", 40.0)):
        backend.open_run(spec(run_id, creation_time=created, experiment=None))

    def order(ascending: bool, limit: int | None) -> list[str]:
        sel = RunSelection("p", sort_by=_sys.CREATION_TIME, ascending=ascending, limit=limit)
        return [label for _, label in backend.select_runs(sel, time.time())]

    assert order(True, None) == ["b", "c", "a", "d"]
    assert order(True, 2) == ["b", "c"]
    assert order(False, 3) == ["d", "a", "c"]


def test_a_run_without_a_creation_time_is_listed_last_in_creation_order(tmp_path: Path) -> None:
    """A run whose creation time row is gone (by hand: naiad never writes one so) still
    appears in the creation-ordered listing, after the others, with or without a limit."""
    import sqlite3

    store = open_store(tmp_path / "store")
    for run_id, created in (("a", 3.0), ("b", 1.0), ("c", 2.0)):
        store.open_run(spec(run_id, creation_time=created, experiment=None))
    store.close()
    conn = sqlite3.connect(tmp_path / "store" / "naiad.db")
    with conn:
        conn.execute(
            "DELETE FROM fields WHERE path = ? AND run_id = (SELECT id FROM runs WHERE custom_id = 'b')",
            (_sys.CREATION_TIME,),
        )
    conn.close()
    store = open_store(tmp_path / "store")
    sel = RunSelection("p", sort_by=_sys.CREATION_TIME)
    assert [label for _, label in store.select_runs(sel, time.time())] == ["c", "a", "b"]
    sel = dataclasses.replace(sel, limit=2)
    assert [label for _, label in store.select_runs(sel, time.time())] == ["c", "a"]
    sel = dataclasses.replace(sel, limit=3, ascending=False)
    assert [label for _, label in store.select_runs(sel, time.time())] == ["a", "c", "b"]
    store.close()
