"""``naiad sync``: replay an offline journal into a store, idempotently.

An offline run writes into its own small store (the journal directory,
``<store>/offline/<project>--<run_id>.naiad-journal``). Syncing opens the run in the target
store (creating it, and resolving a requested fork parent there) and merges the journal in:
atoms are upserted, series points after the target's last step are appended, files are
copied. Syncing the same journal twice changes nothing the second time. A journal that
changed after its run closed is refused before anything reaches the target (see
:mod:`naiad._storage._journal`).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import _sys
from ._read import decode
from ._storage import Assign, Floats, Op, Points, RunRecord, RunSpec, RunStore, _codec, open_journal
from ._types import FieldType
from .errors import JournalDamaged

# sys fields that describe the run's history and are carried over as they are
_CARRIED_SYS = _sys.CARRIED_BY_SYNC


@dataclass(frozen=True)
class SyncResult:
    """What one journal run added to the target store."""

    run_id: str
    created: bool
    fields: int
    points: int
    parent_resolved: bool | None  # None when the run is not a fork


def sync_journal(
    journal: Path, target: RunStore, progress: Callable[[int, int], None] | None = None
) -> list[SyncResult]:
    """Merge every run of ``journal`` into ``target``; return what each added."""
    source = open_journal(journal, create=False)
    try:
        return [_sync_run(source, target, rec, progress) for rec in list(source.iter_runs())]
    finally:
        source.close()


def parents_first(journals: list[Path]) -> list[Path]:
    """``journals`` reordered so that a fork parent's journal syncs before its children's.

    A child synced before its parent could not resolve the parent (it is not in the target
    yet); the names sort alphabetically, which says nothing about lineage.
    """
    runs: dict[Path, set[str]] = {}
    wants: dict[Path, set[str]] = {}
    for journal in journals:
        runs[journal], wants[journal] = set(), set()
        try:
            source = open_journal(journal, create=False)
        except JournalDamaged:
            continue  # refused again, by name, when it is synced
        try:
            records = list(source.iter_runs())
            runs[journal] = {r.custom_id for r in records}
            for rec in records:
                f = source.field(rec.pk, _sys.FORKING_REQUESTED_PARENT)
                if f is not None and f.value is not None:
                    wants[journal].add(str(decode(f.type, f.value)))
        finally:
            source.close()
    ordered: list[Path] = []
    placed: set[Path] = set()

    def place(journal: Path, path: tuple[Path, ...]) -> None:
        if journal in placed or journal in path:  # done, or a cycle: keep the given order
            return
        for other in journals:
            if other != journal and runs[other] & wants[journal]:
                place(other, (*path, journal))
        placed.add(journal)
        ordered.append(journal)

    for journal in journals:
        place(journal, ())
    return ordered


def _sync_run(
    source: RunStore,
    target: RunStore,
    rec: RunRecord,
    progress: Callable[[int, int], None] | None,
) -> SyncResult:
    fields = {f.path: f for f in source.fields(rec.pk)}

    def value(path: str) -> Any:
        f = fields.get(path)
        return None if f is None else decode(f.type, f.value)

    created = value(_sys.CREATION_TIME)
    spec = RunSpec(
        project=rec.project,
        custom_id=rec.custom_id,
        experiment=rec.experiment,
        fork_parent=value(_sys.FORKING_REQUESTED_PARENT),
        fork_step=value(_sys.FORKING_STEP),
        creation_time=created.timestamp() if created else 0.0,
        owner=value(_sys.OWNER) or "",
        hostname=value(_sys.HOSTNAME) or "",
        allow_missing_parent=True,
    )
    run = target.open_run(spec)
    have = {f.path: f for f in target.fields(run.pk)}
    ops: list[Op] = []
    points = 0
    todo = [f for f in fields.values() if not _sys.is_sys(f.path) or f.path in _CARRIED_SYS]
    for i, f in enumerate(todo):
        ftype = FieldType(f.type)
        last = have[f.path].step if f.path in have else None
        if ftype is FieldType.FLOAT_SERIES:
            for chunk in source.chunks(rec.pk, f.path, None):
                steps, vals, stamps = _codec.arrays(chunk)
                keep = [j for j, s in enumerate(steps) if last is None or s > last]
                if keep:
                    ops.append(
                        Floats(
                            f.path,
                            array("q", [steps[j] for j in keep]),
                            array("d", [vals[j] for j in keep]),
                            array("d", [stamps[j] for j in keep]),
                        )
                    )
                    points += len(keep)
        elif ftype.is_series:
            rows = [r for r in source.points(rec.pk, f.path, None) if last is None or r[0] > last]
            if rows:
                if ftype is FieldType.FILE_SERIES:
                    for _, _, meta in rows:
                        _copy_blob(source, target, meta)
                ops.append(Points(f.path, int(ftype), rows))
                points += len(rows)
        else:
            if ftype is FieldType.FILE:
                _copy_blob(source, target, f.value)
            ops.append(Assign(f.path, int(ftype), f.value))
        if progress is not None:
            progress(i + 1, len(todo))
    if ops:
        target.write_batch(run.pk, ops)
    parent_resolved = None if spec.fork_parent is None else run.parent_pk is not None
    return SyncResult(rec.custom_id, run.created, len(todo), points, parent_resolved)


def _copy_blob(source: RunStore, target: RunStore, meta_json: str) -> None:
    import json

    sha = json.loads(meta_json)["sha256"]
    if not target.blobs.exists(sha):
        with source.blobs.open(sha) as blob:
            target.blobs.put(blob)
