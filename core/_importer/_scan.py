"""The first pass over an export: every part decoded once, before anything is written.

It proves each part readable (an unreadable part fails the import before any of its run is
written: no half-imported run), and it collects what opening a run needs before its first
write: the run's ``sys`` rows (creation time, owner, experiment, fork parent and step), its
ids, and which Neptune generation wrote it.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Callable
from typing import Any

from ._layout import RunParts
from ._parts import ExportError, batches

# the value column of each attribute type
VALUE_COLUMN = {
    "float": "float_value",
    "int": "int_value",
    "string": "string_value",
    "bool": "bool_value",
    "datetime": "datetime_value",
    "string_set": "string_set_value",
    "float_series": "float_value",
    "string_series": "string_value",
    "histogram_series": "histogram_value",
    "file": "file_value",
    "file_series": "file_value",
    "file_set": "file_value",
    "artifact": "file_value",
}
ONLY_2X_TYPES = frozenset({"file_set", "artifact"})
ONLY_3X_TYPES = frozenset({"histogram_series"})


@dataclasses.dataclass
class RunInfo:
    """One exported run as the first pass saw it."""

    parts: RunParts
    project_id: str
    run_id: str
    rows: int
    sys: dict[str, tuple[str, Any]]  # path -> (attribute type, value) of its non-null sys rows
    vote: int | None  # 2 or 3 when the run alone tells which Neptune wrote it
    version: int = 3  # decided per project from the votes of its runs

    def sys_value(self, path: str, *types: str) -> Any:
        """The value of ``sys`` row ``path`` when it has one of ``types`` (any type if none)."""
        item = self.sys.get(path)
        if item is None or (types and item[0] not in types):
            return None
        return item[1]

    @property
    def name(self) -> str:
        """The naiad run id: 3.x ``run_id``; 2.x ``sys/custom_run_id``, else ``sys/id``."""
        if self.version == 2:
            custom = self.sys_value("sys/custom_run_id", "string")
            if custom:
                return str(custom)
        return self.run_id


def scan(parts: RunParts, on_rows: Callable[[int], None] | None = None) -> RunInfo:
    """Decode every part of one run; :class:`ExportError` naming the first unreadable one."""
    import pyarrow.compute as pc  # type: ignore[import-untyped]

    ids: set[tuple[str, str]] = set()
    types: set[str] = set()
    monitoring = False
    sys_rows: dict[str, tuple[str, Any]] = {}
    rows = 0
    for _, path in parts.parts:
        for batch in batches(path):
            rows += batch.num_rows
            if on_rows is not None:
                on_rows(batch.num_rows)
            project = pc.unique(batch.column("project_id")).to_pylist()
            run = pc.unique(batch.column("run_id")).to_pylist()
            ids.update((str(p), str(r)) for p in project for r in run)
            types.update(str(t) for t in pc.unique(batch.column("attribute_type")).to_pylist())
            attribute = batch.column("attribute_path")
            monitoring = monitoring or bool(pc.any(pc.starts_with(attribute, "monitoring/")).as_py())
            is_sys = pc.fill_null(pc.starts_with(attribute, "sys/"), False)
            if pc.any(is_sys).as_py():
                for row in batch.filter(is_sys).to_pylist():
                    column = VALUE_COLUMN.get(row["attribute_type"])
                    if column is not None and row[column] is not None:
                        sys_rows[row["attribute_path"]] = (row["attribute_type"], row[column])
        if len(ids) > 1:
            break
    if len(ids) != 1:
        found = ", ".join(f"{p}/{r}" for p, r in sorted(ids, key=str)) or "no rows"
        raise ExportError(
            f"Export run {parts.label} should hold the rows of one run of one project; it holds "
            f"{found}. Check the export directory."
        )
    (project_id, run_id), *_ = ids
    info = RunInfo(parts, project_id, run_id, rows, sys_rows, None)
    info.vote = _vote(info, types, monitoring)
    return info


def _vote(info: RunInfo, types: set[str], monitoring: bool) -> int | None:
    sys_id = info.sys_value("sys/id", "string")
    custom = info.sys_value("sys/custom_run_id", "string")
    if custom is not None and custom == info.run_id:
        return 3  # 3.x names runs by their custom run id
    if sys_id is not None and sys_id == info.run_id:
        return 2  # 2.x names runs by sys/id
    if types & ONLY_2X_TYPES or monitoring:
        return 2
    if types & ONLY_3X_TYPES or any(p.startswith(("sys/forking/", "sys/experiment/")) for p in info.sys):
        return 3
    return None


def decide_versions(runs: list[RunInfo]) -> None:
    """Each project's Neptune generation: what most of its runs say (3.x when none says)."""
    votes: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
    for info in runs:
        if info.vote is not None:
            votes[info.project_id][info.vote] += 1
    for info in runs:
        counted = votes.get(info.project_id)
        info.version = counted.most_common(1)[0][0] if counted else 3
