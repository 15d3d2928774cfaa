"""String series stored in packed chunks: exact values, a bounded layout, and stores made
before chunks (schema 3, a row per point) upgraded on open with every line kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from _downgrade import postgres_back_to, sqlite_back_to
from hypothesis import given
from hypothesis import strategies as st

import naiad
from naiad._storage import open_store
from naiad._storage._text_chunks import pack_rows, rows_of, values_of
from naiad._ui import _data

LINES = ["", "é日本語", "nul\x00inside", "\x01escape mark first", "😀", "a\r\nb", "x" * 60_000]


@given(st.lists(st.text(), min_size=1, max_size=60))
def test_any_text_packs_and_unpacks_exactly(values: list[str]) -> None:
    rows = [(i * 1_000_000, 1.5e9 + i, v) for i, v in enumerate(values)]
    chunks = pack_rows(rows)
    assert [r for c in chunks for r in rows_of(c)] == rows
    assert [v for c in chunks for v in values_of(c)] == values


def _log_lines(store: Path | str) -> tuple[list[str], list[str]]:
    """A root run with 2,000 lines (one per batch for the first 300) and a fork at step 1,500."""
    root_lines = [LINES[i % len(LINES)] + f" {i}" for i in range(2000)]
    with naiad.Run(run_id="root", experiment_name="e", store=store) as run:
        for i, line in enumerate(root_lines[:300]):
            run["logs/out"].append(line, step=i)
            run.wait()  # one line per write: the slow-logging layout
        run["logs/out"].extend(root_lines[300:], steps=list(range(300, 2000)))
        run["files/hist"].append(naiad.Histogram(bin_edges=[0.0, 1.0], counts=[3]), step=0)
    with naiad.Run(run_id="child", store=store, fork_run_id="root", fork_step=1500) as child:
        child["logs/out"].append("child line", step=1501)
    return root_lines, [*root_lines[:1501], "child line"]


def _read(store: Path | str) -> tuple[list[Any], list[Any], list[str]]:
    with naiad.Run(run_id="child", store=store, mode="read-only") as child:
        frame = child["logs/out"].fetch_values()
        hist = child["files/hist"].fetch_values()
    rec_store = open_store(store, create=False)
    try:
        tail = _data.string_series(rec_store, "default", "child", "logs/out", tail=3)["lines"]
    finally:
        rec_store.close()
    return (
        frame["value"].tolist(),
        frame["run_id"].tolist(),
        [line["text"] for line in tail] + [str(len(hist))],
    )


@pytest.mark.backends("sqlite", "postgres")
def test_a_line_per_batch_series_stays_a_few_rows_and_reads_back_exactly(store: Path | str) -> None:
    """300 one-line writes and a 1,700-line batch: a few dozen chunks, no point rows, and the
    fork-stitched read and the console's tail see every line as it was logged."""
    _, expected = _log_lines(store)
    values, owners, tail = _read(store)
    assert values == expected
    assert owners == ["root"] * 1501 + ["child"]
    assert tail == [expected[-3], expected[-2], "child line", "1"]
    handle = open_store(store, create=False)
    try:
        root = handle.find_run("default", "root")
        assert root is not None
        chunks = handle.text_chunks(root.pk, "logs/out", None)
        stats = handle.stats()
    finally:
        handle.close()
    # about 17 MB of text (a 60,000-character line in 7): a chunk per MiB, not a row per line
    assert len(chunks) <= 40 and max(c.count for c in chunks) <= 4096
    assert sum(c.count for c in chunks) == 2000 and stats.points >= 2000 + 1 + 1


def _downgrade_sqlite(store: Path) -> None:
    """Make ``store`` what a schema-3 naiad left: string series as rows of ``points``."""
    sqlite_back_to(store / "naiad.db", 3)


def test_a_schema_3_store_moves_its_string_series_into_chunks_on_open(tmp_path: Path) -> None:
    store = tmp_path / "store"
    _log_lines(store)
    before = _read(store)
    _downgrade_sqlite(store)
    conn = sqlite3.connect(store / "naiad.db")
    assert conn.execute("SELECT count(*) FROM points").fetchone()[0] == 2000 + 1 + 1
    conn.close()
    assert _read(store) == before  # opened, migrated and read back line for line
    conn = sqlite3.connect(store / "naiad.db")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    left = conn.execute("SELECT count(*) FROM points").fetchone()[0]  # the histogram's point
    moved = conn.execute("SELECT sum(n) FROM text_chunks").fetchone()[0]
    conn.close()
    assert (version, left, moved) == (open_store(store).schema_version(), 1, 2001)


def test_a_schema_3_team_store_moves_its_string_series_into_chunks_on_open(team_store_uri: str) -> None:
    psycopg = pytest.importorskip("psycopg")
    from naiad._storage._postgres import parse_uri

    _log_lines(team_store_uri)
    before = _read(team_store_uri)
    conninfo, schema = parse_uri(team_store_uri)
    postgres_back_to(team_store_uri, 3)
    assert _read(team_store_uri) == before
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        left = conn.execute("SELECT count(*) FROM points").fetchone()
        moved = conn.execute("SELECT sum(n) FROM text_chunks").fetchone()
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    assert (left, moved, version) == ((1,), (2001,), ("6",))
