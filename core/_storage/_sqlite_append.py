"""The embedded store's write path for series and atoms: a batch's ops as few statements.

A training loop that logs a million keys in one call hands the writer one batch of a million
ops; executed one statement at a time that is several statements per key (look the field up,
create it, write its chunk, update its head). Here consecutive ops of one kind form a group:
the group's unknown fields are looked up and created with two statements, and its chunk and
field writes go out as ``executemany`` (one prepared statement each), so a key costs about
one row per table. Writes inside a group are independent rows, so deferring them to the end
of the group is invisible; a compaction, which reads the chunks back, flushes them first.

A series' first point waits in its field row (``head_ts`` holds its time, ``step`` and ``value``
the rest, schema 7) until a later batch brings more: a call that makes a million new series,
one point each, then writes a million field rows, not also a million chunk rows (the rows are
most of that call's time). The readers add that head point after the series' chunks.

Chunk policy: an append of more than ``_codec.CHUNK_MAX_POINTS`` is split into even chunks (a
row stays far from SQLite's 1 GB blob limit, and a range read decodes at most that much past its
ends); a series' trailing chunk smaller than ``OPEN_CHUNK_MAX`` is extended in place
by the next batch (a cheap rewrite while it is small); once sealed, ``COMPACT_EVERY`` small
chunks in a row are merged into one (re-packed by :mod:`._codec`: small chunks are raw, the
merged one packed). Slow logging thus costs a small rewrite per batch, and a long series
still reads as a few hundred rows.
"""

from __future__ import annotations

import json
import math
import sqlite3
from array import array
from collections.abc import Sequence
from itertools import count, repeat
from typing import Any

from .._types import FieldType, float_bits, float_from_store, step_value
from . import _codec
from ._records import Assigns, Chunk, FloatRow, Floats, pack
from ._summary import COARSE, summarize

OPEN_CHUNK_MAX = 128
COMPACT_SMALL = 1024
COMPACT_EVERY = 16
SUMMARIZED_FROM = OPEN_CHUNK_MAX  # smaller chunks have no summary: a chart reads their few points
GROUP_SLICE = 10_000  # ops whose rows are pending at once

UPSERT_ATOM = (
    "INSERT INTO fields(run_id, path, type, value) VALUES(?,?,?,?) "
    "ON CONFLICT(run_id, path) DO UPDATE SET value=excluded.value "
    "WHERE fields.type = excluded.type"
)
_FIELD_ROWS = (
    "SELECT path, id, type, step, n, vmin, vmax, head_ts, value FROM fields "
    "WHERE run_id=? AND path IN (SELECT value FROM json_each(?))"
)
_LAST_CHUNK = (
    "SELECT first_step, last_step, n, steps, vals, ts, codec FROM chunks WHERE field_id=? "
    "ORDER BY first_step DESC LIMIT 1"
)
_INSERT_CHUNK = (
    "INSERT INTO chunks(field_id, first_step, last_step, n, codec, steps, vals, ts) VALUES(?,?,?,?,?,?,?,?)"
)
_UPDATE_CHUNK = (
    "UPDATE chunks SET last_step=?, n=?, codec=?, steps=?, vals=?, ts=? WHERE field_id=? AND first_step=?"
)
_PUT_SUMMARY = "INSERT OR REPLACE INTO summaries(field_id, first_step, n, coarse, picks) VALUES(?,?,?,?,?)"
_UPDATE_HEAD = "UPDATE fields SET value=?, step=?, n=?, vmin=?, vmax=?, head_ts=? WHERE id=?"
_INSERT_NEW_FIELD = (  # a path that exists is left as it is (see new_series_row)
    "INSERT INTO fields(id, run_id, path, type, value, step, n, vmin, vmax, head_ts) "
    "VALUES(?,?,?,?,?,?,?,?,?,?) ON CONFLICT(run_id, path) DO NOTHING"
)
_INSERT_FIELD = (
    "INSERT INTO fields(id, run_id, path, type, value, step, n, vmin, vmax, head_ts) "
    "VALUES(?,?,?,?,?,?,?,?,?,?)"
)


class Field:
    """The writer's cached view of one field: id, type, last step, count, open chunk, and the
    head point still kept in the field row (``inline``: its step, time and value)."""

    __slots__ = (
        "id",
        "inline",
        "n",
        "open_first",
        "open_steps",
        "open_ts",
        "open_vals",
        "sealed",
        "step",
        "type",
        "value",
        "vmax",
        "vmin",
    )

    def __init__(
        self,
        fid: int,
        ftype: int,
        step: int | None,
        n: int,
        vmin: float | None,
        vmax: float | None,
        head_ts: float | None = None,
        stored: Any = None,
    ) -> None:
        self.id, self.type, self.step, self.n = fid, ftype, step, n
        self.vmin, self.vmax = vmin, vmax
        self.value: Any = None  # the last value, kept only while the row is not written yet
        self.inline: tuple[int, float, float] | None = None
        if head_ts is not None and step is not None:
            self.inline = (step, head_ts, float_from_store(stored))
        self.open_first: int | None = None
        self.sealed: list[int] = []  # first steps of the small sealed chunks trailing the series
        self.open_steps: array[int] | None = None
        self.open_vals: array[float] | None = None
        self.open_ts: array[float] | None = None

    def load_open_chunk(self, conn: sqlite3.Connection) -> None:
        """Pick up the series' trailing chunk when it is still small enough to extend."""
        last = conn.execute(_LAST_CHUNK, (self.id,)).fetchone()
        if last is not None and last[2] < OPEN_CHUNK_MAX:
            self.open_first = last[0]
            self.open_steps, self.open_vals, self.open_ts = _codec.arrays(Chunk(*last))


Cache = dict[tuple[int, str], Field]

_HEAD = "SELECT step, value, head_ts FROM fields WHERE run_id=? AND path=? AND head_ts IS NOT NULL"


def head_chunk(
    conn: sqlite3.Connection, run_pk: int, path: str, max_step: int | None, min_step: int | None
) -> Chunk | None:
    """The series' point still in its field row, within the steps, as a one-point chunk: it
    comes after every chunk of the series."""
    row = conn.execute(_HEAD, (run_pk, path)).fetchone()
    if row is None:
        return None
    step, stored, ts = row
    if (max_step is not None and step > max_step) or (min_step is not None and step < min_step):
        return None
    values = array("d", [float_from_store(stored)])
    return Chunk(step, step, 1, pack(array("q", [step])), pack(values), pack(array("d", [ts])))


def conflict(conn: sqlite3.Connection, run_pk: int, path: str, ftype: int) -> str:
    row = conn.execute("SELECT type FROM fields WHERE run_id=? AND path=?", (run_pk, path)).fetchone()
    existing = FieldType(row[0]).label if row else "missing"
    return (
        f"'{path}' is a {existing} in the store (written by another process); "
        f"a {FieldType(ftype).label} write to it was dropped."
    )


def assign_all(conn: sqlite3.Connection, run_pk: int, op: Assigns, warnings: list[str]) -> None:
    """Create or overwrite many atoms with one prepared statement; a write that met a field of
    another type is not applied, and is reported."""
    applied = conn.executemany(UPSERT_ATOM, zip(repeat(run_pk), op.paths, op.types, op.values)).rowcount
    if applied == len(op.paths):
        return
    types = dict(
        conn.execute(
            "SELECT path, type FROM fields WHERE run_id=? AND path IN (SELECT value FROM json_each(?))",
            (run_pk, json.dumps(list(op.paths))),
        )
    )
    for path, ftype in zip(op.paths, op.types):
        if types.get(path) != ftype:
            warnings.append(conflict(conn, run_pk, path, ftype))


def new_series_row(
    conn: sqlite3.Connection, cache: Cache, run_pk: int, op: FloatRow, warnings: list[str]
) -> None:
    """Write a :class:`FloatRow` as new series in bulk: one field row each, its point in the
    row (no chunk, nothing cached: the whole loop is inside ``executemany``). The paths that
    exist already (a later step, another type) keep their rows, and their points go the
    ordinary way."""
    top = int(conn.execute("SELECT coalesce(max(id), 0) FROM fields").fetchone()[0])
    values: Sequence[Any] = op.values
    extremes: Sequence[Any] = op.values
    if not math.isfinite(math.fsum(op.values)):  # NaN is stored as its bytes, and no extreme
        values = [float_bits(v) for v in op.values]
        extremes = [v if v == v else None for v in op.values]
    rows = zip(
        count(top + 1),
        repeat(run_pk),
        op.paths,
        repeat(int(FieldType.FLOAT_SERIES)),
        values,
        repeat(op.step),
        repeat(1),
        extremes,
        extremes,
        repeat(op.stamp),
    )
    inserted = conn.executemany(_INSERT_NEW_FIELD, rows).rowcount
    if inserted == len(op.paths):
        return
    made = {i for (i,) in conn.execute("SELECT id FROM fields WHERE id > ?", (top,))}
    others = [
        Floats(path, array("q", [op.step]), array("d", [v]), array("d", [op.stamp]))
        for k, (path, v) in enumerate(zip(op.paths, op.values), start=top + 1)
        if k not in made
    ]
    FloatAppender(conn, cache, run_pk, warnings).run(others)


def fields_of(
    conn: sqlite3.Connection, cache: Cache, run_pk: int, paths: Sequence[str], ftype: int
) -> list[str]:
    """Put every one of ``paths`` in ``cache``; the missing ones as new fields of ``ftype``
    whose rows are not written yet (returned: the caller inserts them, with their heads).

    A new field's id is picked here: inside the write transaction no one else inserts, so
    the next ids are free, and one statement replaces a lookup per new field.
    """
    missing = list(dict.fromkeys(p for p in paths if (run_pk, p) not in cache))
    if not missing:
        return []
    found = _load(conn, cache, run_pk, missing)
    new = [p for p in missing if p not in found]
    if new:
        top = int(conn.execute("SELECT coalesce(max(id), 0) FROM fields").fetchone()[0])
        for k, path in enumerate(new, start=top + 1):
            cache[(run_pk, path)] = Field(k, ftype, None, 0, None, None)
    return new


def insert_fields(conn: sqlite3.Connection, cache: Cache, run_pk: int, paths: list[str]) -> None:
    """Insert the rows of new fields (made by :func:`fields_of`) with their current heads."""
    rows = []
    for path in paths:
        f = cache[(run_pk, path)]
        head_ts = None if f.inline is None else f.inline[1]
        rows.append((f.id, run_pk, path, f.type, f.value, f.step, f.n, f.vmin, f.vmax, head_ts))
    conn.executemany(_INSERT_FIELD, rows)
    paths.clear()


def _load(conn: sqlite3.Connection, cache: Cache, run_pk: int, paths: list[str]) -> set[str]:
    found = set()
    for path, *row in conn.execute(_FIELD_ROWS, (run_pk, json.dumps(paths))):
        entry = Field(*row)
        if entry.type == FieldType.FLOAT_SERIES and entry.n and entry.inline is None:
            entry.load_open_chunk(conn)
        cache[(run_pk, path)] = entry
        found.add(path)
    return found


class FloatAppender:
    """Appends a group of :class:`Floats` ops, deferring its row writes to ``executemany``."""

    def __init__(self, conn: sqlite3.Connection, cache: Cache, run_pk: int, warnings: list[str]) -> None:
        self.conn, self.cache, self.run_pk, self.warnings = conn, cache, run_pk, warnings
        self.inserts: list[tuple[Any, ...]] = []
        self.updates: list[tuple[Any, ...]] = []
        self.heads: list[tuple[Any, ...]] = []
        self.summaries: list[tuple[Any, ...]] = []  # one per chunk written (see _summary)
        self.new: list[str] = []  # fields created by this group whose rows are not written yet
        self.unwritten: set[str] = set()

    def run(self, ops: Sequence[Floats]) -> None:
        # a slice at a time, so that a million-key batch never holds a million pending rows
        for start in range(0, len(ops), GROUP_SLICE):
            part = ops[start : start + GROUP_SLICE]
            paths = [op.path for op in part]
            self.new = fields_of(self.conn, self.cache, self.run_pk, paths, FieldType.FLOAT_SERIES)
            self.unwritten = set(self.new)
            for op in part:
                if len(op.steps) <= _codec.CHUNK_MAX_POINTS:
                    self._append(op.path, op.steps, op.values, op.stamps)
                    continue
                for a, b in _codec.spans(len(op.steps)):  # no row of a huge append nears a blob's limit
                    self._append(op.path, op.steps[a:b], op.values[a:b], op.stamps[a:b])
            self.flush()

    def flush(self) -> None:
        """Write what is pending: new fields (with their heads), then new chunks before the
        rewrites of open ones (a rewrite may target a chunk this group created), then the
        heads of the fields that existed."""
        if self.new:
            insert_fields(self.conn, self.cache, self.run_pk, self.new)
            self.unwritten.clear()
        for sql, rows in (
            (_INSERT_CHUNK, self.inserts),
            (_UPDATE_CHUNK, self.updates),
            (_PUT_SUMMARY, self.summaries),
            (_UPDATE_HEAD, self.heads),
        ):
            if rows:
                self.conn.executemany(sql, rows)
                rows.clear()

    def _summarize(
        self, fid: int, first: int | None, steps: array[int], vals: array[float], stamps: array[float]
    ) -> None:
        if len(steps) >= SUMMARIZED_FROM:
            self.summaries.append((fid, first, *summaries(steps, vals, stamps)))

    def _append(self, path: str, steps: array[int], vals: array[float], stamps: array[float]) -> None:
        f = self.cache[(self.run_pk, path)]
        if f.type != FieldType.FLOAT_SERIES:
            self.warnings.append(conflict(self.conn, self.run_pk, path, FieldType.FLOAT_SERIES))
            return
        if f.step is not None and steps[0] <= f.step:  # another writer got there first
            keep = [i for i, s in enumerate(steps) if s > f.step]
            self.warnings.append(
                f"'{path}': {len(steps) - len(keep)} point(s) at or before step "
                f"{step_value(f.step):g}, already written by another process, were dropped."
            )
            if not keep:
                return
            steps = array("q", [steps[i] for i in keep])
            vals = array("d", [vals[i] for i in keep])
            stamps = array("d", [stamps[i] for i in keep])
        added = len(steps)
        if f.inline is not None:  # the head point leaves the field row, first in this chunk
            head_step, head_ts, head = f.inline
            f.inline = None
            steps = array("q", [head_step]) + steps
            vals, stamps = array("d", [head]) + vals, array("d", [head_ts]) + stamps
        if f.n == 0 and added == 1:  # a first point waits in the field row (see the module doc)
            f.inline = (steps[0], stamps[0], vals[0])
        elif (
            f.open_steps is not None
            and f.open_vals is not None
            and f.open_ts is not None
            and len(f.open_steps) + len(steps) <= OPEN_CHUNK_MAX
        ):
            f.open_steps.extend(steps)
            f.open_vals.extend(vals)
            f.open_ts.extend(stamps)
            self.updates.append(
                (
                    f.open_steps[-1],
                    len(f.open_steps),
                    *_codec.encode(f.open_steps, f.open_vals, f.open_ts),
                    f.id,
                    f.open_first,
                )
            )
            self._summarize(f.id, f.open_first, f.open_steps, f.open_vals, f.open_ts)
        else:
            if f.open_first is not None:  # the open chunk is sealed as it is
                f.sealed.append(f.open_first)
            self.inserts.append((f.id, steps[0], steps[-1], len(steps), *_codec.encode(steps, vals, stamps)))
            self._summarize(f.id, steps[0], steps, vals, stamps)
            if len(steps) < OPEN_CHUNK_MAX:
                f.open_first, f.open_steps = steps[0], array("q", steps)
                f.open_vals, f.open_ts = array("d", vals), array("d", stamps)
            else:
                f.open_first = f.open_steps = f.open_vals = f.open_ts = None
                if len(steps) < COMPACT_SMALL:
                    f.sealed.append(steps[0])
                else:  # a large chunk ends the run of small ones: merge what came before it
                    self.flush()
                    compact(self.conn, f, upto=steps[0])
            if len(f.sealed) >= COMPACT_EVERY:
                self.flush()
                compact(self.conn, f, upto=f.open_first)
        lo, hi = min_max(vals)
        if lo is not None:
            f.vmin = lo if f.vmin is None else min(f.vmin, lo)
            f.vmax = hi if f.vmax is None else max(f.vmax, hi)  # type: ignore[type-var]
        f.step = steps[-1]
        f.n += added
        if path in self.unwritten:  # its row is inserted with this head at the flush
            f.value = float_bits(vals[-1])
        else:
            in_row = None if f.inline is None else f.inline[1]
            self.heads.append((float_bits(vals[-1]), f.step, f.n, f.vmin, f.vmax, in_row, f.id))


_RANGE = "first_step >= ? AND (? IS NULL OR first_step < ?)"  # the chunks a compaction merges


def compact(conn: sqlite3.Connection, f: Field, upto: int | None) -> None:
    """Merge the field's small sealed chunks (all before ``upto``) into one chunk."""
    sealed, f.sealed = f.sealed, []
    if len(sealed) < 2:
        return
    rows = conn.execute(
        "SELECT first_step, last_step, n, steps, vals, ts, codec FROM chunks WHERE field_id=? "
        f"AND {_RANGE} ORDER BY first_step",
        (f.id, sealed[0], upto, upto),
    ).fetchall()
    if len(rows) < 2:
        return
    counts = {r[0]: r[2] for r in rows}
    found = {  # a stale summary (another count than its chunk's) is none
        first: (coarse, picks)
        for first, n, coarse, picks in conn.execute(
            f"SELECT first_step, n, coarse, picks FROM summaries WHERE field_id=? AND {_RANGE}",
            (f.id, sealed[0], upto, upto),
        )
        if counts.get(first) == n
    }
    for table in ("chunks", "summaries"):
        conn.execute(f"DELETE FROM {table} WHERE field_id=? AND {_RANGE}", (f.id, sealed[0], upto, upto))
    merged = _codec.merge([Chunk(*r) for r in rows])
    first, last, n = rows[0][0], rows[-1][1], sum(r[2] for r in rows)
    conn.execute(_INSERT_CHUNK, (f.id, first, last, n, *merged))
    if all(r[0] in found for r in rows):  # the merged chunk's summary is theirs, end to end
        coarse, picks = (b"".join(found[r[0]][k] for r in rows) for k in (0, 1))
        conn.execute(_PUT_SUMMARY, (f.id, first, n, coarse, picks))
    else:  # some were too small to have one
        codec, steps, vals, stamps = merged
        columns = _codec.arrays(Chunk(first, last, n, steps, vals, stamps, codec))
        conn.execute(_PUT_SUMMARY, (f.id, first, *summaries(*columns)))


def summaries(steps: array[int], vals: array[float], stamps: array[float]) -> tuple[int, bytes, bytes]:
    """(count, coarse summary, summary) of a chunk's points, as a summaries row holds them."""
    return len(steps), summarize(steps, vals, stamps, COARSE), summarize(steps, vals, stamps)


def min_max(vals: array[float]) -> tuple[float | None, float | None]:
    if len(vals) == 1:  # one point per key (a wide log_metrics): skip the sums
        v = vals[0]
        return (v, v) if v == v else (None, None)
    total = sum(vals)
    if math.isfinite(total):
        return min(vals), max(vals)
    finite = [v for v in vals if v == v]  # drop NaN; infinities are real extremes
    return (min(finite), max(finite)) if finite else (None, None)
