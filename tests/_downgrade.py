"""Take a store back to an earlier schema version, as an older naiad left it: the upgrade
tests' one way to build an old store (each migration's undo, newest first)."""

from __future__ import annotations

import sqlite3
from typing import Any

from naiad._storage._text_chunks import TextChunk, rows_of

_TEXT_CHUNKS = "SELECT field_id, first_step, last_step, n, steps, ts, lens, vals FROM text_chunks"

# migration -> the statements that undo it (after _text_rows_back for 6, _heads_to_chunks for 7)
_SQLITE_UNDO = {
    7: ["ALTER TABLE fields DROP COLUMN head_ts"],
    6: ["DROP TABLE text_chunks"],
    5: ["DROP TABLE summaries", "DROP INDEX fields_created"],
    4: ["ALTER TABLE chunks DROP COLUMN codec"],
    3: ["DROP INDEX fields_true"],
    2: ["DROP TABLE views"],
}
_POSTGRES_UNDO = {
    6: ["DROP TABLE text_chunks"],
    5: ["DROP INDEX fields_created", "ALTER TABLE chunks DROP COLUMN summary, DROP COLUMN coarse"],
    4: ["ALTER TABLE chunks DROP COLUMN codec"],
    3: ["DROP INDEX fields_true"],
    2: ["DROP TABLE views"],
}


def sqlite_back_to(db: Any, version: int) -> None:
    """Undo the embedded store's migrations after ``version`` in the database file ``db``
    (string series go back to rows of ``points``; raw chunk columns are what schema 3 read)."""
    conn = sqlite3.connect(db)
    if version < 7:
        _heads_to_chunks(conn)
    if version < 6:
        for field_id, *chunk in conn.execute(_TEXT_CHUNKS).fetchall():
            rows = rows_of(TextChunk(*chunk))
            conn.executemany("INSERT INTO points VALUES(?,?,?,?)", [(field_id, *r) for r in rows])
    if version < 4:
        _raw_chunks(conn, "?")
    for undo in sorted((m for m in _SQLITE_UNDO if m > version), reverse=True):
        for statement in _SQLITE_UNDO[undo]:
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version={int(version)}")
    conn.commit()
    conn.close()


def postgres_back_to(uri: str, version: int) -> None:
    """Undo the team store's migrations after ``version`` in the store at ``uri``."""
    import psycopg

    from naiad._storage._postgres import _enc, parse_uri

    conninfo, schema = parse_uri(uri)
    with psycopg.connect(conninfo, autocommit=True) as conn, conn.transaction():
        conn.execute(f'SET search_path TO "{schema}"')  # type: ignore[arg-type]
        if version < 6:
            for field_id, *chunk in conn.execute(_TEXT_CHUNKS).fetchall():
                with conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO points(field_id, step, ts, value) VALUES (%s, %s, %s, %s)",
                        [(field_id, s, t, _enc(v)) for s, t, v in rows_of(TextChunk(*chunk))],
                    )
        if version < 4:
            _raw_chunks(conn, "%s")
        for undo in sorted((m for m in _POSTGRES_UNDO if m > version), reverse=True):
            for statement in _POSTGRES_UNDO[undo]:
                conn.execute(statement)  # type: ignore[arg-type]
        conn.execute("UPDATE meta SET value = %s WHERE key = 'schema_version'", [str(version)])


def _heads_to_chunks(conn: sqlite3.Connection) -> None:
    """Move the float series' points kept in their field rows into chunks, as before version 7."""
    from naiad._storage._sqlite_append import head_chunk

    heads = conn.execute("SELECT id, run_id, path FROM fields WHERE head_ts IS NOT NULL").fetchall()
    for field_id, run_pk, path in heads:
        c = head_chunk(conn, run_pk, path, None, None)
        assert c is not None
        conn.execute(
            "INSERT INTO chunks(field_id, first_step, last_step, n, steps, vals, ts) VALUES(?,?,?,?,?,?,?)",
            (field_id, c.first_step, c.last_step, c.count, c.steps, c.values, c.stamps),
        )


def _raw_chunks(conn: Any, mark: str) -> None:
    """Rewrite packed chunk columns raw, as every chunk was before migration 4."""
    from naiad._storage import _codec
    from naiad._storage._records import Chunk

    rows = conn.execute(
        "SELECT field_id, first_step, last_step, n, steps, vals, ts, codec FROM chunks WHERE codec <> 0"
    ).fetchall()
    for field_id, *chunk in rows:
        steps, vals, stamps = _codec.raw_columns(Chunk(*chunk))
        conn.execute(
            f"UPDATE chunks SET steps={mark}, vals={mark}, ts={mark}, codec=0 "
            f"WHERE field_id={mark} AND first_step={mark}",
            [steps, vals, stamps, field_id, chunk[0]],
        )
