"""The team store's string series: packed chunks in ``text_chunks`` (see :mod:`._text_chunks`).

As for float chunks (:mod:`._postgres_sql`), one statement appends a batch's chunks and moves
the field's head, and changes nothing when the field has another type or a later step (the
store then explains). The ``small``/``small_from`` counters of the field row count the small
chunks trailing the series; once there are ``COMPACT_EVERY`` they are merged (when the
merged chunk stays within the size caps) by ``string_agg`` of their columns, and a merged
chunk that is still small takes part in the next merge, so a series logged a line at a time
ends up in chunks of about ``COMPACT_SMALL`` lines. The chunk
columns are ``bytea`` stored ``EXTERNAL``: uncompressed, read back at memory speed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .._types import FieldType
from ._postgres_sql import COMPACT_EVERY, COMPACT_SMALL
from ._text_chunks import CHUNK_CHARS, CHUNK_POINTS, TextChunk, pack_rows, tail_chunks

MIGRATION = (
    """CREATE TABLE text_chunks(
        field_id bigint NOT NULL REFERENCES fields(id) ON DELETE CASCADE,
        first_step bigint NOT NULL,
        last_step bigint NOT NULL,
        n integer NOT NULL,
        steps bytea NOT NULL,
        ts bytea NOT NULL,
        lens bytea NOT NULL,
        vals bytea NOT NULL,
        PRIMARY KEY(field_id, first_step)
    )""",
    "ALTER TABLE text_chunks ALTER COLUMN steps SET STORAGE EXTERNAL, "
    "ALTER COLUMN ts SET STORAGE EXTERNAL, ALTER COLUMN lens SET STORAGE EXTERNAL, "
    "ALTER COLUMN vals SET STORAGE EXTERNAL",
)

_INSERT = """
INSERT INTO text_chunks(field_id, first_step, last_step, n, steps, ts, lens, vals)
SELECT {field}, u.* FROM {source} unnest(%(firsts)s::bigint[], %(lasts)s::bigint[], %(ns)s::int[],
    %(steps)s::bytea[], %(ts)s::bytea[], %(lens)s::bytea[], %(vals)s::bytea[]) AS u
"""
APPEND = """
WITH f AS (
    INSERT INTO fields AS f0 (run_id, path, type, txt, step, n, small, small_from)
    VALUES (%(run)s, %(path)s, %(type)s, %(last)s, %(last_step)s, %(n)s, %(small)s, %(small_from)s)
    ON CONFLICT (run_id, path) DO UPDATE SET
        txt = excluded.txt, step = excluded.step, n = f0.n + excluded.n,
        small = CASE WHEN excluded.small = 1 THEN f0.small + 1 ELSE 0 END,
        small_from = CASE WHEN excluded.small = 1 THEN coalesce(f0.small_from, excluded.small_from) END
    WHERE f0.type = excluded.type AND (f0.step IS NULL OR f0.step < %(first)s)
    RETURNING id
)""" + _INSERT.format(field="f.id", source="f,")
# The merge keeps to the chunk size caps (HAVING); the delete drops only the chunks that the
# merged chunk now covers, so a merge skipped for size loses nothing.
COMPACT_MERGE = f"""
UPDATE text_chunks c SET last_step = a.last_step, n = a.n, steps = a.steps, ts = a.ts,
    lens = a.lens, vals = a.vals
FROM (
    SELECT ch.field_id, f.small_from AS first, max(ch.last_step) AS last_step, sum(ch.n)::int AS n,
           string_agg(ch.steps, ''::bytea ORDER BY ch.first_step) AS steps,
           string_agg(ch.ts, ''::bytea ORDER BY ch.first_step) AS ts,
           string_agg(ch.lens, ''::bytea ORDER BY ch.first_step) AS lens,
           string_agg(ch.vals, ''::bytea ORDER BY ch.first_step) AS vals
    FROM fields f JOIN text_chunks ch ON ch.field_id = f.id AND ch.first_step >= f.small_from
    WHERE f.run_id = %(run)s AND f.path = %(path)s AND f.small >= %(every)s
    GROUP BY ch.field_id, f.small_from
    HAVING sum(ch.n) <= {CHUNK_POINTS} AND sum(length(ch.vals)) <= {CHUNK_CHARS}
) a
WHERE c.field_id = a.field_id AND c.first_step = a.first
"""
COMPACT_DELETE = """
DELETE FROM text_chunks c USING fields f, text_chunks h
WHERE f.run_id = %(run)s AND f.path = %(path)s AND f.small >= %(every)s
  AND h.field_id = f.id AND h.first_step = f.small_from
  AND c.field_id = f.id AND c.first_step > h.first_step AND c.first_step <= h.last_step
"""
# After a merge that reached the series' last point, a merged chunk that is still small stays
# the start of the small run (so the next merge takes it in and chunks keep growing, as the
# embedded store's open chunk does). A merge skipped for size leaves that chunk behind: the
# run then starts at the next chunk, and counts the small chunks it already has.
_AFTER_HEAD = "(SELECT {agg} FROM text_chunks x WHERE x.field_id = f.id AND x.first_step > h.first_step)"
COMPACT_RESET = f"""
UPDATE fields f SET
    small = CASE WHEN h.last_step = f.step THEN (CASE WHEN h.n < {COMPACT_SMALL} THEN 1 ELSE 0 END)
        ELSE {_AFTER_HEAD.format(agg="count(*)")} END,
    small_from = CASE WHEN h.last_step = f.step THEN (CASE WHEN h.n < {COMPACT_SMALL} THEN h.first_step END)
        ELSE {_AFTER_HEAD.format(agg="min(x.first_step)")} END
FROM text_chunks h
WHERE f.run_id = %(run)s AND f.path = %(path)s AND f.small >= %(every)s
  AND h.field_id = f.id AND h.first_step = f.small_from
"""
# a range starts at the chunk that holds its first step: an index seek, never a scan from step 0
_RANGE = """
SELECT c.first_step, c.last_step, c.n, c.steps, c.ts, c.lens, c.vals
FROM text_chunks c JOIN fields f ON c.field_id = f.id
WHERE f.run_id = %(run)s AND f.path = %(path)s AND f.type = {type}
  AND (%(max)s::bigint IS NULL OR c.first_step <= %(max)s)
  AND (%(min)s::bigint IS NULL OR (c.last_step >= %(min)s AND c.first_step >= coalesce(
      (SELECT max(x.first_step) FROM text_chunks x WHERE x.field_id = f.id AND x.first_step <= %(min)s),
      %(min)s)))
  AND (%(before)s::bigint IS NULL OR c.first_step < %(before)s)
ORDER BY c.first_step {order} LIMIT %(limit)s::bigint
"""
_FORWARD = _RANGE.format(type=int(FieldType.STRING_SERIES), order="ASC")
_BACKWARD = _RANGE.format(type=int(FieldType.STRING_SERIES), order="DESC")


def append_params(
    run_pk: int, path: str, rows: Sequence[tuple[int, float, Any]], enc: Callable[[Any], Any]
) -> dict[str, Any]:
    """The parameters of :data:`APPEND` for ``rows``; ``enc`` makes the head value storable as text."""
    chunks = pack_rows(rows)
    small = 1 if len(chunks) == 1 and chunks[0].count < COMPACT_SMALL else 0
    return {
        "run": run_pk,
        "path": path,
        "type": int(FieldType.STRING_SERIES),
        "last": enc(rows[-1][2]),
        "first": rows[0][0],
        "last_step": rows[-1][0],
        "n": len(rows),
        "small": small,
        "small_from": rows[0][0] if small else None,
        **columns(chunks),
    }


def columns(chunks: Sequence[TextChunk]) -> dict[str, list[Any]]:
    return {
        "firsts": [c.first_step for c in chunks],
        "lasts": [c.last_step for c in chunks],
        "ns": [c.count for c in chunks],
        "steps": [c.steps for c in chunks],
        "ts": [c.stamps for c in chunks],
        "lens": [c.lengths for c in chunks],
        "vals": [c.text for c in chunks],
    }


def compact_params(run_pk: int, path: str) -> dict[str, Any]:
    return {"run": run_pk, "path": path, "every": COMPACT_EVERY}


def read(
    conn: Any,
    run_pk: int,
    path: str,
    max_step: int | None,
    min_step: int | None,
    *,
    limit: int | None = None,
    tail: int | None = None,
) -> list[TextChunk]:
    """The series' chunks overlapping [min_step, max_step], in step order: the first ``limit``,
    or the fewest last ones holding ``tail`` points of the range (empty for other fields)."""
    params = {"run": run_pk, "path": path, "max": max_step, "min": min_step, "before": None}
    cur = conn.cursor(binary=True)
    if tail is None:
        return [TextChunk(*r) for r in cur.execute(_FORWARD, {**params, "limit": limit})]

    def page(before: int | None, n: int) -> list[TextChunk]:
        return [TextChunk(*r) for r in cur.execute(_BACKWARD, {**params, "before": before, "limit": n})]

    return tail_chunks(page, min_step, max_step, tail)


def migrate(conn: Any, dec: Callable[[Any], Any]) -> None:
    """Move every string series' ``points`` rows into chunks (inside the migration's
    transaction); ``dec`` undoes the text column's escaping of NUL."""
    fields = conn.execute(
        "SELECT id FROM fields WHERE type = %s AND id IN (SELECT field_id FROM points)",
        [int(FieldType.STRING_SERIES)],
    ).fetchall()
    for (field_id,) in fields:
        rows = conn.execute(
            "SELECT step, ts, value FROM points WHERE field_id = %s ORDER BY step", [field_id]
        ).fetchall()
        decoded = [(int(s), float(t), str(dec(v))) for s, t, v in rows]
        conn.execute(
            _INSERT.format(field="%(field)s::bigint", source=""),
            {"field": field_id, **columns(pack_rows(decoded))},
        )
        conn.execute("DELETE FROM points WHERE field_id = %s", [field_id])
