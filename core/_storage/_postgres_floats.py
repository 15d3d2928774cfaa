"""The team store's float-series write path: a batch's chunks, and the merge of small ones.

An append becomes one chunk row, or several of at most :data:`._codec.CHUNK_MAX_POINTS`
points (:func:`._codec.spans`), each its own :data:`._postgres_sql.APPEND_CHUNK` in the
batch's pipeline. A chunk of fewer than ``COMPACT_SMALL`` points is "small": the field row
counts the small chunks trailing the series (``small``/``small_from``); every
``COMPACT_EVERY`` appends or so the batch's pipeline carries
:data:`._postgres_sql.COMPACT_READ`, which returns them once the counter says there are
enough. They are merged here, decoded and packed again by the codec with fresh summaries,
and written back in one more round trip of the same transaction. A merged chunk that is
still small starts the next run (merged again once that run holds ``1/COMPACT_GROWTH`` of
its points), so a series logged a point per batch grows chunks of about ``COMPACT_SMALL``
points, packed like a bulk append, each point rewritten a few times on the way.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._types import FieldType
from . import _codec
from . import _postgres_sql as q
from ._records import Chunk, FloatRow, Floats
from ._summary import COARSE, summarize

if TYPE_CHECKING:
    import psycopg


def min_max(vals: array[float]) -> tuple[float | None, float | None]:
    finite = [v for v in vals if v == v]  # NaN is no extreme; infinities are
    return (min(finite), max(finite)) if finite else (None, None)


def chunk_params(
    run_pk: int, path: str, steps: array[int], vals: array[float], stamps: array[float]
) -> list[dict[str, Any]]:
    """The :data:`._postgres_sql.APPEND_CHUNK` parameters of each chunk an append makes."""
    if len(steps) <= _codec.CHUNK_MAX_POINTS:
        return [_one_chunk(run_pk, path, steps, vals, stamps, None)]
    cuts = _codec.spans(len(steps))
    out, after = [], None
    for a, b in cuts:
        out.append(_one_chunk(run_pk, path, steps[a:b], vals[a:b], stamps[a:b], after))
        after = steps[b - 1]
    return out


def _one_chunk(
    run_pk: int, path: str, steps: array[int], vals: array[float], stamps: array[float], after: int | None
) -> dict[str, Any]:
    lo, hi = min_max(vals)
    small = 1 if len(steps) < q.COMPACT_SMALL else 0
    return {
        "run": run_pk,
        "path": path,
        "type": int(FieldType.FLOAT_SERIES),
        "last": vals[-1],
        "first": steps[0],
        "last_step": steps[-1],
        "after": after,
        "n": len(steps),
        "lo": lo,
        "hi": hi,
        "small": small,
        "small_from": steps[0] if small else None,
        **_stored_columns(_codec.encode(steps, vals, stamps), steps, vals, stamps),
    }


def _stored_columns(
    encoded: tuple[int, bytes, bytes, bytes], steps: Any, vals: Any, stamps: Any
) -> dict[str, Any]:
    """A chunk row's column parameters: the codec's ``encoded`` columns and the summaries."""
    codec, packed_steps, packed_vals, packed_ts = encoded
    return {
        "codec": codec,
        "steps": packed_steps,
        "vals": packed_vals,
        "ts": packed_ts,
        "summary": summarize(steps, vals, stamps),
        "coarse": summarize(steps, vals, stamps, COARSE),
    }


def read_params(run_pk: int, path: str) -> dict[str, Any]:
    """The parameters of :data:`._postgres_sql.COMPACT_READ` for one series."""
    return {"run": run_pk, "path": path, "every": q.COMPACT_EVERY}


def last_appends(ops: Sequence[Any]) -> dict[str, int]:
    """The index of the last float append to each series in a batch's ``ops`` (a
    :class:`FloatRow` appends to each of its paths)."""
    last: dict[str, int] = {}
    for i, op in enumerate(ops):
        if type(op) is Floats:
            last[op.path] = i
        elif type(op) is FloatRow:
            last.update(dict.fromkeys(op.paths, i))
    return last


def merged(rows: Sequence[Sequence[Any]]) -> dict[str, Any] | None:
    """The statements' parameters that replace the chunks of ``rows`` (``COMPACT_READ``'s, in
    step order) by one packed and summarized chunk (of the first ones, when all of them
    would pass :data:`._codec.CHUNK_MAX_POINTS`), and set the field's counter of small
    chunks; None when there is nothing to merge."""
    if not rows:
        return None
    chunks = [Chunk(*r[1:]) for r in rows]
    take, total = 0, 0
    while take < len(chunks) and total + chunks[take].count <= _codec.CHUNK_MAX_POINTS:
        total += chunks[take].count
        take += 1
    rest = chunks[max(take, 1) :]
    head = {"field": rows[0][0], "small": len(rest), "small_from": rest[0].first_step if rest else None}
    if take < 2:  # a counter ahead of its chunks (a store written by an older naiad)
        small = chunks[0].count < q.COMPACT_SMALL
        if small:
            head.update(small=len(rest) + 1, small_from=chunks[0].first_step)
        return head
    cols: Any = _codec.concat(chunks[:take])  # numpy columns, which summarize takes as sequences
    steps, vals, stamps = cols
    if steps.size < q.COMPACT_SMALL:  # the start of the next run of small chunks
        head.update(small=len(rest) + 1, small_from=chunks[0].first_step)
    return {
        **head,
        "first": chunks[0].first_step,
        "last_step": chunks[take - 1].last_step,
        "n": int(steps.size),
        **_stored_columns(_codec.encode_arrays(steps, vals, stamps), steps, vals, stamps),
    }


def compact(conn: psycopg.Connection[Any], reads: Sequence[psycopg.Cursor[Any]]) -> None:
    """Merge what these :data:`._postgres_sql.COMPACT_READ` reads returned, in one more round
    trip. Each read must see the end of its series: no append to it may come between the
    read and this call (the batch's later appends to the series are sent after it)."""
    merges = [params for params in (merged(cur.fetchall()) for cur in reads) if params is not None]
    if not merges:
        return
    with conn.pipeline():
        for params in merges:
            if "n" in params:
                conn.execute(q.COMPACT_WRITE, params)
                conn.execute(q.COMPACT_DROP, params)
            conn.execute(q.COMPACT_RESET, params)
