"""Float series for charts: stitched along the fork lineage, downsampled so that spikes survive.

Downsampling is M4 (Jugel et al., VLDB 2014): the x range is cut into one bucket per pixel
column and each bucket keeps its first, last, minimum and maximum point. A line drawn through
those is the same picture as one drawn through every point, so a single-point spike in a
million-point series is still there. Zooming asks again for the visible step range, which
then comes back in full detail once it holds few enough points.
"""

from __future__ import annotations

import base64
import itertools
import time
from typing import Any

from .._overview import float_overview
from .._read import Lineage, float_series, lineage
from .._storage import RunRecord, RunStore
from .._types import STEP_SCALE, FieldType

MAX_WIDTH = 4000  # buckets: a chart is never wider than this many pixels


def m4_indices(x: Any, y: Any, width: int) -> Any:
    """Indices (sorted) of the first, last, min and max point of each of ``width`` x buckets."""
    import numpy as np

    n = int(x.size)
    if n <= 4 * width:
        return np.arange(n)
    lo, hi = float(x[0]), float(x[-1])
    span = hi - lo
    if span <= 0:
        bucket = np.zeros(n, np.int64)
    else:
        bucket = np.minimum(((x - lo) * (width / span)).astype(np.int64), width - 1)
    starts = np.flatnonzero(np.concatenate(([True], bucket[1:] != bucket[:-1])))
    ends = np.concatenate((starts[1:], [n])) - 1
    group = np.repeat(np.arange(starts.size), np.diff(np.concatenate((starts, [n]))))
    nan = np.isnan(y)
    low = np.where(nan, np.inf, y)
    high = np.where(nan, -np.inf, y)
    picks = [starts, ends]
    for values, reduce in ((low, np.minimum), (high, np.maximum)):
        best = reduce.reduceat(values, starts)
        hit = np.flatnonzero(values == best[group])
        first = np.concatenate(([True], group[hit][1:] != group[hit][:-1]))  # first hit per bucket
        picks.append(hit[first])
    return np.unique(np.concatenate(picks))


def _floats(values: Any) -> list[Any]:
    """A float array as JSON-ready list: NaN and ±inf become None (a gap in the line)."""
    import numpy as np

    if values.size and not np.isfinite(values).all():
        out = values.astype(object)
        out[~np.isfinite(values)] = None
        return list(out.tolist())
    return list(values.tolist())


def packed(values: Any) -> str:
    """A float array as base64 of little-endian float64 (NaN and ±inf kept: the page makes them gaps).

    Encoding 100 runs' points this way takes milliseconds where JSON numbers take a quarter
    of a second, and the GIL-bound server encodes every chart on the screen in turn.
    """
    import numpy as np

    return base64.b64encode(np.ascontiguousarray(values, dtype="<f8").tobytes()).decode("ascii")


def series_paths(store: RunStore, records: list[RunRecord], with_lineage: bool) -> list[str]:
    """Every float-series path of the runs (and of their ancestors when stitching)."""
    seen: set[int] = set()
    paths: set[str] = set()
    for rec in records:
        chain = lineage(store, rec) if with_lineage else [(rec, None)]
        for run, _ in chain:
            if run.pk in seen:
                continue
            seen.add(run.pk)
            paths.update(f.path for f in store.fields(run.pk) if f.type == FieldType.FLOAT_SERIES)
    return sorted(paths)


def one_series(
    store: RunStore,
    record: RunRecord,
    chain: Lineage,
    path: str,
    *,
    x: str = "step",
    width: int = 1000,
    step_from: float | None = None,
    step_to: float | None = None,
    since: float | None = None,
    pack: bool = False,
) -> dict[str, Any]:
    """One run's series at ``path`` as the chart draws it.

    ``x`` is ``"step"`` or ``"time"`` (epoch seconds; the page makes it relative).
    ``since`` returns only the points after that step (live updates), not downsampled.
    ``pack``: ``x`` and ``y`` as :func:`packed` strings instead of lists of numbers.
    """
    import numpy as np

    lo = step_from if since is None else since
    buckets = max(1, min(width, MAX_WIDTH))
    if since is None:  # the chunks' summaries where they are fine enough for this many buckets
        cols = float_overview(store, chain, path, (lo, step_to), width=buckets, x=x)
        counts = cols["counts"]
    else:
        cols = float_series(store, chain, path, (lo, step_to))
    steps, values, stamps, source = cols["step"], cols["value"], cols["timestamp"], cols["source"]
    if since is not None:
        keep = steps > round(since * STEP_SCALE)
        steps, values, stamps, source = steps[keep], values[keep], stamps[keep], source[keep]
        counts = np.bincount(source, minlength=len(chain))
    n = int(counts.sum())
    xs = steps / STEP_SCALE if x == "step" else stamps
    if x != "step" and xs.size > 1 and np.any(np.diff(xs) < 0):  # clocks can step back across a fork
        order = np.argsort(xs, kind="stable")
        steps, values, xs, source = steps[order], values[order], xs[order], source[order]
    picked = m4_indices(xs, values, buckets) if since is None else np.arange(xs.size)
    names = [run.custom_id for run, _ in chain]
    segments = []
    if steps.size:
        cuts = np.flatnonzero(np.diff(source)) + 1
        for a, b in zip(np.concatenate(([0], cuts)), np.concatenate((cuts, [steps.size]))):
            segments.append(
                {
                    "run": names[int(source[a])],
                    "from": float(steps[a]) / STEP_SCALE,
                    "to": float(steps[b - 1]) / STEP_SCALE,
                    "n": int(counts[int(source[a])]),  # stored points, not just those drawn
                }
            )
    forks = []
    lo_fixed = None if lo is None else round(lo * STEP_SCALE)
    hi_fixed = None if step_to is None else round(step_to * STEP_SCALE)
    for (parent, limit), (child, _) in itertools.pairwise(chain):
        if limit is None:
            continue
        # a fork outside the asked step range has no place on this chart: no marker, not one
        # at the range's edge; inside it, the marker sits on the last point at or before it
        inside = (lo_fixed is None or limit >= lo_fixed) and (hi_fixed is None or limit <= hi_fixed)
        before = np.flatnonzero(steps <= limit) if inside else np.empty(0, np.int64)
        at = int(before[np.argmax(steps[before])]) if before.size else -1
        forks.append(
            {
                "step": limit / STEP_SCALE,
                "parent": parent.custom_id,
                "child": child.custom_id,
                "x": (limit / STEP_SCALE if x == "step" else float(xs[at])) if at >= 0 else None,
                "y": _floats(values[at : at + 1])[0] if at >= 0 else None,
            }
        )
    state, _ = store.run_state(record.pk, time.time())
    return {
        "run": record.custom_id,
        "path": path,
        "x": packed(xs[picked]) if pack else _floats(xs[picked]),
        "y": packed(values[picked]) if pack else _floats(values[picked]),
        "n": n,
        "downsampled": int(picked.size) < n,
        "last_step": float(steps[-1]) / STEP_SCALE if steps.size else since,
        "segments": segments,
        "forks": forks,
        "active": state == "active",
        **({"steps": _floats(steps / STEP_SCALE)} if since is not None else {}),
    }


def chart(
    store: RunStore,
    project: str,
    runs: list[str],
    paths: list[str],
    *,
    stitch: bool = True,
    since: list[float | None] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Series of several runs at several paths: ``{"charts": {path: [series, ...]}, "missing": [...]}``.

    ``since`` (live updates) holds one step per path, or one for every path.
    """
    records, missing = [], []
    for run_id in runs:
        rec = store.find_run(project, run_id)
        (missing.append(run_id) if rec is None else records.append(rec))
    chains: list[tuple[RunRecord, Lineage]] = [
        (rec, lineage(store, rec) if stitch else [(rec, None)]) for rec in records
    ]
    if since and len(since) not in (1, len(paths)):
        raise ValueError(
            f"Give one 'since' for every path or a single one; got {len(since)} for {len(paths)} paths."
        )
    out: dict[str, list[dict[str, Any]]] = {}
    for i, path in enumerate(paths):
        after = None if not since else since[i if len(since) > 1 else 0]
        out[path] = [one_series(store, rec, chain, path, since=after, **options) for rec, chain in chains]
    return {"charts": out, "missing": missing}
