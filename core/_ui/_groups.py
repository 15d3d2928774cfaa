"""Runs grouped by a field (experiment, tags, any config value): one curve per group, the mean
over its runs with a ± std band and the min/max envelope.

Runs rarely log at the same steps, so each run is first averaged into a shared grid of step
buckets (one per few pixels); the group's statistics are taken across its runs per bucket,
counting only runs that have points there.
"""

from __future__ import annotations

from typing import Any

from .. import _sys
from .._read import Lineage, decode, float_series, lineage
from .._storage import RunRecord, RunStore
from .._types import STEP_SCALE, FieldType
from ._series import _floats

MAX_BUCKETS = 600
NONE = "(none)"


def group_key(store: RunStore, rec: RunRecord, by: str) -> str:
    """The value a run is grouped under: the field at ``by`` as text (sets: sorted, joined)."""
    if by == _sys.EXPERIMENT_NAME:
        return rec.experiment or NONE
    f = store.field(rec.pk, by)
    if f is None or f.value is None:
        return NONE
    value = decode(f.type, f.value)
    if isinstance(value, (set, frozenset, list)):
        return ", ".join(sorted(map(str, value))) or NONE
    if f.type == FieldType.FLOAT:
        return f"{value:g}"
    return str(value)


def grouped(
    store: RunStore,
    project: str,
    runs: list[str],
    path: str,
    by: str,
    *,
    stitch: bool = True,
    width: int = 300,
    step_from: float | None = None,
    step_to: float | None = None,
) -> dict[str, Any]:
    """``{"groups": [{key, runs, x, mean, std, lo, hi, min, max, n}], "by": by}`` for one metric."""
    import numpy as np

    buckets = max(2, min(width, MAX_BUCKETS))
    members: dict[str, list[tuple[str, Any, Any]]] = {}
    lo, hi = np.inf, -np.inf
    for run in runs:
        rec = store.find_run(project, run)
        if rec is None:
            continue
        chain: Lineage = lineage(store, rec) if stitch else [(rec, None)]
        cols = float_series(store, chain, path, (step_from, step_to))
        xs, ys = cols["step"] / STEP_SCALE, cols["value"]
        key = group_key(store, rec, by)
        members.setdefault(key, []).append((run, xs, ys))
        if xs.size:
            lo, hi = min(lo, float(xs[0])), max(hi, float(xs[-1]))
    if not np.isfinite(lo):
        return {
            "by": by,
            "path": path,
            "groups": [
                {
                    "key": k,
                    "runs": [r for r, _, _ in m],
                    "x": [],
                    "mean": [],
                    "std": [],
                    "lo": [],
                    "hi": [],
                    "min": [],
                    "max": [],
                    "n": [],
                }
                for k, m in sorted(members.items())
            ],
        }
    span = hi - lo
    edges = np.linspace(lo, hi if span > 0 else lo + 1, buckets + 1)
    centers = (edges[:-1] + edges[1:]) / 2
    out = []
    for key, items in sorted(members.items()):
        table = np.full((len(items), buckets), np.nan)
        for i, (_, xs, ys) in enumerate(items):
            ok = np.isfinite(ys)
            if not ok.any():
                continue
            b = np.clip(np.searchsorted(edges, xs[ok], side="right") - 1, 0, buckets - 1)
            sums = np.bincount(b, ys[ok], buckets)
            counts = np.bincount(b, None, buckets)
            with np.errstate(invalid="ignore", divide="ignore"):
                table[i] = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        n = np.sum(np.isfinite(table), axis=0)
        keep = n > 0
        with np.errstate(invalid="ignore"):
            t = table[:, keep]
            mean = np.nanmean(t, axis=0) if t.size else np.empty(0)
            std = np.nanstd(t, axis=0) if t.size else np.empty(0)
            mn = np.nanmin(t, axis=0) if t.size else np.empty(0)
            mx = np.nanmax(t, axis=0) if t.size else np.empty(0)
        out.append(
            {
                "key": key,
                "runs": [r for r, _, _ in items],
                "x": _floats(centers[keep]),
                "mean": _floats(mean),
                "std": _floats(std),
                "lo": _floats(mean - std),
                "hi": _floats(mean + std),
                "min": _floats(mn),
                "max": _floats(mx),
                "n": [int(v) for v in n[keep]],
            }
        )
    return {"by": by, "path": path, "groups": out}
