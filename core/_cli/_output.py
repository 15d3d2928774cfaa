"""Output for the ``naiad`` command: cells, tables (rich, imported lazily), CSV, JSON, progress."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TextIO

from .._types import FieldType

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

WIDE = 220  # when stdout is not a terminal, tables are not squeezed into 80 columns


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else WIDE
    # markup and emoji off: run ids, names and values from the store are text, never markup
    return Console(file=stream, width=width, highlight=False, soft_wrap=False, markup=False, emoji=False)


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True  # a float column cannot tell a stored NaN from a run without the field
    pd = sys.modules.get("pandas")  # only a pandas frame holds NA / NaT; never import it for this
    return pd is not None and (value is pd.NA or value is pd.NaT)


def cell(value: Any) -> str:
    """A value as short terminal text."""
    if is_missing(value):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (set, frozenset, list, tuple)):
        return ", ".join(sorted(map(str, value)))
    if isinstance(value, dict):
        return str(value.get("name", json.dumps(value)))
    return str(value)


def plain(value: Any, nan: str | None = None) -> Any:
    """A value as JSON takes it: ISO times, sorted lists for sets, null for missing.

    In a table NaN means "no value" (pandas cannot tell); ``nan="nan"`` keeps a stored NaN.
    """
    if nan is not None and isinstance(value, float) and math.isnan(value):
        return nan
    if is_missing(value):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN / inf
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    name = str(frame.index.name or "index")
    out = []
    for label, row in zip(frame.index, frame.itertuples(index=False, name=None)):
        item: dict[str, Any] = {name: label}
        item.update({str(col): plain(v) for col, v in zip(frame.columns, row)})
        out.append(item)
    return out


def flat(frame: pd.DataFrame, sets_as: str) -> pd.DataFrame:
    """Sets become sorted lists (``list``, for Parquet) or JSON text (``json``, for CSV)."""
    frame = frame.copy()
    for col in frame.columns:
        if frame[col].dtype == object and any(isinstance(v, (set, frozenset, dict)) for v in frame[col]):
            frame[col] = [_flat_value(v, sets_as) for v in frame[col]]
    return frame


def _flat_value(value: Any, sets_as: str) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(value) if sets_as == "list" else json.dumps(sorted(value))
    if isinstance(value, dict):
        return json.dumps(value)
    return value


def table(frame: pd.DataFrame, title: str | None = None, caption: str | None = None) -> None:
    rows_table(
        str(frame.index.name or ""),
        [str(label) for label in frame.index],
        [str(col) for col in frame.columns],
        [
            frame[col].dtype.kind in "iufb" or str(frame[col].dtype) in ("Int64", "boolean")
            for col in frame.columns
        ],
        frame.itertuples(index=False, name=None),
        title=title,
        caption=caption,
    )


_NUMERIC_TYPES = {
    int(FieldType.FLOAT),
    int(FieldType.INTEGER),
    int(FieldType.BOOLEAN),
    int(FieldType.FLOAT_SERIES),
}


def is_numeric(types: set[int]) -> bool:
    """Whether a column of these stored types is right-aligned (as a numeric frame column is)."""
    return bool(types) and types <= _NUMERIC_TYPES


def rows_table(
    index_name: str,
    labels: Sequence[str],
    columns: Sequence[str],
    numeric: Sequence[bool],
    rows: Iterable[Sequence[Any]],
    title: str | None = None,
    caption: str | None = None,
) -> None:
    """A rich table: one labelled row per item, cells as :func:`cell` writes them."""
    from rich.table import Table

    t = Table(title=title, caption=caption, show_lines=False, header_style="bold")
    t.add_column(index_name, no_wrap=True, style="cyan")
    for col, right in zip(columns, numeric):
        t.add_column(col, justify="right" if right else "left", overflow="fold")
    for label, row in zip(labels, rows):
        t.add_row(str(label), *(cell(v) for v in row))
    console().print(t)


def write(frame: pd.DataFrame, fmt: str, out: TextIO | None = None, **table_args: Any) -> None:
    """Print ``frame`` as a table, CSV or JSON."""
    out = out or sys.stdout
    if fmt == "table":
        table(frame, **table_args)
    elif fmt == "csv":
        flat(frame, "json").to_csv(out, date_format="%Y-%m-%dT%H:%M:%S.%f%z")
    else:
        json.dump(records(frame), out, indent=2, ensure_ascii=False)
        out.write("\n")


@contextmanager
def progress(description: str, total: int | None = None) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr (only when stderr is a terminal); yields ``update(done, total)``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    err = console(stderr=True)
    bar = Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    with bar:
        task = bar.add_task(description, total=total)

        def update(done: int, of: int) -> None:
            bar.update(task, completed=done, total=of)

        yield update
