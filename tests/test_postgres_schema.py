"""The PostgreSQL schema and the SQL of its primitives, on a real server: heads and counters
move inside single statements, so an overtaken append changes nothing."""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from typing import Any

import pytest

from naiad._storage import _postgres_sql as q
from naiad._storage._postgres_schema import MIGRATIONS, SCHEMA_VERSION
from naiad._storage._summary import summarize
from naiad._types import FieldType

psycopg = pytest.importorskip("psycopg")


@pytest.fixture
def conn(postgres_uri: str) -> Iterator[Any]:
    base, schema = postgres_uri.split("?schema=")
    with psycopg.connect(base, autocommit=True) as c:
        c.execute(f'CREATE SCHEMA "{schema}"')
        c.execute(f'SET search_path TO "{schema}"')
        with c.transaction():
            for version in sorted(MIGRATIONS):
                for statement in MIGRATIONS[version]:
                    c.execute(statement)
        yield c


def _chunk(run: int, steps: list[int]) -> dict[str, Any]:
    vals = array("d", [float(s) for s in steps])
    return {
        "run": run, "path": "loss", "type": int(FieldType.FLOAT_SERIES), "last": vals[-1],
        "first": steps[0], "last_step": steps[-1], "after": None, "n": len(steps), "lo": min(vals),
        "hi": max(vals),
        "small": 1, "small_from": steps[0], "codec": 0, "steps": array("q", steps).tobytes(),
        "vals": vals.tobytes(), "ts": vals.tobytes(), "summary": summarize(array("q", steps), vals, vals),
        "coarse": summarize(array("q", steps), vals, vals, 1024),
    }  # fmt: skip


def test_counters_heads_and_appends_are_single_atomic_statements(conn: Any) -> None:
    conn.execute(q.ENSURE_PROJECT, ["p", "P"])
    ids = [conn.execute(q.NEXT_COUNTER, ["p"]).fetchone()[2] for _ in range(3)]
    assert ids == [1, 2, 3]
    run = conn.execute(q.INSERT_RUN, [1, "a", "P-1", "e", None, None, 0]).fetchone()[0]
    assert conn.execute(q.APPEND_CHUNK, _chunk(run, [0, 1, 2])).rowcount == 1
    assert conn.execute(q.APPEND_CHUNK, _chunk(run, [2, 3])).rowcount == 0  # overtaken: nothing
    assert conn.execute(q.APPEND_CHUNK, _chunk(run, [3, 4])).rowcount == 1
    head = conn.execute("SELECT step, n, vmin, vmax FROM fields WHERE path = 'loss'").fetchone()
    assert head == (4, 5, 0.0, 4.0)
    s = int(FieldType.STRING_SET)
    conn.execute(q.SET_ADD, [run, "tags", s, ["b", "a"]])
    conn.execute(q.SET_ADD, [run, "tags", s, ["c", "a"]])
    conn.execute(q.SET_REMOVE, [run, "tags", s, [], ["b"]])
    assert conn.execute("SELECT strs FROM fields WHERE path = 'tags'").fetchone()[0] == ["a", "c"]
    assert conn.execute(q.ASSIGN, [run, "tags", int(FieldType.STRING), None, None, "x", None]).rowcount == 0


def test_a_schema_1_store_is_migrated_to_saved_views(postgres_uri: str) -> None:
    """A team store created by the first schema gains the views table when opened, once."""
    from naiad._storage import SavedView, open_store

    base, schema = postgres_uri.split("?schema=")
    with psycopg.connect(base, autocommit=True) as c:
        c.execute(f'CREATE SCHEMA "{schema}"')
        c.execute(f'SET search_path TO "{schema}"')
        with c.transaction():
            for statement in MIGRATIONS[1]:
                c.execute(statement)
            c.execute("INSERT INTO meta(key, value) VALUES ('schema_version', '1')")
    store = open_store(postgres_uri)
    try:
        assert store.stats().schema_version == SCHEMA_VERSION == 6
        store.save_view(SavedView("p", "v", "#/runs", 1.0))
        assert store.views("p") == [SavedView("p", "v", "#/runs", 1.0)]
    finally:
        store.close()
