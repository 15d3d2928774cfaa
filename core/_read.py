"""Reading back: atom values, and series stitched along a fork lineage (a read-time view)."""

from __future__ import annotations

import contextlib
import functools
import gc
import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ._storage import RunRecord
from ._types import STEP_SCALE, FieldType, float_from_store, from_micros

if TYPE_CHECKING:
    import pandas as pd

    from ._storage._protocol import Store

Lineage = list[tuple[RunRecord, int | None]]  # (run, last step it contributes; None = all)


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
    """Numpy columns (step, value, timestamp, source) of a float series along ``chain``."""
    import numpy as np

    steps, vals, stamps, owners = [], [], [], []
    for i, (run, limit) in enumerate(chain):
        chunks = store.chunks(run.pk, path, limit)
        if not chunks:
            continue
        s = np.concatenate([np.frombuffer(c.steps, "<i8") for c in chunks])
        v = np.concatenate([np.frombuffer(c.values, "<f8") for c in chunks])
        t = np.concatenate([np.frombuffer(c.stamps, "<f8") for c in chunks])
        if limit is not None and s.size and s[-1] > limit:
            keep = s <= limit
            s, v, t = s[keep], v[keep], t[keep]
        steps.append(s)
        vals.append(v)
        stamps.append(t)
        owners.append(np.full(s.size, i, dtype=np.int32))
    return _finish(np, steps, vals, stamps, owners, step_range, tail, np.float64)


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
        with _gc_paused():  # a million row tuples would otherwise trigger many full collections
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
        column[:] = v if convert is None else [convert(x) for x in v]
        vals.append(column)
        owners.append(np.full(len(s), i, dtype=np.int32))
    for column_list in (steps, vals, stamps, owners):
        column_list.reverse()
    return _finish(np, steps, vals, stamps, owners, (None, None), None, object)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic collector while building many acyclic tuples (restored on exit)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _decoder(ftype: int) -> Callable[[Any], Any] | None:
    """The per-value decoder of a series type; None when stored values are already the values."""
    if FieldType(ftype) is FieldType.STRING_SERIES:
        return None
    return functools.partial(decode, ftype)


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
        s, v, t, o = (np.concatenate(x) for x in (steps, vals, stamps, owners))
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
    """The user-facing DataFrame: step, value, timestamp (UTC), and the run of each point."""
    import numpy as np
    import pandas as pd

    data: dict[str, Any] = {"step": columns["step"] / STEP_SCALE, "value": columns["value"]}
    if include_time:
        ns = np.round(columns["timestamp"] * 1e9).astype("int64")
        data["timestamp"] = pd.to_datetime(ns, unit="ns", utc=True)
    if with_run:
        names = [run.custom_id for run, _ in chain]
        data["run_id"] = (
            pd.Categorical.from_codes(columns["source"], categories=pd.Index(names))
            if names
            else pd.Categorical([])
        )
    return pd.DataFrame(data)
