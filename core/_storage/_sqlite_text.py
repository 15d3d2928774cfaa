"""The embedded store's string series: packed chunks in ``text_chunks`` (see :mod:`._text_chunks`).

Chunk policy, as for float series (:mod:`._sqlite_append`): a batch extends the series'
trailing chunk in place while that chunk is small (fewer than ``OPEN_CHUNK_MAX`` points and
``OPEN_CHARS`` bytes of text), so slow logging rewrites a small row per batch; otherwise its
points go into new chunks. Once ``COMPACT_EVERY`` small sealed chunks trail the series they
are merged (within the chunk size caps) by concatenating their columns, so a long series
that was logged a line at a time still reads as a few hundred rows.

Every read is bounded by the ``(field_id, first_step)`` primary key: a step range starts at
the chunk holding its first step, and a tail reads chunks newest first until it has enough.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from .._types import FieldType
from ._sqlite_append import COMPACT_EVERY, COMPACT_SMALL, OPEN_CHUNK_MAX
from ._text_chunks import (
    CHUNK_CHARS,
    CHUNK_POINTS,
    OPEN_CHARS,
    TextChunk,
    merge,
    pack_rows,
    tail_chunks,
)

_COLUMNS = "first_step, last_step, n, steps, ts, lens, vals"
_INSERT = f"INSERT INTO text_chunks(field_id, {_COLUMNS}) VALUES(?,?,?,?,?,?,?,?)"
_UPDATE = (
    "UPDATE text_chunks SET last_step=?, n=?, steps=?, ts=?, lens=?, vals=? WHERE field_id=? AND first_step=?"
)
# length() of a blob is read from the record header: the trailing chunk's size costs no blob read
_TRAILING = (
    "SELECT first_step, n, length(vals) FROM text_chunks WHERE field_id=? ORDER BY first_step DESC LIMIT ?"
)
# a range starts at the chunk that holds its first step: an index seek, never a scan from step 0
_RANGE = (
    f"SELECT {_COLUMNS} FROM text_chunks WHERE field_id=? "
    "AND (? IS NULL OR first_step <= ?) AND (? IS NULL OR (last_step >= ? AND first_step >= "
    "coalesce((SELECT max(first_step) FROM text_chunks WHERE field_id=? AND first_step <= ?), ?)))"
)


def _row(chunk: TextChunk) -> tuple[Any, ...]:
    c = chunk
    return (c.first_step, c.last_step, c.count, c.steps, c.stamps, c.lengths, c.text)


def append(conn: sqlite3.Connection, field_id: int, rows: Sequence[tuple[int, float, Any]]) -> None:
    """Append ``rows`` (steps after the series' last) to the field's chunks."""
    chunks = pack_rows(rows)
    last = conn.execute(_TRAILING, (field_id, 1)).fetchone()
    if (
        last is not None
        and last[1] + chunks[0].count <= OPEN_CHUNK_MAX
        and last[2] + len(chunks[0].text) <= OPEN_CHARS
    ):
        (open_chunk,) = read(conn, field_id, None, last[0], limit=1)
        grown = merge([open_chunk, chunks.pop(0)])
        conn.execute(_UPDATE, (*_row(grown)[1:], field_id, grown.first_step))
    if not chunks:
        return
    conn.executemany(_INSERT, [(field_id, *_row(c)) for c in chunks])
    _compact(conn, field_id)


def _compact(conn: sqlite3.Connection, field_id: int) -> None:
    """Merge the small sealed chunks before the trailing one once ``COMPACT_EVERY`` gathered."""
    trailing = conn.execute(_TRAILING, (field_id, COMPACT_EVERY + 1)).fetchall()[1:]
    small = []
    for first, n, size in trailing:
        if n >= COMPACT_SMALL:
            break
        small.append((first, n, size))
    if len(small) < COMPACT_EVERY:
        return
    small.reverse()
    groups: list[list[tuple[int, int, int]]] = [[]]
    for entry in small:  # consecutive groups within the size caps
        group = groups[-1]
        if group and (
            sum(e[1] for e in group) + entry[1] > CHUNK_POINTS
            or sum(e[2] for e in group) + entry[2] > CHUNK_CHARS
        ):
            groups.append(group := [])
        group.append(entry)
    for group in groups:
        if len(group) < 2:
            continue
        parts = read(conn, field_id, group[-1][0], group[0][0])
        conn.execute(
            "DELETE FROM text_chunks WHERE field_id=? AND first_step BETWEEN ? AND ?",
            (field_id, group[0][0], group[-1][0]),
        )
        conn.execute(_INSERT, (field_id, *_row(merge(parts))))


def read(
    conn: sqlite3.Connection,
    field_id: int,
    max_step: int | None,
    min_step: int | None,
    *,
    limit: int | None = None,
    tail: int | None = None,
) -> list[TextChunk]:
    """The field's chunks that overlap [min_step, max_step], in step order: the first
    ``limit`` of them, or the fewest last ones that hold ``tail`` points of the range."""
    params = (field_id, max_step, max_step, min_step, min_step, field_id, min_step, min_step)
    if tail is None:
        sql = f"{_RANGE} ORDER BY first_step LIMIT ?"
        return [TextChunk(*r) for r in conn.execute(sql, (*params, -1 if limit is None else limit))]

    def page(before: int | None, n: int) -> list[TextChunk]:
        sql = f"{_RANGE} AND (? IS NULL OR first_step < ?) ORDER BY first_step DESC LIMIT ?"
        return [TextChunk(*r) for r in conn.execute(sql, (*params, before, before, n))]

    return tail_chunks(page, min_step, max_step, tail)


def string_series_id(conn: sqlite3.Connection, run_pk: int, path: str) -> int | None:
    """The field id of ``path`` when it is a string series (its points live in chunks)."""
    row = conn.execute("SELECT id, type FROM fields WHERE run_id=? AND path=?", (run_pk, path)).fetchone()
    return int(row[0]) if row is not None and row[1] == FieldType.STRING_SERIES else None


def migrate(conn: sqlite3.Connection) -> None:
    """Move every string series' ``points`` rows into chunks (inside the migration's transaction)."""
    fields = conn.execute(
        "SELECT id FROM fields WHERE type=? AND id IN (SELECT field_id FROM points)",
        (int(FieldType.STRING_SERIES),),
    ).fetchall()
    for (field_id,) in fields:
        rows = conn.execute(
            "SELECT step, ts, value FROM points WHERE field_id=? ORDER BY step", (field_id,)
        ).fetchall()
        chunks = pack_rows([(s, t, v if isinstance(v, str) else str(v)) for s, t, v in rows])
        conn.executemany(_INSERT, [(field_id, *_row(c)) for c in chunks])
        conn.execute("DELETE FROM points WHERE field_id=?", (field_id,))
