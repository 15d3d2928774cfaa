"""The team store's bulk ops: a wide call written by one statement instead of one per field.

A :class:`~._records.FloatRow` (one step of a million new float series) becomes one
``INSERT … SELECT FROM unnest(…)`` of the field rows with their one-point chunks, and an
:class:`~._records.Assigns` (a million configs) one upsert over unnested columns. Pipelined
statement by statement, the same calls took 15 s and 600 MB for 100,000 keys. Each returns the
paths it left alone (a field that exists: a later step, another type, another writer's); those
go the ordinary way, op by op, which appends or explains them.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from .._types import FieldType
from ._records import Assign, Assigns, FloatRow, Floats, pack

if TYPE_CHECKING:
    import psycopg

# New series only (a path that exists is left, and named in the answer), each with its point
# as a raw one-point chunk; a chunk that small has no summary (a chart reads its point).
NEW_SERIES = """
WITH input AS (
    SELECT * FROM unnest(%(paths)s::text[], %(vals)s::float8[], %(bytes)s::bytea[]) AS u(p, v, b)
), new AS (
    INSERT INTO fields(run_id, path, type, num, step, n, vmin, vmax, small, small_from)
    SELECT %(run)s, p, %(type)s, v, %(step)s, 1, nullif(v, 'NaN'), nullif(v, 'NaN'), 1, %(step)s
    FROM input
    ON CONFLICT (run_id, path) DO NOTHING
    RETURNING id, path
), chunked AS (
    INSERT INTO chunks(field_id, first_step, last_step, n, codec, steps, vals, ts)
    SELECT new.id, %(step)s, %(step)s, 1, 0, %(steps)s, input.b, %(ts)s
    FROM new JOIN input ON input.p = new.path
)
SELECT array_agg(i.p) FROM input i WHERE NOT EXISTS (SELECT 1 FROM new WHERE new.path = i.p)
"""
# Create or overwrite atoms of the same type; a path of another type is left, and named.
ASSIGN_MANY = """
WITH input AS (
    SELECT * FROM unnest(%(paths)s::text[], %(types)s::smallint[], %(nums)s::float8[],
                         %(ints)s::bigint[], %(txts)s::text[]) AS u(p, t, num, i, txt)
), done AS (
    INSERT INTO fields AS f0 (run_id, path, type, num, int, txt)
    SELECT %(run)s, p, t, num, i, txt FROM input
    ON CONFLICT (run_id, path) DO UPDATE SET num = excluded.num, int = excluded.int,
        txt = excluded.txt, strs = NULL
    WHERE f0.type = excluded.type
    RETURNING path
)
SELECT array_agg(i.p) FROM input i WHERE NOT EXISTS (SELECT 1 FROM done WHERE done.path = i.p)
"""

Columns = Callable[[int, Any], "tuple[float | None, int | None, str | None, list[str] | None]"]


def new_series(conn: psycopg.Connection[Any], run_pk: int, op: FloatRow) -> Iterator[Floats]:
    """Write the paths of ``op`` that are new; yield a :class:`Floats` for each other one."""
    if len(set(op.paths)) != len(op.paths):  # one statement cannot insert a path twice
        yield from op.floats()
        return
    raw = pack(op.values)
    params = {
        "run": run_pk,
        "type": int(FieldType.FLOAT_SERIES),
        "step": op.step,
        "paths": list(op.paths),
        "vals": list(op.values),
        "bytes": [raw[i : i + 8] for i in range(0, len(raw), 8)],
        "steps": pack(array("q", [op.step])),
        "ts": pack(array("d", [op.stamp])),
    }
    left = conn.execute(NEW_SERIES, params).fetchone()
    if left is None or not left[0]:
        return
    values = dict(zip(op.paths, op.values))
    steps, stamps = array("q", [op.step]), array("d", [op.stamp])
    for path in left[0]:
        yield Floats(path, steps, array("d", [values[path]]), stamps)


def assign_many(
    conn: psycopg.Connection[Any], run_pk: int, op: Assigns, columns: Columns
) -> Iterator[Assign]:
    """Write the atoms of ``op`` (``columns`` maps a value to the typed columns); yield an
    :class:`Assign` for each path it could not write (the ordinary path explains it)."""
    if FieldType.STRING_SET in op.types or len(set(op.paths)) != len(op.paths):
        yield from op.assigns()  # sets are arrays per row, which unnest cannot carry
        return
    typed = list(zip(*map(columns, op.types, op.values)))
    params = {
        "run": run_pk,
        "paths": list(op.paths),
        "types": list(op.types),
        "nums": list(typed[0]),
        "ints": list(typed[1]),
        "txts": list(typed[2]),
    }
    left = conn.execute(ASSIGN_MANY, params).fetchone()
    if left is None or not left[0]:
        return
    at = {path: i for i, path in enumerate(op.paths)}
    for path in left[0]:
        yield Assign(path, op.types[at[path]], op.values[at[path]])
