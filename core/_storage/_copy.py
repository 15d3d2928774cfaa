"""``naiad store copy SRC DST``: a whole store into another, between any two backends.

Runs go parents first, so every fork finds its parent; each run's fields, series and file
references are written in one batch through the RunStore seam (float chunks unpacked and
packed again, bit for bit), and each file blob is uploaded once (skipped when the target has
it). A run that the target already has (same project and run id) is left alone, so copying
again adds nothing. Every copied series is verified afterwards: the same number of points and
the same sha256 over its steps, values and timestamps. The UI's saved views come along too,
each one the target does not have by that project and name.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any

from .. import _sys
from .._types import FieldType, fork_step_of_fixed
from . import _codec
from ._protocol import RunStore
from ._records import Assign, FieldRecord, Floats, Op, Points, RunRecord, RunSpec

_FILE_TYPES = (FieldType.FILE, FieldType.FILE_SERIES)
_DERIVED = {_sys.STATE}  # decided by the target's sessions, never copied


@dataclasses.dataclass
class CopySummary:
    """What a copy did, and what its verification found."""

    runs: int = 0
    skipped: int = 0
    fields: int = 0
    points: int = 0
    blobs: int = 0
    blobs_present: int = 0
    views: int = 0
    verified_series: int = 0
    mismatches: list[str] = dataclasses.field(default_factory=list)


def copy_store(
    source: RunStore, target: RunStore, progress: Callable[[int, int], None] | None = None
) -> CopySummary:
    """Copy every run of ``source`` that ``target`` lacks; verify every copied series."""
    summary = CopySummary()
    runs = _parents_first(list(source.iter_runs()))
    pk_to_run = {r.pk: r for r in runs}
    for done, run in enumerate(runs, 1):
        if target.find_run(run.project, run.custom_id) is not None:
            summary.skipped += 1
        else:
            _copy_run(source, target, run, pk_to_run, summary)
        if progress is not None:
            progress(done, len(runs))
    present = {(v.project, v.name) for v in target.views()}
    for view in source.views():
        if (view.project, view.name) not in present:
            target.save_view(view)
            summary.views += 1
    return summary


def _parents_first(runs: list[RunRecord]) -> list[RunRecord]:
    by_pk = {r.pk: r for r in runs}
    ordered: list[RunRecord] = []
    seen: set[int] = set()

    def visit(run: RunRecord) -> None:
        if run.pk in seen:
            return
        seen.add(run.pk)
        if run.parent_pk is not None and run.parent_pk in by_pk:
            visit(by_pk[run.parent_pk])
        ordered.append(run)

    for run in sorted(runs, key=lambda r: r.pk):
        visit(run)
    return ordered


def _copy_run(
    source: RunStore,
    target: RunStore,
    run: RunRecord,
    pk_to_run: dict[int, RunRecord],
    summary: CopySummary,
) -> None:
    fields = source.fields(run.pk)
    atoms = {f.path: f for f in fields}

    def atom(path: str) -> Any:
        rec = atoms.get(path)
        return None if rec is None else rec.value

    parent = None if run.parent_pk is None else pk_to_run.get(run.parent_pk)
    requested = atom(_sys.FORKING_REQUESTED_PARENT)
    created = atom(_sys.CREATION_TIME)
    spec = RunSpec(
        project=run.project,
        custom_id=run.custom_id,
        experiment=run.experiment,
        fork_parent=parent.custom_id if parent is not None else requested,
        fork_step=None if run.fork_step is None else fork_step_of_fixed(run.fork_step),
        creation_time=(created / 1_000_000) if created is not None else 0.0,
        owner=str(atom(_sys.OWNER) or ""),
        hostname=str(atom(_sys.HOSTNAME) or ""),
        inherit_configs=False,  # every field is copied as it is below
        allow_missing_parent=True,
    )
    if spec.fork_parent is not None and spec.fork_step is None:
        spec = dataclasses.replace(spec, fork_step=int(atom(_sys.FORKING_STEP) or 0))
    record = target.open_run(spec)
    ops: list[Op] = []
    for f in fields:
        if f.path in _DERIVED:
            continue
        ftype = FieldType(f.type)
        if ftype is FieldType.FLOAT_SERIES:
            for chunk in source.chunks(run.pk, f.path, None):
                steps, values, stamps = _codec.arrays(chunk)
                ops.append(Floats(f.path, steps, values, stamps))
                summary.points += chunk.count
        elif ftype.is_series:
            rows = source.points(run.pk, f.path, None)
            if rows:
                ops.append(Points(f.path, int(ftype), list(rows)))
                summary.points += len(rows)
            if ftype is FieldType.FILE_SERIES:
                for _, _, meta in rows:
                    _copy_blob(source, target, meta, summary)
        else:
            ops.append(Assign(f.path, int(ftype), f.value))
            if ftype is FieldType.FILE:
                _copy_blob(source, target, f.value, summary)
        summary.fields += 1
    target.write_batch(record.pk, ops)
    summary.runs += 1
    _verify(source, target, run, record, fields, summary)


def _copy_blob(source: RunStore, target: RunStore, meta_json: Any, summary: CopySummary) -> None:
    if not meta_json:
        return
    sha = json.loads(meta_json).get("sha256")
    if not sha:
        return
    if target.blobs.exists(sha):
        summary.blobs_present += 1
        return
    with source.blobs.open(sha) as blob:
        target.blobs.put(blob)
    summary.blobs += 1


def _digest(store: RunStore, run_pk: int, rec: FieldRecord) -> tuple[int, str]:
    h = hashlib.sha256()
    n = 0
    if rec.type == FieldType.FLOAT_SERIES:
        chunks = store.chunks(run_pk, rec.path, None)
        columns = [_codec.raw_columns(chunk) for chunk in chunks]  # the points, however stored
        for part in range(3):
            for raw in columns:
                h.update(raw[part])
        n = sum(c.count for c in chunks)
    else:
        rows = store.points(run_pk, rec.path, None)
        for step, ts, value in rows:
            h.update(json.dumps([step, ts.hex(), value]).encode())
        n = len(rows)
    return n, h.hexdigest()


def _verify(
    source: RunStore,
    target: RunStore,
    run: RunRecord,
    copy: RunRecord,
    fields: Iterable[FieldRecord],
    summary: CopySummary,
) -> None:
    for rec in fields:
        if not FieldType(rec.type).is_series:
            continue
        if _digest(source, run.pk, rec) != _digest(target, copy.pk, rec):
            summary.mismatches.append(f"{run.project}/{run.custom_id} {rec.path}")
        else:
            summary.verified_series += 1
