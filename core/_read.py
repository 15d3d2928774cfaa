"""Reading back: atom values, and series stitched along a fork lineage (a read-time view)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ._storage import RunRecord, TextChunk, _codec, values_of
from ._types import STEP_SCALE, FieldType, float_from_store, from_micros
from ._writer import gc_paused

if TYPE_CHECKING:
    import pandas as pd

    from ._storage import Chunk
    from ._storage._protocol import Store

Lineage = list[tuple[RunRecord, int | None]]  # (run, last step it contributes; None = all)


def nested(leaves: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """``(path, value)`` pairs as a tree of namespaces, each value at its path's last segment."""
    out: dict[str, Any] = {}
    for path, value in leaves:
        node = out
        *spaces, leaf = path.split("/")
        for name in spaces:
            node = node.setdefault(name, {})
        node[leaf] = value
    return out


def decode(ftype: int, value: Any) -> Any:
    """A stored atom (or a series' last value) as the Python value the user wrote."""
    if value is None:
        return None
    t = FieldType(ftype)
    if t in (FieldType.FLOAT, FieldType.FLOAT_SERIES):
        return float_from_store(value)
    if t is FieldType.INTEGER:
        return int(value)
    if t is FieldType.BOOLEAN:
        return bool(value)
    if t is FieldType.DATETIME:
        return from_micros(int(value))
    if t is FieldType.STRING_SET:
        return set(json.loads(value))
    if t in (FieldType.FILE, FieldType.FILE_SERIES, FieldType.ARTIFACT, FieldType.HISTOGRAM_SERIES):
        return json.loads(value)
    return value


def lineage(store: Store, run: RunRecord) -> Lineage:
    """The run and its ancestors, root first, each with the last step it contributes."""
    chain: Lineage = [(run, None)]
    limit: int | None = None
    current = run
    while current.parent_pk is not None:
        step = current.fork_step
        limit = step if limit is None or (step is not None and step < limit) else limit
        current = store.get_run(current.parent_pk)
        chain.append((current, limit))
    chain.reverse()
    return chain


def float_series(
    store: Store,
    chain: Lineage,
    path: str,
    step_range: tuple[float | None, float | None] = (None, None),
    tail: int | None = None,
) -> dict[str, Any]:
    """Numpy columns (step, value, timestamp, source) of a float series along ``chain``.

    Chunks are read ``_PAGE`` at a time and copied straight into arrays sized from each
    field's point count, so a ten-million-point read holds the result and a few chunks, never
    every stored byte plus its concatenation. Each link is read up to the last step it had
    when the read began (points appended meanwhile are left for the next read).
    """
    import numpy as np

    lo, hi = (None if x is None else round(x * STEP_SCALE) for x in step_range)
    plan = read_plan(store, chain, path, lo, hi)
    capacity = sum(count for *_, count in plan)
    out = Columns(np, capacity, owner_dtype(np, chain))
    for i, pk, top, _ in plan:
        read_chunks(store, out, i, pk, path, lo, top)
    steps, vals, stamps, owners = out.finish()
    return _finish(np, [steps], [vals], [stamps], [owners], (None, None), tail, np.float64)


def read_plan(
    store: Store, chain: Lineage, path: str, lo: int | None, hi: int | None
) -> list[tuple[int, int, int, int]]:
    """(link index, run pk, last step to read, size hint) of each link of ``chain`` holding
    float points of ``path`` in [lo, hi] (fixed-point steps); the hint is the series' exact
    size when the whole of it is read, else 0."""
    plan = []
    for i, (run, limit) in enumerate(chain):
        rec = store.field(run.pk, path)
        if rec is None or rec.type != FieldType.FLOAT_SERIES or rec.step is None:
            continue
        top = min(b for b in (rec.step, limit, hi) if b is not None)
        if lo is not None and top < lo:
            continue
        plan.append((i, run.pk, top, rec.count if top == rec.step and lo is None else 0))
    return plan


def owner_dtype(np: Any, chain: Lineage) -> Any:
    """The smallest integer type that numbers the links of ``chain``."""
    return np.int8 if len(chain) <= 127 else np.int32


def read_chunks(store: Store, out: Columns, link: int, pk: int, path: str, lo: int | None, top: int) -> None:
    """Append the run's float points of ``path`` in [lo, top] to ``out`` (as link ``link``),
    ``_PAGE`` chunks at a time."""

    seen = lo
    while True:
        page = store.chunks(pk, path, top, min_step=seen, limit=_PAGE)
        for c in page:
            if c.last_step <= top and (seen is None or c.first_step >= seen):
                out.fill(c, link)  # decoded straight into the result
                continue
            s, v, t = _codec.columns(c)
            keep = s <= top if seen is None else (s >= seen) & (s <= top)
            out.append(s[keep], v[keep], t[keep], link)
        if len(page) < _PAGE:
            break
        seen = page[-1].last_step + 1  # by step, not by chunk: a compaction between pages is harmless
        del page


_PAGE = 16  # chunks held at once while a float series is read


class Columns:
    """Growable step/value/timestamp/source arrays filled chunk by chunk (no concatenation)."""

    def __init__(self, np: Any, capacity: int, owner_type: Any) -> None:
        self._np, self._n = np, 0
        self._cols = [
            np.empty(capacity, np.int64),
            np.empty(capacity, np.float64),
            np.empty(capacity, np.float64),
            np.empty(capacity, owner_type),
        ]

    def append(self, steps: Any, values: Any, stamps: Any, owner: int) -> None:
        k, n = steps.size, self._reserve(steps.size)
        steps_col, values_col, stamps_col, owners_col = self._cols
        steps_col[n : n + k] = steps
        values_col[n : n + k] = values
        stamps_col[n : n + k] = stamps
        owners_col[n : n + k] = owner
        self._n = n + k

    def fill(self, chunk: Chunk, owner: int) -> None:
        """Append every point of ``chunk``, decoded in place."""
        k, n = chunk.count, self._reserve(chunk.count)
        _codec.fill(chunk, *(col[n : n + k] for col in self._cols[:3]))
        self._cols[3][n : n + k] = owner
        self._n = n + k

    def _reserve(self, k: int) -> int:
        """Make room for ``k`` more points; the index of the first of them."""
        n = self._n
        if n + k > self._cols[0].size:  # a fork's link, whose share of its series is unknown
            size = max(2 * self._cols[0].size, n + k)
            for j, col in enumerate(self._cols):
                grown = self._np.empty(size, col.dtype)
                grown[:n] = col[:n]
                self._cols[j] = grown
        return n

    def finish(self) -> list[Any]:
        n = self._n
        waste = self._cols[0].size - n
        # a view keeps its whole buffer alive: copy when much of it is unused
        return [col[:n].copy() if waste > n // 8 else col[:n] for col in self._cols]


def other_series(
    store: Store,
    chain: Lineage,
    path: str,
    ftype: int,
    step_range: tuple[float | None, float | None] = (None, None),
    tail: int | None = None,
) -> dict[str, Any]:
    """Columns of a non-float series along ``chain``; the step range and ``tail`` are pushed
    into the store, newest link first, so a tail never reads more rows than it returns."""
    if FieldType(ftype) is FieldType.STRING_SERIES:
        return string_series(store, chain, path, step_range, tail)
    import numpy as np

    lo, hi = (None if x is None else round(x * STEP_SCALE) for x in step_range)
    convert = _decoder(ftype)
    steps, vals, stamps, owners = [], [], [], []
    left = tail
    for i in reversed(range(len(chain))):
        if left is not None and left <= 0:
            break
        run, limit = chain[i]
        top = limit if hi is None else (hi if limit is None else min(hi, limit))
        with gc_paused():  # a million row tuples would otherwise trigger many full collections
            rows = store.points(run.pk, path, top, min_step=lo, tail=left)
            if not rows:
                continue
            if left is not None:
                left -= len(rows)
            s, t, v = zip(*rows)
            del rows
        steps.append(np.array(s, dtype=np.int64))
        stamps.append(np.array(t, dtype=np.float64))
        column = np.empty(len(v), dtype=object)
        column[:] = [convert(x) for x in v]
        vals.append(column)
        owners.append(np.full(len(s), i, dtype=np.int32))
    for column_list in (steps, vals, stamps, owners):
        column_list.reverse()
    return _finish(np, steps, vals, stamps, owners, (None, None), None, object)


def _decoder(ftype: int) -> Callable[[Any], Any]:
    """The per-value decoder of a series type."""
    return functools.partial(decode, ftype)


def string_series(
    store: Store,
    chain: Lineage,
    path: str,
    step_range: tuple[float | None, float | None] = (None, None),
    tail: int | None = None,
) -> dict[str, Any]:
    """Columns of a string series along ``chain``, read as packed chunks (see
    ``_storage._text_chunks``): steps and timestamps straight into arrays, values one decode
    per chunk. Newest link first, so a tail reads only the chunks that hold it."""
    import numpy as np

    lo, hi = (None if x is None else round(x * STEP_SCALE) for x in step_range)
    steps, vals, stamps, owners = [], [], [], []
    left = tail
    for i in reversed(range(len(chain))):
        if left is not None and left <= 0:
            break
        run, limit = chain[i]
        top = limit if hi is None else (hi if limit is None else min(hi, limit))
        s_parts, t_parts, values = [], [], []
        trim = False  # whether an edge chunk reaches outside [lo, top]
        with gc_paused():  # a million strings would otherwise trigger many full collections
            for c in _text_pages(store, run.pk, path, top, lo, left):
                s_parts.append(np.frombuffer(c.steps, "<i8"))
                t_parts.append(np.frombuffer(c.stamps, "<f8"))
                values.extend(values_of(c))
                trim = (
                    trim or (top is not None and c.last_step > top) or (lo is not None and c.first_step < lo)
                )
            if not values:
                continue
            s = np.concatenate(s_parts) if len(s_parts) > 1 else s_parts[0]
            t = np.concatenate(t_parts) if len(t_parts) > 1 else t_parts[0]
            column = np.empty(len(values), dtype=object)
            column[:] = values
            del values
        if trim:
            keep = np.ones(s.size, bool)
            if lo is not None:
                keep &= s >= lo
            if top is not None:
                keep &= s <= top
            s, t, column = s[keep], t[keep], column[keep]
        if left is not None:
            s, t, column = s[-left:], t[-left:], column[-left:]
            left -= s.size
        steps.append(s)
        stamps.append(t)
        vals.append(column)
        owners.append(np.full(s.size, i, dtype=np.int32))
    for column_list in (steps, vals, stamps, owners):
        column_list.reverse()
    return _finish(np, steps, vals, stamps, owners, (None, None), None, object)


def _text_pages(
    store: Store, pk: int, path: str, top: int | None, lo: int | None, tail: int | None
) -> Iterator[TextChunk]:
    """The string series' chunks in [lo, top]: the tail's few, or all, ``_PAGE`` at a time."""
    if tail is not None:
        yield from store.text_chunks(pk, path, top, min_step=lo, tail=tail)
        return
    seen = lo
    while True:
        page = store.text_chunks(pk, path, top, min_step=seen, limit=_PAGE)
        yield from page
        if len(page) < _PAGE:
            return
        seen = page[-1].last_step + 1  # by step, not by chunk: a compaction between pages is harmless


def _finish(
    np: Any,
    steps: list[Any],
    vals: list[Any],
    stamps: list[Any],
    owners: list[Any],
    step_range: tuple[float | None, float | None],
    tail: int | None,
    dtype: Any,
) -> dict[str, Any]:
    if steps:
        s, v, t, o = (x[0] if len(x) == 1 else np.concatenate(x) for x in (steps, vals, stamps, owners))
    else:
        s, t = np.empty(0, np.int64), np.empty(0, np.float64)
        v, o = np.empty(0, dtype), np.empty(0, np.int32)
    lo, hi = step_range
    if lo is not None or hi is not None:
        keep = np.ones(s.size, bool)
        if lo is not None:
            keep &= s >= round(lo * STEP_SCALE)
        if hi is not None:
            keep &= s <= round(hi * STEP_SCALE)
        s, v, t, o = s[keep], v[keep], t[keep], o[keep]
    if tail is not None:
        s, v, t, o = (
            s[-tail:] if tail else s[:0],
            v[-tail:] if tail else v[:0],
            t[-tail:] if tail else t[:0],
            o[-tail:] if tail else o[:0],
        )
    return {"step": s, "value": v, "timestamp": t, "source": o}


def series_frame(
    columns: dict[str, Any], chain: Lineage, *, include_time: bool = True, with_run: bool = True
) -> pd.DataFrame:
    """The user-facing DataFrame: step, value, timestamp (UTC), and the run of each point.

    ``columns`` is consumed: its step and timestamp arrays are converted in place where they
    can be (the frame's float steps and nanosecond times reuse their memory), so a large
    series is not held twice.
    """
    import numpy as np
    import pandas as pd

    data: dict[str, Any] = {
        "step": _convert(np, columns["step"], lambda b: b / STEP_SCALE, np.float64),
        "value": columns["value"],
    }
    if include_time:
        ns = _convert(np, columns["timestamp"], lambda b: np.rint(b * 1e9), np.int64)
        # int64 nanoseconds are read as UTC instants in place (tz_localize would copy them)
        data["timestamp"] = pd.Series(ns, dtype=pd.DatetimeTZDtype("ns", "UTC"), copy=False)
    if with_run:
        names = [run.custom_id for run, _ in chain]
        data["run_id"] = (
            pd.Categorical.from_codes(columns["source"], categories=pd.Index(names))
            if names
            else pd.Categorical([])
        )
    return pd.DataFrame(data, copy=False)


_BLOCK = 1 << 16  # points converted at a time: their temporaries stay small (and are given back)


def _convert(np: Any, src: Any, fn: Callable[[Any], Any], dtype: Any) -> Any:
    """``fn(src)`` as ``dtype`` (of the same item size), written over ``src`` block by block
    when ``src`` owns writable contiguous memory, so no second full-size array is made."""
    if not (
        src.flags.writeable and src.flags.c_contiguous and src.dtype.itemsize == np.dtype(dtype).itemsize
    ):
        return np.asarray(fn(src)).astype(dtype)
    out = src.view(dtype)
    for b in range(0, src.size, _BLOCK):
        out[b : b + _BLOCK] = fn(src[b : b + _BLOCK])
    return out
