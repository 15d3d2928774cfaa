"""Per-chunk summaries of float series: what a chart reads instead of every point.

A chunk's summary holds, for each block of at most :data:`BLOCK` consecutive points, the
block's first, last, minimum and maximum point (M4 of the block: at most four real stored
points, fewer when they coincide), as ``(int64 step, float64 value, float64 timestamp)``
little-endian records in step order. A chart whose pixel column spans at least a block then
draws the same picture from the summaries as from the points, reading about an eighth of
them; the series' first, last, smallest and largest points are always among the picks. A
second, coarse summary does the same for blocks of :data:`COARSE` points (about 1/256 of
the points), for charts whose columns span that many: a whole run's curve at a glance.

The format is a plain sequence of records with no header, so the summary of chunks merged
by a compaction is the concatenation of theirs (a merged block is still at most ``BLOCK``
points). A chunk written before summaries existed has none (``None``): readers fall back
to its points.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Sequence
from typing import Any

BLOCK = 32  # points per summary block; a divisor of the embedded store's open-chunk size (128)
COARSE = 1024  # points per block of the coarse summary
RECORD = "<qdd"  # step, value, timestamp of one picked point
_RECORD_SIZE = struct.calcsize(RECORD)


@dataclasses.dataclass(frozen=True)
class ChunkSummary:
    """A chunk's extent and point count, and its summary (the records described above, of
    blocks of ``block`` points; None for a chunk written before summaries existed)."""

    first_step: int
    last_step: int
    count: int
    picks: bytes | None
    block: int = BLOCK


def summarize(
    steps: Sequence[int], values: Sequence[float], stamps: Sequence[float], block: int = BLOCK
) -> bytes:
    """The summary of one chunk's points (arrays or sequences of equal length, step order) in
    blocks of ``block`` points.

    NaN is no minimum or maximum (as in the chart's own bucketing); a block of NaN keeps its
    first and last point.
    """
    n = len(steps)
    if n <= 4:  # every point is a pick: skip numpy on the one-point-per-batch path
        return b"".join(struct.pack(RECORD, steps[i], values[i], stamps[i]) for i in range(n))
    import numpy as np

    s = np.asarray(steps, dtype=np.int64)
    v = np.asarray(values, dtype=np.float64)
    t = np.asarray(stamps, dtype=np.float64)
    blocks = -(-n // block)
    pad = blocks * block - n
    nan = np.isnan(v)
    low = np.concatenate((np.where(nan, np.inf, v), np.full(pad, np.inf))).reshape(blocks, block)
    high = np.concatenate((np.where(nan, -np.inf, v), np.full(pad, -np.inf))).reshape(blocks, block)
    starts = np.arange(blocks) * block
    picks = np.concatenate(
        (
            starts,
            np.minimum(starts + block - 1, n - 1),
            starts + np.argmin(low, axis=1),  # all-NaN block: argmin is 0, the block's first
            starts + np.argmax(high, axis=1),
        )
    )
    picks = np.unique(np.minimum(picks, n - 1))
    out = np.empty(picks.size, dtype=RECORD_DTYPE)
    out["step"], out["value"], out["stamp"] = s[picks], v[picks], t[picks]
    return bytes(out.tobytes())


RECORD_DTYPE: Any = [("step", "<i8"), ("value", "<f8"), ("stamp", "<f8")]


def columns(picks: bytes) -> tuple[Any, Any, Any]:
    """(steps, values, stamps) numpy arrays of a summary's records."""
    import numpy as np

    if len(picks) % _RECORD_SIZE:
        raise ValueError(f"a chunk summary of {len(picks)} bytes is not whole {_RECORD_SIZE}-byte records")
    rec = np.frombuffer(picks, dtype=RECORD_DTYPE)
    return rec["step"], rec["value"], rec["stamp"]
