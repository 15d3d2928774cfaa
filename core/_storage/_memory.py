"""A store held in memory: the second implementation of the seam, for tests.

It keeps the same contract as the embedded store (``tests/test_store_contract.py`` runs
against both): type-locked fields, the "another writer got there first" warnings, runs and
sessions, selection with the filter tree evaluated in Python. Nothing is persisted; one lock
makes each batch atomic against readers. Exposed as :class:`naiad.testing.MemoryStore`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import threading
import time
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from .. import _sys
from .._filter import And, Compare, Exists, Node, Not, Or, parse_time, paths, state_matches
from .._types import FieldType, fixed_fork_step, float_bits, step_value
from ..errors import ForkParentNotFound, StorageError
from ._records import (
    Assign,
    Chunk,
    Delete,
    FieldRecord,
    Floats,
    Heartbeat,
    Incr,
    Op,
    Points,
    RunRecord,
    RunSelection,
    RunSpec,
    SavedView,
    SetChange,
    StoreStats,
    expand_bulk,
    unpack,
)
from ._summary import BLOCK, COARSE, ChunkSummary, summarize
from ._text_chunks import TextChunk, pack_rows

_HEX = re.compile(r"^[0-9a-f]{64}$")
_NUMERIC = (FieldType.FLOAT, FieldType.INTEGER, FieldType.FLOAT_SERIES)
_TEXT = (FieldType.STRING, FieldType.STRING_SERIES)
_AGG = {"last": "value", "min": "vmin", "max": "vmax", "count": "n"}


class MemoryBlobs:
    """Content-addressed blobs in a dict."""

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}

    def put(self, source: Path | bytes | BinaryIO) -> tuple[str, int]:
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
        elif isinstance(source, Path):
            try:
                data = source.read_bytes()
            except OSError as e:
                raise StorageError(f"Cannot read {source}: {e.strerror or e}.") from e
        else:
            raw = source.read()
            data = raw if isinstance(raw, bytes) else str(raw).encode("utf-8")
        sha = hashlib.sha256(data).hexdigest()
        self._data.setdefault(sha, data)
        return sha, len(data)

    def open(self, sha256: str) -> BinaryIO:
        if not _HEX.match(sha256):
            raise StorageError(f"Not a sha256 blob key: {sha256!r}.")
        try:
            return io.BytesIO(self._data[sha256])
        except KeyError:
            raise StorageError(f"File blob {sha256} is missing from the in-memory store.") from None

    def exists(self, sha256: str) -> bool:
        if not _HEX.match(sha256):
            raise StorageError(f"Not a sha256 blob key: {sha256!r}.")
        return sha256 in self._data


@dataclass
class _Field:
    type: int
    value: Any = None
    step: int | None = None
    n: int = 0
    vmin: float | None = None
    vmax: float | None = None
    steps: array[int] = field(default_factory=lambda: array("q"))
    vals: array[float] = field(default_factory=lambda: array("d"))
    stamps: array[float] = field(default_factory=lambda: array("d"))
    rows: list[tuple[int, float, Any]] = field(default_factory=list)


class MemoryStore:
    """A :class:`~naiad._storage.RunStore` in memory.

    Example:
        >>> store = MemoryStore()
        >>> store.open_run(RunSpec("p", "a", None, None, None, 0.0, "me", "host")).sys_id
        'P-1'
    """

    def __init__(self) -> None:
        self.uri = "memory://"
        self.root: Path | None = None
        self.blobs = MemoryBlobs()
        self._lock = threading.RLock()
        self._projects: dict[str, list[Any]] = {}  # name -> [key, counter]
        self._runs: dict[int, RunRecord] = {}
        self._fields: dict[int, dict[str, _Field]] = {}
        self._sessions: dict[int, list[Any]] = {}  # id -> [run_pk, ping, closed]
        self._views: dict[tuple[str, str], SavedView] = {}
        self._changed = threading.Condition(self._lock)  # notified on every write to a run
        self._changes = 0
        self._ident = os.urandom(4).hex()  # tokens of another store never match this one's

    # -- runs and sessions -------------------------------------------------------------------
    def open_run(self, spec: RunSpec) -> RunRecord:
        from ._sqlite import project_key

        with self._lock:
            existing = self.find_run(spec.project, spec.custom_id)
            if existing is not None:
                return existing
            parent = None
            if spec.fork_parent is not None:
                parent = self.find_run(spec.project, spec.fork_parent)
                if parent is None and not spec.allow_missing_parent:
                    raise ForkParentNotFound(
                        f"Cannot fork from run '{spec.fork_parent}': no such run in project "
                        f"'{spec.project}'. Check fork_run_id (it is the parent's run_id, "
                        "sys/custom_run_id)."
                    )
            project = self._projects.setdefault(spec.project, [project_key(spec.project), 0])
            project[1] += 1  # next counter
            pk = len(self._runs) + 1
            fork_fixed = None if parent is None or spec.fork_step is None else fixed_fork_step(spec.fork_step)
            record = RunRecord(
                pk,
                spec.project,
                spec.custom_id,
                f"{project[0]}-{project[1]}",
                spec.experiment,
                None if parent is None else parent.pk,
                fork_fixed,
                0 if parent is None else parent.depth + 1,
                created=True,
            )
            self._runs[pk] = dataclasses_replace(record, created=False)
            self._bump()
            own = self._fields[pk] = {}
            family = spec.custom_id
            inherited: list[str] = []
            if parent is not None:
                fam = self._fields[parent.pk].get(_sys.FAMILY)
                family = fam.value if fam is not None else parent.custom_id
                if spec.inherit_configs:
                    for path, f in self._fields[parent.pk].items():
                        if FieldType(f.type).is_atom and (not _sys.is_sys(path) or path in _sys.INHERITED):
                            own[path] = _Field(f.type, f.value)
                    tags = own.get(_sys.TAGS)
                    if tags is not None and tags.value:
                        inherited = json.loads(tags.value)
            if spec.experiment is not None:  # claim the head
                for other in self._runs.values():
                    if (
                        other.pk != pk
                        and other.project == spec.project
                        and other.experiment == spec.experiment
                    ):
                        head = self._fields[other.pk].get(_sys.EXPERIMENT_IS_HEAD)
                        if head is not None and head.value:
                            head.value = False
            for atom in _sys.creation_atoms(
                spec,
                sys_id=record.sys_id,
                depth=record.depth,
                family=family,
                parent_custom_id=None if parent is None else parent.custom_id,
                inherited_tags=inherited,
            ):
                self._set_atom(pk, atom.path, atom.type, atom.value)
            own.setdefault(_sys.GROUP_TAGS, _Field(int(FieldType.STRING_SET), "[]"))
            return record

    def find_run(self, project: str, custom_id: str) -> RunRecord | None:
        with self._lock:
            for r in self._runs.values():
                if r.project == project and r.custom_id == custom_id:
                    return r
            return None

    def find_run_by_sys_id(self, project: str, sys_id: str) -> RunRecord | None:
        with self._lock:
            for r in self._runs.values():
                if r.project == project and r.sys_id == sys_id:
                    return r
            return None

    def get_run(self, pk: int) -> RunRecord:
        with self._lock:
            try:
                return self._runs[pk]
            except KeyError:
                raise StorageError(f"No run with key {pk} in the in-memory store.") from None

    def children(self, run_pk: int) -> list[RunRecord]:
        with self._lock:
            return [r for r in self._runs.values() if r.parent_pk == run_pk]

    def iter_runs(self, project: str | None = None) -> Iterator[RunRecord]:
        with self._lock:
            return iter([r for r in self._runs.values() if project is None or r.project == project])

    def projects(self) -> list[str]:
        with self._lock:
            return sorted(self._projects)

    def open_session(self, run_pk: int, host: str, pid: int, now: float) -> int:
        with self._lock:
            self._bump()
            sid = len(self._sessions) + 1
            self._sessions[sid] = [run_pk, now, False]
            self._set_atom(run_pk, _sys.STATE, int(FieldType.STRING), _sys.ACTIVE)
            return sid

    def ping(self, session: int, now: float, closing: bool = False) -> None:
        with self._lock:
            if closing:
                self._bump()
            self._sessions[session][1:] = [now, closing]

    def run_state(self, run_pk: int, now: float) -> tuple[str, float | None]:
        with self._lock:
            mine = [s for s in self._sessions.values() if s[0] == run_pk]
            attached = any(_sys.session_attached(ping, closed, now) for _, ping, closed in mine)
            return _sys.state(attached), max((s[1] for s in mine), default=None)

    def active_runs(self, run_pks: Sequence[int], now: float) -> set[int]:
        return {pk for pk in run_pks if self.run_state(pk, now)[0] == _sys.ACTIVE}

    # -- writes ------------------------------------------------------------------------------
    def write_batch(
        self,
        run_pk: int,
        ops: Sequence[Op],
        *,
        heartbeat: Heartbeat | None = None,
        patience: float | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> list[str]:
        warnings: list[str] = []
        with self._lock:
            self._bump()
            for op in expand_bulk(ops):
                if isinstance(op, Assign):
                    if not self._set_atom(run_pk, op.path, op.type, op.value):
                        warnings.append(self._conflict(run_pk, op.path, op.type))
                elif isinstance(op, Floats):
                    self._append_floats(run_pk, op, warnings)
                elif isinstance(op, Points):
                    self._append_points(run_pk, op, warnings)
                elif isinstance(op, SetChange):
                    self._change_set(run_pk, op, warnings)
                elif isinstance(op, Delete):
                    own = self._fields[run_pk]
                    for path in [p for p in own if p == op.path or p.startswith(op.path + "/")]:
                        del own[path]
                elif isinstance(op, Incr):
                    f = self._fields[run_pk].get(op.path)
                    if f is not None:
                        f.value += op.amount
            if heartbeat is not None:
                self.ping(heartbeat.session, heartbeat.now, heartbeat.closing)
        return warnings

    def _set_atom(self, run_pk: int, path: str, ftype: int, value: Any) -> bool:
        own = self._fields[run_pk]
        f = own.get(path)
        if f is None:
            own[path] = _Field(int(ftype), value)
            return True
        if f.type != ftype:
            return False
        f.value = value
        return True

    def _conflict(self, run_pk: int, path: str, ftype: int) -> str:
        f = self._fields[run_pk].get(path)
        existing = FieldType(f.type).label if f else "missing"
        return (
            f"'{path}' is a {existing} in the store (written by another process); "
            f"a {FieldType(ftype).label} write to it was dropped."
        )

    def _series(self, run_pk: int, path: str, ftype: int, warnings: list[str]) -> _Field | None:
        f = self._fields[run_pk].setdefault(path, _Field(int(ftype)))
        if f.type != ftype:
            warnings.append(self._conflict(run_pk, path, ftype))
            return None
        return f

    def _append_floats(self, run_pk: int, op: Floats, warnings: list[str]) -> None:
        f = self._series(run_pk, op.path, int(FieldType.FLOAT_SERIES), warnings)
        if f is None:
            return
        keep = list(range(len(op.steps)))
        if f.step is not None and op.steps[0] <= f.step:
            keep = [i for i in keep if op.steps[i] > f.step]
            warnings.append(_late(op.path, len(op.steps) - len(keep), f.step))
        if not keep:
            return
        for i in keep:
            f.steps.append(op.steps[i])
            f.vals.append(op.values[i])
            f.stamps.append(op.stamps[i])
            v = op.values[i]
            if v == v:
                f.vmin = v if f.vmin is None else min(f.vmin, v)
                f.vmax = v if f.vmax is None else max(f.vmax, v)
        f.step, f.n, f.value = f.steps[-1], len(f.steps), float_bits(f.vals[-1])

    def _append_points(self, run_pk: int, op: Points, warnings: list[str]) -> None:
        f = self._series(run_pk, op.path, op.type, warnings)
        if f is None:
            return
        rows = op.rows
        if f.step is not None and rows[0][0] <= f.step:
            kept = [r for r in rows if r[0] > f.step]
            warnings.append(_late(op.path, len(rows) - len(kept), f.step))
            rows = kept
        if not rows:
            return
        f.rows.extend(rows)
        f.step, f.n, f.value = rows[-1][0], len(f.rows), rows[-1][2]

    def _change_set(self, run_pk: int, op: SetChange, warnings: list[str]) -> None:
        f = self._fields[run_pk].get(op.path)
        if f is not None and f.type != FieldType.STRING_SET:
            warnings.append(self._conflict(run_pk, op.path, int(FieldType.STRING_SET)))
            return
        current = set(json.loads(f.value)) if f is not None and f.value else set()
        if op.kind == "add":
            current |= set(op.items)
        elif op.kind == "remove":
            current -= set(op.items)
        else:
            current = set()
        self._set_atom(run_pk, op.path, int(FieldType.STRING_SET), json.dumps(sorted(current)))

    # -- reads -------------------------------------------------------------------------------
    def _record(self, run_pk: int, path: str, f: _Field) -> FieldRecord:
        if path == _sys.STATE:
            import time

            return FieldRecord(path, f.type, self.run_state(run_pk, time.time())[0], None, 0)
        return FieldRecord(path, f.type, f.value, f.step, f.n)

    def fields(self, run_pk: int, prefix: str | None = None) -> list[FieldRecord]:
        with self._lock:
            return [
                self._record(run_pk, p, f)
                for p, f in sorted(self._fields.get(run_pk, {}).items())
                if prefix is None or p == prefix or p.startswith(prefix + "/")
            ]

    def field(self, run_pk: int, path: str) -> FieldRecord | None:
        with self._lock:
            f = self._fields.get(run_pk, {}).get(path)
            return None if f is None else self._record(run_pk, path, f)

    def field_rows(
        self, run_pks: Sequence[int], paths: Sequence[str] | None = None, ftype: int | None = None
    ) -> list[tuple[int, str, int, Any]]:
        wanted = None if paths is None else set(paths)
        with self._lock:
            return [
                (pk, p, f.type, f.value)
                for pk in run_pks
                for p, f in self._fields.get(pk, {}).items()
                if (wanted is None or p in wanted) and (ftype is None or f.type == ftype)
            ]

    def series_extremes(self, run_pks: Sequence[int]) -> list[tuple[int, str, float | None, float | None]]:
        with self._lock:
            return [
                (pk, p, f.vmin, f.vmax)
                for pk in run_pks
                for p, f in self._fields.get(pk, {}).items()
                if f.type == FieldType.FLOAT_SERIES
            ]

    def chunks(
        self,
        run_pk: int,
        path: str,
        max_step: int | None,
        *,
        min_step: int | None = None,
        limit: int | None = None,
    ) -> list[Chunk]:
        if limit == 0:
            return []
        with self._lock:  # the whole range is one chunk here, so any other limit returns it
            f = self._fields.get(run_pk, {}).get(path)
            if f is None or f.type != FieldType.FLOAT_SERIES or not f.steps:
                return []
            idx = [
                i
                for i, s in enumerate(f.steps)
                if (max_step is None or s <= max_step) and (min_step is None or s >= min_step)
            ]
            if not idx:
                return []
            steps = array("q", [f.steps[i] for i in idx])
            vals = array("d", [f.vals[i] for i in idx])
            stamps = array("d", [f.stamps[i] for i in idx])
            return [Chunk(steps[0], steps[-1], len(steps), steps.tobytes(), vals.tobytes(), stamps.tobytes())]

    def chunk_summaries(
        self,
        run_pk: int,
        path: str,
        max_step: int | None,
        *,
        min_step: int | None = None,
        coarse: bool = False,
    ) -> list[ChunkSummary]:
        block = COARSE if coarse else BLOCK
        return [  # the one chunk chunks() returns for the range, summarized as it is read
            ChunkSummary(
                c.first_step,
                c.last_step,
                c.count,
                summarize(unpack("q", c.steps), unpack("d", c.values), unpack("d", c.stamps), block),
                block,
            )
            for c in self.chunks(run_pk, path, max_step, min_step=min_step)
        ]

    def points(
        self,
        run_pk: int,
        path: str,
        max_step: int | None,
        *,
        min_step: int | None = None,
        tail: int | None = None,
    ) -> list[tuple[int, float, Any]]:
        with self._lock:
            f = self._fields.get(run_pk, {}).get(path)
            rows = [] if f is None else f.rows
            out = [
                r
                for r in rows
                if (max_step is None or r[0] <= max_step) and (min_step is None or r[0] >= min_step)
            ]
            return out[-tail:] if tail else ([] if tail == 0 else out)

    def text_chunks(
        self,
        run_pk: int,
        path: str,
        max_step: int | None,
        *,
        min_step: int | None = None,
        limit: int | None = None,
        tail: int | None = None,
    ) -> list[TextChunk]:
        # rows are what this store keeps: the range (or its tail) packed on the way out
        with self._lock:
            f = self._fields.get(run_pk, {}).get(path)
            if f is None or f.type != FieldType.STRING_SERIES or limit == 0:
                return []
        rows = self.points(run_pk, path, max_step, min_step=min_step, tail=tail)
        chunks = pack_rows(rows) if rows else []
        return chunks if limit is None else chunks[:limit]

    def last_point_before(self, run_pk: int, path: str, max_step: int) -> tuple[int, Any] | None:
        with self._lock:
            f = self._fields.get(run_pk, {}).get(path)
            if f is None:
                return None
            if f.type == FieldType.FLOAT_SERIES:
                best = [i for i, s in enumerate(f.steps) if s <= max_step]
                return (f.steps[best[-1]], f.vals[best[-1]]) if best else None
            rows = [r for r in f.rows if r[0] <= max_step]
            return (rows[-1][0], rows[-1][2]) if rows else None

    # -- selection ---------------------------------------------------------------------------
    def _matches(self, sel: RunSelection, rec: RunRecord, now: float) -> bool:
        own = self._fields[rec.pk]
        if rec.project != sel.project:
            return False
        if sel.heads:
            head = own.get(_sys.EXPERIMENT_IS_HEAD)
            if rec.experiment is None or head is None or head.type != FieldType.BOOLEAN or not head.value:
                return False
        label = rec.experiment if sel.heads else rec.custom_id
        if sel.names_regex is not None and not (isinstance(label, str) and re.search(sel.names_regex, label)):
            return False
        if sel.names is not None and label not in sel.names:
            return False
        if sel.experiments is not None and rec.experiment not in sel.experiments:
            return False
        trashed = sel.trashed
        if trashed is False and sel.filter is not None and _sys.TRASHED in paths(sel.filter):
            trashed = None
        if trashed is not None:
            t = own.get(_sys.TRASHED)
            is_trashed = t is not None and t.type == FieldType.BOOLEAN and t.value == 1
            if is_trashed != trashed:
                return False
        return sel.filter is None or self._eval(sel.filter, rec.pk, now)

    def _eval(self, node: Node, pk: int, now: float) -> bool:
        if isinstance(node, And):
            return all(self._eval(n, pk, now) for n in node.items)
        if isinstance(node, Or):
            return any(self._eval(n, pk, now) for n in node.items)
        if isinstance(node, Not):
            return not self._eval(node.item, pk, now)
        own = self._fields[pk]
        if isinstance(node, Exists):
            return any(p == node.path or p.startswith(node.path + "/") for p in own)
        if node.term.path == _sys.STATE and node.term.aggregate is None:
            return state_matches(node, self.run_state(pk, now)[0])
        f = own.get(node.term.path)
        return f is not None and _field_matches(node, f)

    def select_runs(self, selection: RunSelection, now: float) -> list[tuple[int, str]]:
        with self._lock:
            chosen = [r for r in self._runs.values() if self._matches(selection, r, now)]
            rev = not selection.ascending
            chosen.sort(key=lambda r: r.pk, reverse=rev)
            if selection.sort_by == _sys.STATE:
                states = {r.pk: self.run_state(r.pk, now)[0] for r in chosen}
                chosen.sort(key=lambda r: states[r.pk], reverse=rev)
            elif selection.sort_by is not None:
                sort_by = selection.sort_by

                def value(r: RunRecord) -> Any:
                    f = self._fields[r.pk].get(sort_by)
                    return None if f is None or isinstance(f.value, bytes) else f.value

                present = [r for r in chosen if value(r) is not None]
                missing = [r for r in chosen if value(r) is None]
                present.sort(key=lambda r: _sql_order(value(r)), reverse=rev)
                chosen = present + missing
            if selection.limit is not None:
                chosen = chosen[: selection.limit]
            return [(r.pk, str(r.experiment if selection.heads else r.custom_id)) for r in chosen]

    def count_runs(self, selection: RunSelection, now: float) -> int:
        with self._lock:
            return sum(self._matches(selection, r, now) for r in self._runs.values())

    def count_by_experiment(self, selection: RunSelection, now: float) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self._lock:
            for r in self._runs.values():
                if r.experiment is not None and self._matches(selection, r, now):
                    counts[r.experiment] = counts.get(r.experiment, 0) + 1
        return counts

    def stats(self) -> StoreStats:
        with self._lock:
            projects = {name: sum(r.project == name for r in self._runs.values()) for name in self._projects}
            every = [f for own in self._fields.values() for f in own.values()]
            trashed = sum(
                1
                for own in self._fields.values()
                if (t := own.get(_sys.TRASHED)) is not None and t.value == 1
            )
            return StoreStats(
                location=self.uri,
                schema_version=0,
                projects=dict(sorted(projects.items())),
                runs=len(self._runs),
                trashed_runs=trashed,
                fields=len(every),
                points=sum(len(f.steps) + len(f.rows) for f in every),
                database_bytes=0,
                files_bytes=sum(len(b) for b in self.blobs._data.values()),
            )

    # -- saved views and change notification ------------------------------------------------
    def views(self, project: str | None = None) -> list[SavedView]:
        with self._lock:
            return [v for _, v in sorted(self._views.items()) if project is None or v.project == project]

    def save_view(self, view: SavedView) -> None:
        with self._lock:
            self._views[(view.project, view.name)] = view

    def delete_view(self, project: str, name: str) -> bool:
        with self._lock:
            return self._views.pop((project, name), None) is not None

    def wait_for_changes(self, since: str | None, timeout: float) -> str:
        deadline = time.monotonic() + max(0.0, timeout)
        with self._changed:
            while since == self._token():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            return self._token()

    def _token(self) -> str:
        return f"{self._ident}:{self._changes}"

    def _bump(self) -> None:
        """Count a write to a run and wake its waiters (the caller holds the lock)."""
        self._changes += 1
        self._changed.notify_all()

    # -- the handle itself -------------------------------------------------------------------
    def check_alive(self) -> None:
        """An in-memory store cannot be replaced under its handle."""

    def reopen(self, patience: float | None = None, cancel: Callable[[], bool] | None = None) -> None:
        """Nothing to reopen: the data lives as long as the object."""

    def close(self) -> None:
        """Keep the data: a closed memory store reads back like a closed embedded one."""


def dataclasses_replace(record: RunRecord, **changes: Any) -> RunRecord:
    import dataclasses

    return dataclasses.replace(record, **changes)


def _late(path: str, dropped: int, last: int) -> str:
    return (
        f"'{path}': {dropped} point(s) at or before step "
        f"{step_value(last):g}, already written by another process, were dropped."
    )


def _sql_order(value: Any) -> tuple[int, Any]:
    """SQLite's order across storage classes: numbers, then text."""
    return (0, value) if isinstance(value, (int, float)) else (1, str(value))


def _compare(a: Any, op: str, b: Any) -> bool:
    if op == "==":
        return bool(a == b)
    if op == "!=":
        return bool(a != b)
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    return bool(a >= b)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def _field_matches(node: Compare, f: _Field) -> bool:
    """One field against one comparison, with the embedded store's type rules."""
    op, value, agg = node.op, node.value, node.term.aggregate
    ftype = FieldType(f.type)
    if agg is not None:
        if (agg == "count" and not ftype.is_series) or (
            agg != "count" and ftype is not FieldType.FLOAT_SERIES
        ):
            return False
        got = getattr(f, _AGG[agg])
        return _number(got) and _compare(got, op, value)
    items: list[str] = json.loads(f.value) if ftype is FieldType.STRING_SET and f.value else []
    if op in ("~", "!~"):
        negate = op == "!~"
        if ftype in _TEXT:
            found = isinstance(f.value, str) and re.search(value, f.value) is not None
            return found != negate
        if ftype is FieldType.STRING_SET:
            found = any(re.search(value, item) for item in items)
            return found != negate
        return False
    if op == "contains":
        if ftype in _TEXT:
            return isinstance(f.value, str) and value in f.value
        return ftype is FieldType.STRING_SET and value in items
    if isinstance(value, bool):
        return ftype is FieldType.BOOLEAN and _compare(int(f.value), op, int(value))
    if isinstance(value, (int, float)):
        return ftype in _NUMERIC and _number(f.value) and _compare(f.value, op, value)
    if ftype in _TEXT and isinstance(f.value, str) and _compare(f.value, op, value):
        return True
    micros = parse_time(value)
    return micros is not None and ftype is FieldType.DATETIME and _compare(f.value, op, micros)
