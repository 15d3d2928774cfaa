"""What the export's Parquet files themselves say a run holds (read with pyarrow, no naiad)."""

from __future__ import annotations

import collections
import struct
from decimal import Decimal
from typing import Any

import pyarrow.parquet as pq
from _neptune_export import Export


def rows_of(export: Export, project: str, run_id: str) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Every row of the run's parts, grouped by (attribute path, attribute type)."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = collections.defaultdict(list)
    parts = export.parts(project, run_id)
    assert parts, f"no parts for {project}/{run_id}"
    for part in parts:
        for row in pq.read_table(part).to_pylist():
            out[(row["attribute_path"], row["attribute_type"])].append(row)
    return out


def fixed(step: Decimal) -> int:
    return int(step * 1_000_000)


def bits(value: float) -> bytes:
    return struct.pack("<d", value)


QUIET_NAN = struct.unpack("<d", struct.pack("<Q", 0x7FF8000000000000))[0]


def float_points(rows: list[dict[str, Any]], shift_ms: int = 0) -> list[tuple[int, bytes, int]]:
    """(fixed step, value bits, timestamp ms) of float-series rows, in step order; a null value
    with a timestamp is NaN, a row with neither is no point."""
    points = []
    for r in rows:
        if r["float_value"] is None and r["timestamp"] is None:
            continue
        value = QUIET_NAN if r["float_value"] is None else r["float_value"]
        stamp = round(r["timestamp"].timestamp() * 1000) - shift_ms
        points.append((fixed(r["step"]), bits(value), stamp))
    return sorted(points)
