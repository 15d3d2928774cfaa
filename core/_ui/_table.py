"""The runs table the UI shows: one page at a time, sensible default columns, series aggregates.

A page is one store selection (filtered, sorted and limited in the store, no field read) and
then every field of the page's runs only, so a 100,000-run project answers its first rows at
once; the total is counted apart (the page asks for it after drawing the rows). Columns are
items of a list: an exact path, a ``/regex/`` over the paths of the page's runs, or
``min(path)`` / ``max(path)`` / ``last(path)`` of a float series (the filter grammar's names).
Without columns the table picks a few useful ones (:func:`default_columns`); the page then
sends those back explicitly for the next pages and live refreshes, so every row of one table
has the same columns.
"""

from __future__ import annotations

import csv
import io
import re
import time
from typing import Any

from .. import _sys
from .._read import decode
from .._selection import selection
from .._storage import RunSelection, RunStore
from .._sys import display_state
from .._types import FieldType, float_from_store
from ._data import jsonable

BASE_COLUMNS = [
    _sys.CUSTOM_RUN_ID,
    _sys.EXPERIMENT_NAME,
    _sys.STATE,
    _sys.TAGS,
    _sys.FAILED,
    _sys.FORKING_PARENT,
    _sys.FORKING_STEP,
    _sys.CREATION_TIME,
]
AGGREGATE = re.compile(r"^(last|min|max)\((.+)\)$")
HYPER_NAMESPACES = ("config/", "params/", "parameters/", "hyperparams/", "args/", "training/hyperparams/")
MAX_HYPER, MAX_METRICS = 8, 6
# never a default column: content hashes, file names and locations, ids of other systems
_NOT_DEFAULT = re.compile(
    r"(?:^|/|_)(?:hash|sha\d*|md5|checksum|digest|path|file(?:name)?|dir|uuid|url)$", re.I
)
_HEXLIKE = re.compile(r"^[0-9a-f]{16,}$", re.I)


def parse_columns(text: str | None) -> list[str] | None:
    """The columns box: items separated by commas; ``/regex/`` items may hold commas."""
    if text is None or not text.strip():
        return None
    items, i, n = [], 0, len(text)
    while i < n:
        while i < n and text[i] in " ,\t":
            i += 1
        if i >= n:
            break
        if text[i] == "/":  # a regex runs to the next "/" followed by a comma or the end
            m = re.compile(r"/\s*(?:,|$)").search(text, i + 1)
            end = m.start() if m else n
            items.append(text[i : end + 1].strip())
            i = m.end() if m else n
        else:
            end = text.find(",", i)
            end = n if end < 0 else end
            items.append(text[i:end].strip())
            i = end + 1
    return [c for c in items if c]


def is_regex_item(item: str) -> bool:
    return len(item) > 2 and item.startswith("/") and item.endswith("/")


def _selection(
    project: str,
    heads: bool,
    filter: str | None,
    names: list[str] | None,
    sort: str | None = None,
    ascending: bool = True,
    limit: int | None = None,
) -> RunSelection:
    """The runs (or experiment heads) the table shows, as the store selects them."""
    return selection(project, heads, names, filter, False, sort, ascending, limit)


def count(store: RunStore, project: str, heads: bool, filter: str | None) -> int:
    """How many rows the whole table has (unsorted: counting needs no order)."""
    return store.count_runs(_selection(project, heads, filter, None), time.time())


def page_fields(store: RunStore, pks: list[int]) -> dict[int, dict[str, tuple[int, Any, Any, Any]]]:
    """Every field of these runs: ``{run pk: {path: (type, value, min, max)}}``."""
    out: dict[int, dict[str, tuple[int, Any, Any, Any]]] = {pk: {} for pk in pks}
    for pk, path, ftype, value in store.field_rows(pks):
        out[pk][path] = (ftype, value, None, None)
    for pk, path, vmin, vmax in store.series_extremes(pks):
        run = out[pk]
        if path in run:
            run[path] = (run[path][0], run[path][1], vmin, vmax)
    return out


def _atom(own: dict[str, tuple[int, Any, Any, Any]], path: str) -> Any:
    """A sys atom of a run as JSON (None when the run does not have it)."""
    entry = own.get(path)
    return None if entry is None else jsonable(decode(entry[0], entry[1]))


def default_columns(fields: list[dict[str, tuple[int, Any, Any, Any]]]) -> list[str]:
    """Key hyperparameters (those that differ first), then the last value of the main metrics."""
    types: dict[str, int] = {}
    values: dict[str, set[str]] = {}
    for run in fields:
        for path, (ftype, value, _, _) in run.items():
            if _sys.is_sys(path) or _NOT_DEFAULT.search(path):
                continue
            types.setdefault(path, ftype)
            if (
                ftype == FieldType.STRING
                and isinstance(value, str)
                and (_HEXLIKE.match(value) or "/" in value)
            ):
                types[path] = -1  # hashes and file locations make poor columns
            values.setdefault(path, set()).add(repr(value))
    hyper = [p for p, t in types.items() if t >= 0 and FieldType(t).is_value]

    def hyper_rank(p: str) -> tuple[int, int, str]:
        namespaced = any(p.startswith(ns) or f"/{ns}" in p for ns in HYPER_NAMESPACES)
        return (0 if len(values[p]) > 1 else 1, 0 if namespaced else 1, p)

    hyper = sorted(hyper, key=hyper_rank)[:MAX_HYPER]
    metrics = [p for p, t in types.items() if t == FieldType.FLOAT_SERIES]

    def metric_rank(p: str) -> tuple[int, int, str]:
        phase = next(
            (i for i, k in enumerate(("val", "eval", "test", "train")) if f"{k}/" in p or p.startswith(k)), 4
        )
        name = next((i for i, k in enumerate(("loss", "acc", "f1", "error")) if k in p.rsplit("/", 1)[-1]), 4)
        return (phase, name, p)

    metrics = sorted(metrics, key=metric_rank)[:MAX_METRICS]
    return [*sorted(hyper), *sorted(metrics)]


def expand(columns: list[str], fields: list[dict[str, tuple[int, Any, Any, Any]]]) -> list[str]:
    """``/regex/`` items replaced by the matching paths of the page's runs (sorted), in place."""
    out: list[str] = []
    paths = sorted({p for run in fields for p in run})
    for item in columns:
        if is_regex_item(item):
            try:
                pattern = re.compile(item[1:-1])
            except re.error as e:
                raise ValueError(f"Invalid regular expression {item!r} in the columns: {e}.") from None
            out += [p for p in paths if pattern.search(p) and p not in BASE_COLUMNS]
        else:
            out.append(item)
    return list(dict.fromkeys(out))


def cell(entry: tuple[int, Any, Any, Any] | None, column: str) -> Any:
    """One cell: an atom's value, a series' last value, or ``min(...)`` / ``max(...)`` of it."""
    agg = AGGREGATE.match(column)
    if entry is None:
        return None
    ftype, value, vmin, vmax = entry
    if agg and agg.group(1) in ("min", "max"):
        if ftype != FieldType.FLOAT_SERIES:
            return None
        return jsonable(vmin if agg.group(1) == "min" else vmax)
    if ftype in (FieldType.FLOAT, FieldType.FLOAT_SERIES):
        return jsonable(float_from_store(value) if isinstance(value, bytes) else value)
    if FieldType(ftype).is_value:
        return jsonable(decode(ftype, value))
    if ftype in (FieldType.STRING_SERIES,):
        return jsonable(value)
    if ftype == FieldType.FILE:
        meta = decode(ftype, value) or {}
        return f"{meta.get('name') or 'file'} ({meta.get('size', 0)} B)"
    return None  # file series, histograms, artifacts: shown on the run page


def field_of(column: str) -> str:
    agg = AGGREGATE.match(column)
    return agg.group(2) if agg else column


def runs_table(
    store: RunStore,
    project: str,
    *,
    heads: bool,
    filter: str | None,
    columns: list[str] | None,
    sort: str | None,
    ascending: bool,
    offset: int = 0,
    limit: int | None = None,
    runs: list[str] | None = None,
    with_total: bool = True,
) -> dict[str, Any]:
    """Rows ``offset`` … ``offset + limit`` of the runs (or experiments) table, and the total.

    ``total`` is None when it is not known without counting and ``with_total`` is False (the
    page then asks ``count`` separately, so the first rows never wait for a count).
    """
    now = time.time()
    stop = None if limit is None else offset + limit
    sort_by = field_of(sort) if sort else _sys.CREATION_TIME
    sel = _selection(project, heads, filter or None, runs, sort_by, ascending, stop)
    chosen = store.select_runs(sel, now)  # sorted and limited by the store: one query
    total = len(chosen) if stop is None or len(chosen) < stop else None
    chosen = chosen[offset:]
    if runs is not None:
        total = None
    elif total is None and with_total:
        total = count(store, project, heads, filter or None)
    pks = [pk for pk, _ in chosen]
    fields = page_fields(store, pks) if pks else {}
    per_row = [fields[pk] for pk in pks]
    shown = expand(columns, per_row) if columns is not None else default_columns(per_row)
    active = store.active_runs(pks, now) if pks else set()
    rows = []
    for (pk, key), own in zip(chosen, per_row):
        failed = _atom(own, _sys.FAILED) is True
        rows.append(
            {
                "key": key,
                "run": str(_atom(own, _sys.CUSTOM_RUN_ID) or key),
                "experiment": _atom(own, _sys.EXPERIMENT_NAME),
                "state": display_state(_sys.state(pk in active), failed),
                "tags": _atom(own, _sys.TAGS) or [],
                "failed": failed,
                "parent": _atom(own, _sys.FORKING_PARENT),
                "fork_step": _atom(own, _sys.FORKING_STEP),
                "created": _atom(own, _sys.CREATION_TIME),
                "cells": [cell(own.get(field_of(c)), c) for c in shown],
            }
        )
    types = {}
    for own in per_row:
        for c in shown:
            entry = own.get(field_of(c))
            if entry is not None and c not in types:
                types[c] = FieldType(entry[0]).label
    return {"columns": shown, "types": types, "rows": rows, "total": total, "offset": offset}


def table_csv(table: dict[str, Any], heads: bool) -> bytes:
    """A table as CSV: the name, state, parent and every shown column, as the page shows them."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["experiment" if heads else "run", "run", "state", "tags", "parent", "fork_step", *table["columns"]]
    )
    for r in table["rows"]:
        cells = [";".join(v) if isinstance(v, list) else v for v in r["cells"]]
        writer.writerow(
            [r["key"], r["run"], r["state"], ";".join(r["tags"]), r["parent"], r["fork_step"], *cells]
        )
    return out.getvalue().encode()
