"""One export part into the typed ops of one transaction.

Float series, the bulk of any export, are handled column-wise: rows grouped by path, sorted
by step (row order is not relied on), steps taken exactly from the decimal column, values
bit for bit (NaN payloads, ±inf, -0.0). A float-series row whose value is null but which has
a timestamp is a NaN point: that is how the exporter's pandas frames write NaN. Everything
else (parameters, string and histogram series, files) goes row by row. What is not kept is
counted in the run's report, with the reason.
"""

from __future__ import annotations

import dataclasses
import json
from array import array
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._paths import check_path
from .._storage import Assign, Floats, Op, Points
from .._types import MAX_STEP, MAX_STRING_BYTES, STEP_SCALE, FieldType, Histogram, float_bits, to_micros
from ..errors import FieldValueError, PathError
from . import _report as why
from ._attached import Attachments, Refused
from ._parts import batches, fixed_steps, micros
from ._parts import float_bits as float_column
from ._scan import VALUE_COLUMN, RunInfo
from ._sysmap import target

if TYPE_CHECKING:
    import pyarrow as pa  # type: ignore[import-untyped]

CHUNK_POINTS = 65_536  # points per Floats op: the store keeps chunks a range read can skip
QUIET_NAN = 0x7FF8000000000000
_PARAMETERS = {
    "float": FieldType.FLOAT,
    "int": FieldType.INTEGER,
    "string": FieldType.STRING,
    "bool": FieldType.BOOLEAN,
    "datetime": FieldType.DATETIME,
    "string_set": FieldType.STRING_SET,
}
_FLOAT_POINT_BYTES, _POINT_BYTES, _ATOM_BYTES = 16, 24, 32  # as the writer counts sys/size


@dataclasses.dataclass
class PartContext:
    """What converting the parts of one run needs."""

    info: RunInfo
    attachments: Attachments
    report: why.RunReport
    creation_micros: int  # the timestamp of points the export gives none
    shift_micros: int = 0  # subtracted from 2.x series timestamps (the exporter's UTC offset)
    paths: dict[str, str | None] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class PartOps:
    ops: list[Op]
    points: int
    size: int  # bytes toward sys/size


def convert_part(path: Path, ctx: PartContext) -> PartOps:
    """The ops of one part, with what it does not keep counted in ``ctx.report``."""
    import pyarrow.compute as pc  # type: ignore[import-untyped]

    floats: dict[str, list[tuple[Any, ...]]] = {}
    series: dict[str, tuple[FieldType, list[tuple[int, float, Any]]]] = {}
    atoms: dict[str, Assign] = {}
    size = 0
    for batch in batches(path):
        ctx.report.rows += batch.num_rows
        is_float = pc.fill_null(pc.equal(batch.column("attribute_type"), "float_series"), False)
        n_float = pc.sum(is_float).as_py() or 0
        if n_float:
            _collect_floats(batch.filter(is_float) if n_float < batch.num_rows else batch, floats)
        if n_float < batch.num_rows:
            rest = batch.filter(pc.invert(is_float)) if n_float else batch
            for row in rest.to_pylist():
                size += _row(row, ctx, atoms, series)
    ops: list[Op] = list(atoms.values())
    size += _ATOM_BYTES * len(atoms)
    points = 0
    for name in list(floats):
        pieces = floats.pop(name)  # freed series by series
        naiad_path = _naiad_path(ctx, name, "float_series")
        if naiad_path is None:
            continue
        made = _float_ops(naiad_path, pieces, ctx)
        ops += made
        points += sum(len(op.steps) for op in made)
    size += _FLOAT_POINT_BYTES * points
    for name, (ftype, rows) in series.items():
        kept = _ordered(rows, ctx)
        if kept:
            ops.append(Points(name, int(ftype), kept))
            points += len(kept)
            size += _POINT_BYTES * len(kept)
    return PartOps(ops, points, size)


def _naiad_path(ctx: PartContext, name: Any, attribute_type: str) -> str | None:
    """The valid naiad path of an exported attribute (cached), or None (reported)."""
    key = f"{attribute_type}\0{name}"
    if key in ctx.paths:
        return ctx.paths[key]
    out: str | None = None
    if not isinstance(name, str):
        ctx.report.lose(why.NO_TYPE)
    else:
        where = target(name, attribute_type)
        if where is not None:
            try:
                out = check_path(where[0])
            except PathError as e:
                ctx.report.lose(why.BAD_PATH)
                ctx.report.note(f"not kept: {e}")
    ctx.paths[key] = out
    return out


def _collect_floats(batch: pa.RecordBatch, floats: dict[str, list[tuple[Any, ...]]]) -> None:
    import numpy as np
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(batch.column("attribute_path"))
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    names = encoded.dictionary.to_pylist()
    steps, has_step = fixed_steps(batch.column("step"))
    values, has_value = float_column(batch.column("float_value"))
    stamps, has_stamp = micros(batch.column("timestamp"))
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    cuts = np.flatnonzero(np.diff(sorted_codes)) + 1
    for group in np.split(order, cuts):
        code = int(codes[group[0]])
        name = names[code] if code >= 0 else None
        floats.setdefault(str(name) if name is not None else "\0", []).append(
            (steps[group], has_step[group], values[group], has_value[group], stamps[group], has_stamp[group])
        )


def _float_ops(path: str, pieces: list[tuple[Any, ...]], ctx: PartContext) -> list[Floats]:
    """Floats ops of one series; the arrays are filtered, sorted and copied only when the
    export needs it (most series come exported whole and in order)."""
    import numpy as np

    columns = [np.concatenate([p[i] for p in pieces]) if len(pieces) > 1 else pieces[0][i] for i in range(6)]
    pieces.clear()
    steps, has_step, values, has_value, stamps, has_stamp = columns
    del columns
    report = ctx.report
    if not (has_step.all() and has_value.all() and has_stamp.all()):
        report.lose(why.NO_STEP, int((~has_step).sum()))
        empty = ~has_value & ~has_stamp
        report.lose(why.NO_POINT, int((empty & has_step).sum()))
        keep = has_step & ~empty
        steps, values, has_value, stamps, has_stamp = (
            x[keep] for x in (steps, values, has_value, stamps, has_stamp)
        )
        values.view(np.int64)[~has_value] = QUIET_NAN  # a null value with a timestamp: NaN
        _note_missing_stamps(ctx, int((~has_stamp).sum()))
        stamps = np.where(has_stamp, stamps, ctx.creation_micros + ctx.shift_micros)
    if steps.size and (steps.min() < 0 or steps.max() >= MAX_STEP * STEP_SCALE):
        in_range = (steps >= 0) & (steps < MAX_STEP * STEP_SCALE)
        report.lose(why.STEP_RANGE, int((~in_range).sum()))
        steps, values, stamps = steps[in_range], values[in_range], stamps[in_range]
    if steps.size > 1 and not bool((steps[1:] > steps[:-1]).all()):
        order = np.argsort(steps, kind="stable")
        steps, values, stamps = steps[order], values[order], stamps[order]
        del order
        first = np.concatenate(([True], steps[1:] != steps[:-1]))
        bits = values.view(np.int64)
        differs = np.concatenate(([False], bits[1:] != bits[:-1]))
        report.lose(why.CONFLICT, int((~first & differs).sum()))
        steps, values, stamps = steps[first], values[first], stamps[first]
    ops = []
    for lo in range(0, steps.size, CHUNK_POINTS):
        hi = lo + CHUNK_POINTS
        s, v, t = array("q"), array("d"), array("d")
        s.frombytes(steps[lo:hi].tobytes())
        v.frombytes(values[lo:hi].tobytes())
        t.frombytes(((stamps[lo:hi] - ctx.shift_micros) / 1e6).tobytes())
        ops.append(Floats(path, s, v, t))
    return ops


def _note_missing_stamps(ctx: PartContext, n: int) -> None:
    ctx.report.unstamped += n


def _row(
    row: dict[str, Any],
    ctx: PartContext,
    atoms: dict[str, Assign],
    series: dict[str, tuple[FieldType, list[tuple[int, float, Any]]]],
) -> int:
    """Stage one non-float-series row; return the file bytes it stored."""
    kind, name = row["attribute_type"], row["attribute_path"]
    column = VALUE_COLUMN.get(kind) if isinstance(kind, str) else None
    if column is None or name is None:
        ctx.report.lose(why.NO_TYPE if kind is None or name is None else f"attributes of type {kind!r}")
        return 0
    value = row[column]
    if kind in _PARAMETERS:
        if value is None:
            ctx.report.lose(why.PADDING)
            return 0
        where = target(name, kind)
        path = _naiad_path(ctx, name, kind)
        if where is None or path is None:
            return 0
        ftype = where[1] or _PARAMETERS[kind]
        atom = _atom(path, ftype, value, ctx)
        if atom is not None:
            atoms[path] = Assign(path, int(ftype), atom)
        return 0
    path = _naiad_path(ctx, name, kind)
    if path is None:
        return 0
    if kind in ("file", "file_set", "artifact"):
        return _file_atom(path, kind, value, ctx, atoms)
    if value is None:
        ctx.report.lose(why.EMPTY_FILE if kind == "file_series" else why.NULL_POINT)
        return 0
    step = _step(row["step"])
    if step is None:
        ctx.report.lose(why.NO_STEP if row["step"] is None else why.STEP_RANGE)
        return 0
    stamp = row["timestamp"]
    if stamp is None:
        ts = ctx.creation_micros / 1e6
        _note_missing_stamps(ctx, 1)
    else:
        ts = (to_micros(path, stamp) - ctx.shift_micros) / 1e6
    size = 0
    if kind == "string_series":
        stored: Any = value if _fits(path, value, ctx) else None
        ftype = FieldType.STRING_SERIES
    elif kind == "histogram_series":
        stored = _histogram(value, ctx)
        ftype = FieldType.HISTOGRAM_SERIES
    else:  # file_series
        if ctx.info.version == 2:
            ctx.report.note(f"'{path}': a 2.x file series keeps the exporter's steps: the images' positions")
        stored, size = _file(value, ctx, sniff=ctx.info.version == 2)
        ftype = FieldType.FILE_SERIES
    if stored is None:
        return 0
    series.setdefault(path, (ftype, []))[1].append((step, ts, stored))
    return size


def _atom(path: str, ftype: FieldType, value: Any, ctx: PartContext) -> Any:
    if ftype is FieldType.FLOAT:
        return float_bits(float(value))
    if ftype is FieldType.DATETIME:
        return to_micros(path, value)
    if ftype is FieldType.STRING_SET:
        return json.dumps(sorted({str(v) for v in value}))
    if ftype is FieldType.STRING and not _fits(path, value, ctx):
        return None
    return value


def _fits(path: str, text: Any, ctx: PartContext) -> bool:
    if len(str(text).encode("utf-8", "surrogatepass")) <= MAX_STRING_BYTES:
        return True
    ctx.report.lose(why.LONG_STRING)
    ctx.report.note(f"'{path}': a string over {MAX_STRING_BYTES} bytes was not kept")
    return False


def _step(value: Any) -> int | None:
    if value is None:
        return None
    fixed = int(Decimal(value) * STEP_SCALE)
    return fixed if 0 <= fixed < MAX_STEP * STEP_SCALE else None


def _histogram(value: dict[str, Any], ctx: PartContext) -> str | None:
    kind, edges, counts = value.get("type"), value.get("edges"), value.get("values")
    try:
        if edges is None or counts is None:
            raise FieldValueError("no edges or values")
        if kind == "COUNTING":
            if any(c is None or not float(c).is_integer() for c in counts):
                raise FieldValueError("fractional counts (naiad stores whole counts or densities)")
            histogram = Histogram(bin_edges=edges, counts=[int(c) for c in counts])
        elif kind == "DENSITY":
            histogram = Histogram(bin_edges=edges, densities=counts)
        else:
            raise FieldValueError(f"histogram type {kind!r}")
    except (FieldValueError, TypeError, ValueError) as e:
        ctx.report.lose(why.BAD_HISTOGRAM)
        ctx.report.note(f"a histogram point was not kept: {e}")
        return None
    return json.dumps(histogram.to_json())


def _file(value: Any, ctx: PartContext, *, sniff: bool) -> tuple[str | None, int]:
    try:
        where = ctx.attachments.locate(ctx.info.project_id, (value or {}).get("path"))
        meta, size = ctx.attachments.file(where, sniff=sniff)
    except Refused as e:
        ctx.report.lose(why.FILE_REFUSED)
        ctx.report.note(f"file not kept: {e}")
        return None, 0
    ctx.report.files += 1
    return meta, size


def _file_atom(path: str, kind: str, value: Any, ctx: PartContext, atoms: dict[str, Assign]) -> int:
    if value is None or not value.get("path"):
        ctx.report.lose(why.EMPTY_FILE)
        return 0
    if kind == "artifact":
        try:
            manifest = ctx.attachments.artifact(ctx.attachments.locate(ctx.info.project_id, value["path"]))
        except Refused as e:
            ctx.report.lose(why.FILE_REFUSED)
            ctx.report.note(f"artifact '{path}' not kept: {e}")
            return 0
        atoms[path] = Assign(path, int(FieldType.ARTIFACT), manifest)
        return 0
    meta, size = _file(value, ctx, sniff=ctx.info.version == 2)
    if meta is not None:
        atoms[path] = Assign(path, int(FieldType.FILE), meta)
    return size


def _ordered(rows: list[tuple[int, float, Any]], ctx: PartContext) -> list[tuple[int, float, Any]]:
    """Rows in step order, one per step (the first; a different value at that step is lost)."""
    rows.sort(key=lambda r: r[0])
    kept: list[tuple[int, float, Any]] = []
    for row in rows:
        if kept and kept[-1][0] == row[0]:
            if kept[-1][2] != row[2]:
                ctx.report.lose(why.CONFLICT)
            continue
        kept.append(row)
    return kept
