"""The storage primitives every backend implements, checked against the embedded store.

A new backend (PostgreSQL, ...) runs this module unchanged by adding itself to `BACKENDS`.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import naiad
from naiad._storage import Assign, Delete, Floats, Points, RunSpec, RunStore, SetChange, open_store
from naiad._types import FieldType
from naiad.testing import fields, series, temporary_store

BACKENDS: dict[str, Callable[[Path], RunStore]] = {"sqlite": open_store}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunStore]:
    store = BACKENDS[request.param](tmp_path / "store")
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


def test_testing_helpers_read_back_exactly() -> None:
    with temporary_store() as store:
        with naiad.Run(store=store, run_id="t") as run:
            run["params/lr"] = 0.1
            run.log_metrics({"loss": 0.5}, step=1)
        assert series(store, "t", "loss") == [(1.0, 0.5)]
        assert fields(store, "t")["params/lr"] == 0.1
    assert not store.exists()
