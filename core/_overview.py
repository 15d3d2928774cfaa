"""A float series read for a chart of a given width: chunk summaries where they are fine enough.

A chart of ``width`` pixel columns over a range of ten million points needs at most four
points per column (M4, :func:`naiad._ui._series.m4_indices`). Every stored chunk carries the
M4 picks of its blocks of ``BLOCK`` points, and of ``COARSE`` points
(:mod:`naiad._storage._summary`), so for a chunk wholly inside the range whose blocks are no
wider than a pixel column, those picks draw the same picture as its points, at about an
eighth of the read (1/256 for the coarse ones, tried first). The points themselves are read
only for the chunks at the range's edges, the chunks stored without a summary, and where a
column is narrower than a block (zoomed in). Every returned point is a stored point, and a
series' first, last, smallest and largest points in the range are always among them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._read import Columns, Lineage, owner_dtype, read_chunks, read_plan
from ._storage._summary import ChunkSummary, columns
from ._types import STEP_SCALE

if TYPE_CHECKING:
    from ._storage._protocol import Store


def float_overview(
    store: Store,
    chain: Lineage,
    path: str,
    step_range: tuple[float | None, float | None] = (None, None),
    *,
    width: int,
    x: str = "step",
) -> dict[str, Any]:
    """Columns (step, value, timestamp, source) of a float series along ``chain``, reduced
    for a chart ``width`` buckets wide along ``x`` (``"step"`` or ``"time"``), and
    ``counts``: how many stored points each link has in the range (what was summarized
    included), so a caller can say how many points the chart stands for.
    """
    import numpy as np

    lo, hi = (None if v is None else round(v * STEP_SCALE) for v in step_range)
    plan = read_plan(store, chain, path, lo, hi)
    # per link: its chunks, each with its decoded picks (None: read the points)
    links: list[tuple[int, int, int, list[tuple[ChunkSummary, Any]]]] = []
    x_lo, x_hi = np.inf, -np.inf
    for i, pk, top, _ in plan:
        chunks = []
        for c in store.chunk_summaries(pk, path, top, min_step=lo, coarse=True):
            inside = c.picks is not None and (lo is None or c.first_step >= lo) and c.last_step <= top
            picks = columns(c.picks) if inside and c.picks else None
            chunks.append((c, picks))
            if picks is not None:
                xs = picks[0] if x == "step" else picks[2]
                x_lo, x_hi = min(x_lo, float(xs[0]), float(xs[-1])), max(x_hi, float(xs[0]), float(xs[-1]))
            elif x == "step":  # an edge or an old chunk: its step extent is known without reading it
                first = c.first_step if lo is None else max(lo, c.first_step)
                x_lo, x_hi = min(x_lo, first), max(x_hi, min(top, c.last_step))
        links.append((i, pk, top, chunks))
    raw: dict[tuple[int, int], Any] = {}
    if x != "step":  # time: the extent of the chunks read point by point is known once read
        for i, pk, top, chunks in links:
            for c, picks in chunks:
                if picks is None:
                    raw[(i, c.first_step)] = got = _points(store, chain, i, pk, path, c, lo, top)
                    if got[0].size:
                        x_lo, x_hi = min(x_lo, float(got[2].min())), max(x_hi, float(got[2].max()))
    bucket = (x_hi - x_lo) / max(1, width) if x_hi > x_lo else 0.0
    parts: list[tuple[Any, Any, Any, int]] = []
    counts = np.zeros(len(chain), np.int64)
    for i, pk, top, chunks in links:
        finer: dict[int, ChunkSummary] | None = None  # the link's summaries of BLOCK points, once needed
        for c, coarse in chunks:
            cols: tuple[Any, Any, Any] | None = None
            if coarse is not None and _fine(coarse, x, c, bucket):
                cols = coarse
            if cols is None and coarse is not None:  # its coarse blocks are too wide: the fine ones?
                if finer is None:
                    finer = {f.first_step: f for f in store.chunk_summaries(pk, path, top, min_step=lo)}
                f = finer.get(c.first_step)
                picks = columns(f.picks) if f is not None and f.picks and f.count == c.count else None
                cols = picks if picks is not None and f is not None and _fine(picks, x, f, bucket) else None
            if cols is not None:
                counts[i] += c.count
            else:
                known = raw.get((i, c.first_step))
                cols = known if known is not None else _points(store, chain, i, pk, path, c, lo, top)
                counts[i] += cols[0].size
            parts.append((*cols, i))
    if parts:
        steps = np.concatenate([p[0] for p in parts])
        values = np.concatenate([p[1] for p in parts])
        stamps = np.concatenate([p[2] for p in parts])
        source = np.concatenate([np.full(p[0].size, p[3], owner_dtype(np, chain)) for p in parts])
    else:
        steps, values, stamps = np.empty(0, np.int64), np.empty(0), np.empty(0)
        source = np.empty(0, owner_dtype(np, chain))
    return {"step": steps, "value": values, "timestamp": stamps, "source": source, "counts": counts}


def _points(
    store: Store, chain: Lineage, link: int, pk: int, path: str, c: ChunkSummary, lo: int | None, top: int
) -> tuple[Any, Any, Any]:
    """The stored points of one chunk within [lo, top] as (steps, values, stamps)."""
    import numpy as np

    out = Columns(np, c.count, owner_dtype(np, chain))
    first = c.first_step if lo is None else max(lo, c.first_step)
    read_chunks(store, out, link, pk, path, first, min(top, c.last_step))
    steps, values, stamps, _ = out.finish()
    return steps, values, stamps


def _fine(picks: tuple[Any, Any, Any], x: str, c: ChunkSummary, bucket: float) -> bool:
    """Whether a chunk's picks draw what its points would, in pixel columns ``bucket`` wide
    along ``x``: when they are all its points, or its blocks fit in a column."""
    xs = picks[0] if x == "step" else picks[2]
    if xs.size == c.count:
        return True
    span = abs(float(xs[-1]) - float(xs[0])) * c.block / (c.count - 1)  # the mean span of a block
    return span <= bucket
