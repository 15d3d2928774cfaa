"""Reading export parts: record batches, bounded in size, and their columns as numpy arrays.

A part that cannot be read (truncated, not Parquet, a column missing) raises
:class:`ExportError` naming the file. Steps are ``decimal128(18, 6)``: their unscaled
integers *are* naiad's fixed-point steps (1e-6), read straight from the Arrow buffer so
that no step is rounded through a float.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._types import STEP_SCALE
from ..errors import NaiadError

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa  # type: ignore[import-untyped]

BATCH_ROWS = 131_072  # rows decoded at a time: bounds the memory one batch takes
COLUMNS = (
    "project_id",
    "run_id",
    "attribute_path",
    "attribute_type",
    "step",
    "timestamp",
    "int_value",
    "float_value",
    "string_value",
    "bool_value",
    "datetime_value",
    "string_set_value",
    "file_value",
    "histogram_value",
)


class ExportError(NaiadError, ValueError):
    """The export cannot be imported as it is: an unreadable part, or one of another format."""


def batches(path: Path, columns: tuple[str, ...] | None = None) -> Iterator[pa.RecordBatch]:
    """The record batches of one part; :class:`ExportError` naming ``path`` when unreadable."""
    import pyarrow as pa
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    try:
        reader = pq.ParquetFile(path)
        names = set(reader.schema_arrow.names)
        missing = [c for c in (columns or COLUMNS) if c not in names]
        if missing:
            raise ExportError(
                f"Export part {path} lacks the column(s) {', '.join(missing)}: it was not written "
                "by neptune-exporter (or by a version this importer does not know)."
            )
        iterator = reader.iter_batches(batch_size=BATCH_ROWS, columns=list(columns or COLUMNS))
    except (pa.ArrowException, OSError) as e:
        raise unreadable(path, e) from e
    while True:
        try:
            batch = next(iterator)
        except StopIteration:
            pa.default_memory_pool().release_unused()  # parts are large: give their pages back
            return
        except (pa.ArrowException, OSError) as e:
            raise unreadable(path, e) from e
        yield batch


def unreadable(path: Path, error: Exception) -> ExportError:
    return ExportError(
        f"Cannot read export part {path}: {error}. Nothing was imported (every part is read "
        "before the first write); export this run again, or move the file away, and import again."
    )


def fixed_steps(column: pa.Array) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(fixed-point steps, valid mask) of a step column."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc  # type: ignore[import-untyped]

    valid = _valid(column)
    n = len(column)
    kind = column.type
    if pa.types.is_decimal128(kind) and 0 <= kind.scale <= 6 and n:
        words = np.frombuffer(column.buffers()[1], dtype="<i8", count=2 * (column.offset + n))
        low = words[2 * column.offset :: 2]
        high = words[2 * column.offset + 1 :: 2]
        if np.array_equal(high[valid], low[valid] >> 63):  # every value fits in an int64
            steps = low.astype(np.int64, copy=True)
            steps[~valid] = 0
            return steps * (10 ** (6 - kind.scale)), valid
    if n == 0:
        return np.empty(0, np.int64), valid
    as_float = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
    steps = np.where(valid, np.round(np.nan_to_num(as_float) * STEP_SCALE), 0).astype(np.int64)
    return steps, valid


def micros(column: pa.Array) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(microseconds since the epoch, valid mask) of a timestamp column."""
    import numpy as np
    import pyarrow as pa

    valid = _valid(column)
    if len(column) == 0:
        return np.empty(0, np.int64), valid
    as_us = column.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
    return as_us.fill_null(0).to_numpy(), valid


def float_bits(column: pa.Array) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(float64 values bit for bit, NaN payloads and -0.0 included; valid mask)."""
    import numpy as np

    valid = _valid(column)
    n = len(column)
    if n == 0:
        return np.empty(0, np.float64), valid
    values = np.frombuffer(column.buffers()[1], dtype="<f8", count=column.offset + n)[column.offset :]
    return values.copy(), valid


def _valid(column: pa.Array) -> np.ndarray[Any, Any]:
    import numpy as np

    if column.null_count == 0:
        return np.ones(len(column), dtype=bool)
    mask: np.ndarray[Any, Any] = column.is_valid().to_numpy(zero_copy_only=False)
    return mask
