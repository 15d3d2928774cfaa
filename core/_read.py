"""Reading back: atom values, and series stitched along a fork lineage (a read-time view)."""

from __future__ import annotations

import json
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
    import numpy as np

    steps, vals, stamps, owners = [], [], [], []
    for i, (run, limit) in enumerate(chain):
        rows = store.points(run.pk, path, limit)
        if not rows:
            continue
        steps.append(np.fromiter((r[0] for r in rows), np.int64, len(rows)))
        stamps.append(np.fromiter((r[1] for r in rows), np.float64, len(rows)))
        vals.append(np.array([decode(ftype, r[2]) for r in rows], dtype=object))
        owners.append(np.full(len(rows), i, dtype=np.int32))
    return _finish(np, steps, vals, stamps, owners, step_range, tail, object)


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


def display_state(state: Any, failed: Any) -> str | None:
    """The state the CLI and the UI show: ``failed`` for an inactive run with ``sys/failed``.

    A run still attached stays ``active`` even when an integration already reported failure:
    it may yet log its traceback. (Meant to move to the ``sys`` rules module once it exists.)

    Example:
        >>> display_state("inactive", True), display_state("active", True)
        ('failed', 'active')
    """
    if state is None:
        return None
    if state == "inactive" and failed is True:
        return "failed"
    return str(state)
