"""The import itself: scan the export, then write its runs parents first, one part at a time.

Each part is one transaction (``write_batch``) that also records the part's number in
``import/neptune/parts``: a second import skips the parts a run already has (so it adds
nothing), and an interrupted one resumes where it stopped. ``replace`` deletes what an
earlier import wrote into the run (everything but ``sys``) in the transaction of its first
part. Every run is opened with ``inherit_configs=False``: the export already holds each
fork's own configs, which inheritance would double.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from .. import _sys
from .._storage import Assign, Delete, Incr, Op, RunRecord, RunSpec, RunStore, SetChange
from .._types import FieldType, to_micros
from ._attached import Attachments
from ._layout import discover
from ._report import TYPE_CLASH, ImportReport, RunReport
from ._rows import PartContext, convert_part
from ._scan import RunInfo, decide_versions, scan
from ._sysmap import PARTS, PROJECT_ID, RUN_ID

Progress = Callable[[int, int], None]


@dataclasses.dataclass
class Plan:
    """A scanned export: its complete runs, parents first, and what will not be imported."""

    runs: list[RunInfo]
    rows: int
    report: ImportReport


def scan_export(data_path: Path, progress: Progress | None = None) -> Plan:
    """Decode every part once; raise ExportError (naming the file) before anything is written."""
    layout = discover(data_path)
    report = ImportReport(skipped_dirs=[str(p) for p in layout.registries])
    complete = [r for r in layout.runs if r.complete]
    report.incomplete = [
        f"{r.label}: parts {', '.join(str(n) for n, _ in r.parts)} without part_0 (the exporter "
        "renames part_0 last: this run's export did not finish)"
        for r in layout.runs
        if not r.complete
    ]
    total = sum(len(r.parts) for r in complete)
    infos: list[RunInfo] = []
    for parts in complete:
        infos.append(scan(parts))
        if progress is not None:
            progress(sum(len(i.parts.parts) for i in infos), total)
    decide_versions(infos)
    return Plan(infos, sum(i.rows for i in infos), report)


def parents_first(runs: list[RunInfo], project: str | None) -> list[RunInfo]:
    """Fork parents before their children, then by creation time (a missing parent: a root)."""
    by_name = {(project or i.project_id, i.name): i for i in runs}
    ordered: list[RunInfo] = []
    placed: set[int] = set()

    def place(info: RunInfo, path: tuple[int, ...]) -> None:
        if id(info) in placed or id(info) in path:  # done, or a cycle in the export
            return
        parent = by_name.get((project or info.project_id, str(info.sys_value("sys/forking/parent") or "")))
        if parent is not None:
            place(parent, (*path, id(info)))
        placed.add(id(info))
        ordered.append(info)

    for info in sorted(runs, key=lambda i: (_created(i) or 0.0, i.project_id, i.name)):
        place(info, ())
    return ordered


def import_export(
    plan: Plan,
    files_path: Path,
    store: RunStore,
    *,
    project: str | None = None,
    replace: bool = False,
    legacy_utc_offset_s: float = 0.0,
    progress: Progress | None = None,
) -> ImportReport:
    """Write every run of ``plan`` into ``store``; return the per-run report."""
    attachments = Attachments(files_path, store)
    report = plan.report
    done_rows = 0
    heads: list[tuple[RunRecord, bool]] = []
    for info in parents_first(plan.runs, project):
        run_report = _import_run(store, info, attachments, project, replace, legacy_utc_offset_s)
        report.runs.append(run_report)
        done_rows += info.rows
        if progress is not None:
            progress(done_rows, plan.rows)
        head = info.sys_value("sys/experiment/is_head", "bool")
        if run_report.status != "already imported" and head is not None:
            record = store.find_run(run_report.project, run_report.run)
            if record is not None and record.experiment is not None:
                heads.append((record, bool(head)))
    # opening a run claims its experiment's head: put back the heads the export has
    for record, head in heads:
        store.write_batch(record.pk, [Assign(_sys.EXPERIMENT_IS_HEAD, int(FieldType.BOOLEAN), head)])
    return report


def _created(info: RunInfo) -> float | None:
    value = info.sys_value("sys/creation_time", "datetime")
    return value.timestamp() if isinstance(value, datetime) else None


def _spec(info: RunInfo, project: str) -> RunSpec:
    parent = info.sys_value("sys/forking/parent", "string")
    step = info.sys_value("sys/forking/step", "float", "int")
    if parent and step is None:
        step = 0
    if isinstance(step, float) and step.is_integer():
        step = int(step)
    tags = info.sys_value("sys/tags", "string_set") or ()
    return RunSpec(
        project=project,
        custom_id=info.name,
        experiment=info.sys_value("sys/experiment/name", "string") or None,
        fork_parent=str(parent) if parent else None,
        fork_step=step if parent else None,
        creation_time=_created(info) or 0.0,
        owner=str(info.sys_value("sys/owner", "string") or ""),
        hostname=str(info.sys_value("sys/hostname", "string") or ""),
        tags=tuple(sorted(str(t) for t in tags)),
        description=info.sys_value("sys/description", "string"),
        inherit_configs=False,
        allow_missing_parent=True,
    )


def _import_run(
    store: RunStore,
    info: RunInfo,
    attachments: Attachments,
    project: str | None,
    replace: bool,
    utc_offset_s: float,
) -> RunReport:
    spec = _spec(info, project or info.project_id)
    report = RunReport(spec.project, spec.custom_id, f"{info.project_id}/{info.run_id}", info.version)
    existing = store.find_run(spec.project, spec.custom_id)
    done: set[str] = set()
    clear: list[Op] = []
    if existing is not None:
        marker = store.field(existing.pk, PARTS)
        done = set(json.loads(marker.value)) if marker is not None and marker.value else set()
        if replace:
            tops = {f.path.split("/")[0] for f in store.fields(existing.pk) if not _sys.is_sys(f.path)}
            clear = [Delete(top) for top in sorted(tops)]
            clear.append(Assign(_sys.SIZE, int(FieldType.INTEGER), 0))
            done = set()
            report.status = "replaced"
        elif all(str(n) in done for n, _ in info.parts.parts):
            report.status = "already imported"
            return report
        else:
            report.status = "resumed"
    record = store.open_run(spec)
    if spec.fork_parent is not None and record.parent_pk is None:
        report.note(
            f"fork parent '{spec.fork_parent}' is not in the export nor the store: the run is a "
            "root, with sys/forking/requested_parent naming it"
        )
    ctx = PartContext(
        info,
        attachments,
        report,
        creation_micros=to_micros(
            "sys/creation_time", datetime.fromtimestamp(spec.creation_time).astimezone()
        ),
        shift_micros=round(utc_offset_s * 1_000_000) if info.version == 2 else 0,
    )
    for number, path in info.parts.parts:
        if str(number) in done:
            continue
        part = convert_part(path, ctx)
        ops: list[Op] = [*clear, *part.ops]
        clear = []
        ops += [
            Assign(PROJECT_ID, int(FieldType.STRING), info.project_id),
            Assign(RUN_ID, int(FieldType.STRING), info.run_id),
            Assign(_sys.STATE, int(FieldType.STRING), _sys.INACTIVE),  # no process is attached
            SetChange(PARTS, "add", (str(number),)),
            Incr(_sys.SIZE, part.size),
        ]
        warnings = store.write_batch(record.pk, ops)
        report.lose(TYPE_CLASH, len(warnings))
        for text in warnings:
            report.note(text)
        report.parts += 1
        report.points += part.points
    return report
