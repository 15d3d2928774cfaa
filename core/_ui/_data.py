"""What the UI's JSON API returns: a run's fields, string series, files, lineage and
comparisons (the runs table is :mod:`._table`). Every value is made JSON-safe here."""

from __future__ import annotations

import math
import time
from datetime import datetime
from typing import Any

from .. import _sys
from .._files import safe_filename
from .._read import decode, lineage, other_series
from .._storage import FieldRecord, RunRecord, RunStore
from .._types import STEP_SCALE, FieldType
from ..errors import FieldNotFound, RunNotFound

MAX_FILES = 1000  # newest entries of a FileSeries listed on the run page


def jsonable(value: Any) -> Any:
    """A value from the store or a DataFrame cell, as JSON (NaN → None, big ints → str)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else (None if value != value else str(value))
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (set, frozenset, list, tuple)):
        return (
            sorted(str(v) for v in value)
            if isinstance(value, (set, frozenset))
            else [jsonable(v) for v in value]
        )
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    item = getattr(value, "item", None)  # numpy / pandas scalars
    if item is not None and getattr(value, "shape", None) == ():
        return jsonable(item())
    iso = getattr(value, "isoformat", None)  # pandas Timestamp
    if iso is not None:
        return None if str(value) == "NaT" else iso()
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError, ImportError):
        pass
    return str(value)


def find(store: RunStore, project: str, run_id: str) -> RunRecord:
    rec = store.find_run(project, run_id)
    if rec is None:
        raise RunNotFound(f"No run '{run_id}' in project '{project}'.")
    return rec


def column_paths(store: RunStore, project: str, limit_runs: int = 300) -> list[dict[str, Any]]:
    """Field paths present in the project's newest runs, with their types (for column pickers)."""
    found: dict[str, int] = {}
    records = list(store.iter_runs(project))[-limit_runs:]
    for rec in records:
        for f in store.fields(rec.pk):
            found.setdefault(f.path, f.type)
    return [{"path": p, "type": FieldType(t).label} for p, t in sorted(found.items())]


def field_value(rec: FieldRecord) -> Any:
    """A field as the run page shows it."""
    t = FieldType(rec.type)
    value = decode(rec.type, rec.value)
    if t is FieldType.FILE:
        return {"name": value.get("name"), "size": value.get("size"), "mime": value.get("mime")}
    if t is FieldType.ARTIFACT:
        return {"files": len(value.get("files", [])), "hash": value.get("hash")}
    if t is FieldType.FILE_SERIES:
        return {"name": value.get("name") if isinstance(value, dict) else None}
    return jsonable(value)


def run_detail(store: RunStore, project: str, run_id: str) -> dict[str, Any]:
    """A run's fields, files, string series, sys attributes and lineage."""
    rec = find(store, project, run_id)
    fields = store.fields(rec.pk)
    out_fields, files, strings = [], [], []
    for f in fields:
        t = FieldType(f.type)
        entry = {
            "path": f.path,
            "type": t.label,
            "value": field_value(f),
            "step": None if f.step is None else f.step / STEP_SCALE,
            "count": f.count,
        }
        out_fields.append(entry)
        if t is FieldType.FILE:
            files.append({"path": f.path, "step": None, **entry["value"]})
        elif t is FieldType.FILE_SERIES:
            for step, _, raw in store.points(rec.pk, f.path, None)[-MAX_FILES:]:
                meta = decode(f.type, raw)
                files.append(
                    {
                        "path": f.path,
                        "step": step / STEP_SCALE,
                        "name": meta.get("name"),
                        "size": meta.get("size"),
                        "mime": meta.get("mime"),
                    }
                )
        elif t is FieldType.STRING_SERIES:
            strings.append(f.path)
    chain = lineage(store, rec)
    state, _ = store.run_state(rec.pk, time.time())
    failed = store.field(rec.pk, _sys.FAILED)
    return {
        "run": rec.custom_id,
        "sys_id": rec.sys_id,
        "experiment": rec.experiment,
        "state": _sys.display_state(state, failed is not None and bool(failed.value)),
        "failed": failed is not None and bool(failed.value),
        "failure": failure({f.path: f for f in fields})
        if failed is not None and bool(failed.value)
        else None,
        "fields": out_fields,
        "files": files,
        "string_series": strings,
        "lineage": {
            "chain": [
                {"run": r.custom_id, "until": None if lim is None else lim / STEP_SCALE} for r, lim in chain
            ],
            "parent": None if rec.parent_pk is None else store.get_run(rec.parent_pk).custom_id,
            "fork_step": None if rec.fork_step is None else rec.fork_step / STEP_SCALE,
            "children": [
                {"run": c.custom_id, "fork_step": None if c.fork_step is None else c.fork_step / STEP_SCALE}
                for c in store.children(rec.pk)
            ],
        },
    }


def failure(fields: dict[str, FieldRecord]) -> dict[str, Any]:
    """What ended a failed run: the stored traceback, else the exception's message."""
    text = {}
    for key, path in (("traceback", _sys.DIAGNOSTICS_TRACEBACK), ("exception", _sys.DIAGNOSTICS_EXCEPTION)):
        f = fields.get(path)
        if f is not None and f.type == FieldType.STRING and f.value:
            text[key] = str(f.value)
    return {"traceback": text.get("traceback"), "exception": text.get("exception")}


def string_series(
    store: RunStore, project: str, run_id: str, path: str, tail: int = 1000, since: float | None = None
) -> dict[str, Any]:
    """The last ``tail`` lines of a string series (stitched along the lineage), or those after ``since``."""
    rec = find(store, project, run_id)
    field = store.field(rec.pk, path)
    if field is None or field.type != FieldType.STRING_SERIES:
        raise FieldNotFound(f"Run '{run_id}' has no string series '{path}'.")
    cols = other_series(
        store,
        lineage(store, rec),
        path,
        field.type,
        (since, None) if since is not None else (None, None),
        tail,
    )
    steps, values, stamps = cols["step"], cols["value"], cols["timestamp"]
    lines = [
        {"step": s / STEP_SCALE, "time": t, "text": str(v)}
        for s, v, t in zip(steps.tolist(), values.tolist(), stamps.tolist())
        if since is None or s > since * STEP_SCALE
    ]
    return {"run": run_id, "path": path, "lines": lines, "count": field.count}


def file_blob(
    store: RunStore, project: str, run_id: str, path: str, step: float | None
) -> tuple[str, str, int]:
    """(sha256, download name, size) of a File, or of one FileSeries entry at ``step``."""
    rec = find(store, project, run_id)
    field = store.field(rec.pk, path)
    if field is None or field.type not in (FieldType.FILE, FieldType.FILE_SERIES):
        raise FieldNotFound(f"Run '{run_id}' has no file at '{path}'.")
    stem = path.rsplit("/", 1)[-1]
    if field.type == FieldType.FILE:
        meta = decode(field.type, field.value)
    else:
        if step is None:
            raise FieldNotFound(f"'{path}' is a FileSeries: give the step of the file to download.")
        fixed = round(step * STEP_SCALE)
        match = [raw for s, _, raw in store.points(rec.pk, path, fixed) if s == fixed]
        if not match:
            raise FieldNotFound(f"'{path}' has no file at step {step:g}.")
        meta = decode(field.type, match[0])
        stem = f"{stem}_{step:g}"
    return meta["sha256"], safe_filename(stem, meta.get("name") or ""), int(meta.get("size") or 0)


def compare(store: RunStore, project: str, runs: list[str]) -> dict[str, Any]:
    """Atom values (and series' last values) of several runs side by side, marking differences."""
    values: dict[str, dict[str, Any]] = {}
    types: dict[str, str] = {}
    for run_id in runs:
        rec = find(store, project, run_id)
        for f in store.fields(rec.pk):
            t = FieldType(f.type)
            if t.is_value or t is FieldType.FLOAT_SERIES:
                values.setdefault(f.path, {})[run_id] = field_value(f)
                types.setdefault(f.path, t.label)
    rows = []
    for path in sorted(values):
        cells = [values[path].get(r) for r in runs]
        rows.append(
            {
                "path": path,
                "type": types[path],
                "values": cells,
                "differs": any(c != cells[0] for c in cells[1:]),
            }
        )
    return {"runs": runs, "rows": rows}
