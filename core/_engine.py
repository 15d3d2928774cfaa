"""The engine shared by :class:`naiad.Run` and :class:`naiad._handle.Handle`.

It holds the run's field state (:class:`~naiad._fields.FieldState`: types, namespaces, last
steps) and turns every write into typed ops for the background
:class:`~naiad._writer.Writer`. Each write method (``_assign``, ``_log_floats``,
``_append_many``, ``_set_change``, ``_delete``, ``_upload``) validates the whole call against
the path rules, the type lock and the step order and raises before anything is queued. The
metrics fast path (``_groups``: the same float keys as a recent call at a later integer step)
lives in :meth:`naiad.Run.log_metrics` and is handed back to per-series state by
``_materialize``. Files are stored on the calling thread (the caller may delete them after
the call) through the store's blob half. The error policy (``on_error``) is ``_fail``.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from . import _sys, errors
from ._fields import BULK_MIN, CallPaths, FieldState, Inherited
from ._files import File, as_file, file_meta, manifest, source_of
from ._paths import all_plain
from ._read import Lineage, decode, lineage, nested
from ._settings import Settings
from ._storage import Assign, Assigns, Delete, RunRecord, RunSpec, RunStore, SetChange
from ._types import (
    INT64_MAX,
    INT64_MIN,
    MAX_STRING_BYTES,
    FieldType,
    Histogram,
    check_string,
    classify,
    fixed_step,
    flatten,
    float_bits,
    is_namespace_value,
    to_float,
    unwrap_scalar,
)
from ._writer import MAX_QUEUE, BlobStored, PointMsg, Writer, gc_paused
from .errors import (
    FieldNotFound,
    FieldTypeError,
    FieldValueError,
    ModeError,
    NaiadError,
    StorageError,
    article,
)

if TYPE_CHECKING:
    pass

_FLOAT_ONLY = {float}
_MAX_GROUPS = 32  # key sets remembered for the fast path (a training loop has a handful)
_TS_LIMIT = 9.2e9  # epoch seconds that pandas' datetime64[ns] holds: the years 1678 to 2261
_time = time.time


_F = TypeVar("_F", bound=Callable[..., Any])


def serialized(method: _F) -> _F:
    """Run ``method`` under the run's lock: a call's checks and its enqueue are one step.

    Why: a Run shared by a training loop, a data-loader thread and an eval thread must never
    store out-of-order or duplicate steps; the lock is uncontended in a single-threaded loop.
    """

    @functools.wraps(method)
    def locked(self: Engine, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return cast(_F, locked)


class Engine:
    """Field state and write validation of one run; :class:`naiad.Run` is its public face."""

    mode: str
    settings: Settings
    _closed: bool
    _raise: bool
    _f: FieldState
    _floats: dict[str, list[Any]]
    _groups: dict[tuple[str, ...], list[Any]]
    _group_of: dict[str, tuple[str, ...]]
    _chain: Lineage | None
    _store: RunStore | None
    _writer: Writer | None
    _record: RunRecord
    _spec: RunSpec
    _stored_fields: dict[str, Any]
    _put: Any
    _queue: Any
    _lock: threading.RLock  # see serialized()
    _acquire: Any
    _release: Any
    _admitted = False  # inside one call already admitted whole by _room (Handle.extend)
    _forked_from: int | None = None  # the parent's pid, in a child made by os.fork()
    _capture: Any  # naiad._capture.Capture while a run records what it was

    @property
    def run_id(self) -> str:
        """The run's id (``sys/custom_run_id``)."""
        return self._record.custom_id

    @property
    def sys_id(self) -> str:
        """The short label ``sys/id``, e.g. ``DEF-12``."""
        return self._record.sys_id

    @property
    def project(self) -> str:
        return self._record.project

    @property
    def experiment_name(self) -> str | None:
        return self._record.experiment

    @property
    def store_location(self) -> Path | None:
        """Where the data goes (the offline journal directory in offline mode)."""
        return None if self._store is None else self._store.root

    @property
    def closed(self) -> bool:
        return self._closed

    def __repr__(self) -> str:
        state = "closed" if self._closed else self.mode
        return f"<naiad.Run {self.run_id!r} ({self.sys_id}) {state} at {self.store_location}>"

    def _load_fields(self) -> None:
        assert self._store is not None
        self._stored_fields = {f.path: f for f in self._store.fields(self._record.pk)}
        for rec in self._stored_fields.values():
            ftype = FieldType(rec.type)
            self._f.add(rec.path, ftype)
            if ftype.is_series and rec.step is not None:
                self._f.last[rec.path] = [rec.step, decode(ftype, rec.value)]

    def _stored(self, path: str) -> Any:
        rec = self._stored_fields.get(path)
        return None if rec is None else decode(rec.type, rec.value)

    def _reattach(self) -> tuple[int, int | None]:
        """After the database file vanished: create the run again in the new file.

        A fork parent went with the old file: the run is re-created with the parent's name
        pending (as offline forks are), never refused inside the writer.
        """
        assert self._store is not None
        self._record = self._store.open_run(dataclasses.replace(self._spec, allow_missing_parent=True))
        self._chain = None
        session = self._store.open_session(self._record.pk, self._spec.hostname, os.getpid(), _time())
        return self._record.pk, session

    def _inherited_point(self, path: str) -> Inherited | None:
        if self._record.parent_pk is None or self._store is None:
            return None
        chain = self._lineage()
        child_parent, fork = chain[-2][0].custom_id, self._record.fork_step
        for run, limit in reversed(chain[:-1]):
            point = self._store.last_point_before(run.pk, path, limit)  # type: ignore[arg-type]
            if point is not None:
                return point[0], point[1], child_parent, fork  # type: ignore[return-value]
        return None

    def _lineage(self) -> Lineage:
        if self._chain is None:
            assert self._store is not None
            self._chain = lineage(self._store, self._record)
        return self._chain

    def _fresh_fields(self) -> list[Any]:
        self._sync_reads()
        assert self._store is not None
        return self._store.fields(self._record.pk)

    def _fetch_tree(self, namespace: str) -> dict[str, Any]:
        """The fields under ``namespace`` (every field for ``""``) as a nested dict."""
        prefix = f"{namespace}/" if namespace else ""
        return nested(
            (rec.path[len(prefix) :], decode(rec.type, rec.value))
            for rec in self._fresh_fields()
            if rec.path.startswith(prefix)
        )

    def _sync_reads(self) -> None:
        self._check_fork()
        if self._store is None:
            raise ModeError("A run in disabled mode stores nothing and cannot be read.")
        if not self._closed and self._writer is not None:
            self.wait()

    def _field_record(self, path: str) -> Any:
        self._sync_reads()
        assert self._store is not None
        rec = self._store.field(self._record.pk, path)
        if rec is None:
            kind = "a namespace" if path in self._f.namespaces else "nothing"
            raise FieldNotFound(f"Run '{self.run_id}' has no field '{path}' (it holds {kind}).")
        return rec

    def _check_fork(self) -> None:
        if self._forked_from is not None:
            raise ModeError(
                f"Run '{self.run_id}' was opened in process {self._forked_from}; this process is a "
                "child made by os.fork(), where that Run's writer thread and database connections "
                f"do not exist. Open a Run in the child (naiad.Run(run_id={self.run_id!r}) resumes "
                "this run), or start children with multiprocessing's 'spawn' method."
            )

    def _orphan(self, parent: int) -> None:
        """In a child made by ``os.fork()``: refuse every further use, touch nothing inherited.

        The parent's writer goes on writing what was queued before the fork; the child never
        closes the inherited SQLite connections (closing could checkpoint the parent's WAL).
        """
        self._forked_from = parent
        self._lock = threading.RLock()  # another thread may have held it at the fork
        self._acquire, self._release = self._lock.acquire, self._lock.release
        self._groups.clear()  # the fast path ends in _log_floats, which refuses
        self._group_of.clear()
        self._closed = True
        self._writer = None
        self._store = None
        self._capture = None

    def _writable(self) -> None:
        self._check_fork()
        if self._closed:
            if self.mode == "read-only":
                raise ModeError(f"Run '{self.run_id}' is open read-only; open it with another mode to write.")
            raise ModeError(f"Run '{self.run_id}' is closed; open it again (Run(run_id=...)) to log more.")

    def _fail(self, error: NaiadError) -> None:
        """Apply the error policy to one rejected point: raise, or warn and count it."""
        if self._raise:
            raise error
        self._writer.dropped += 1  # type: ignore[union-attr]
        errors.warn(f"naiad: dropped: {error}")

    def _room(self, count: int) -> bool:
        """Back-pressure for one call, checked before it moves any state; False: dropped whole.

        Over ``MAX_QUEUE`` queued ops a call waits for the writer to drain. While storage is
        failing it is dropped instead, all of it (never part of a call), and its ``count``
        values are counted in ``sys/diagnostics/dropped``: every kind of call, so memory stays
        bounded whatever is logged.
        """
        if len(self._queue) <= MAX_QUEUE or self._admitted:
            return True
        writer = self._writer
        assert writer is not None
        if writer.admit():
            return True
        writer.refuse(count)
        return False

    def _after_write(self) -> None:
        if self.mode == "sync":
            self.wait()

    @serialized
    def _materialize(self, path: str | None = None) -> None:
        """Hand the fast path's shared positions back to each series' own record.

        Only the group holding ``path`` when one is given, else every group.
        """
        groups, group_of, floats = self._groups, self._group_of, self._floats
        if not groups:
            return
        if path is None:
            todo = list(groups)
        elif path in group_of:
            todo = [group_of[path]]
        else:
            return
        for keys in todo:
            step, values, _ = groups.pop(keys)
            for key, value in zip(keys, values):
                floats[key] = [step, value]
                del group_of[key]

    def _remember_group(self, keys: tuple[str, ...], step: int, values: tuple[float, ...]) -> None:
        """Let later calls with exactly these keys take the fast path."""
        if len(self._groups) >= _MAX_GROUPS:
            self._materialize()
        self._groups[keys] = [step, values, keys]  # the keys: one tuple queued by every call
        self._group_of.update(dict.fromkeys(keys, keys))

    def _stamp(self, timestamp: datetime | float | None, data: Mapping[str, Any]) -> float:
        if timestamp is None:
            return _time()
        timestamp = unwrap_scalar(timestamp)
        if isinstance(timestamp, datetime):
            try:
                ts = timestamp.timestamp()
            except (OverflowError, ValueError, OSError):
                ts = math.nan
        elif isinstance(timestamp, (int, float)) and not isinstance(timestamp, bool):
            ts = float(timestamp) if -_TS_LIMIT < timestamp < _TS_LIMIT else math.nan
        else:
            raise FieldValueError(
                f"timestamp for {_keys(data)} must be a datetime or epoch "
                f"seconds, not {type(timestamp).__name__}."
            )
        if not -_TS_LIMIT < ts < _TS_LIMIT:  # NaN fails too
            raise FieldValueError(
                f"timestamp {timestamp!r} for {_keys(data)} is not a storable time: give a datetime "
                "or finite epoch seconds between the years 1678 and 2261 (milliseconds are a "
                "common slip)."
            )
        return ts

    @serialized
    def _log_floats(self, data: Mapping[str, Any], step: Any, timestamp: Any) -> None:
        self._writable()
        if not isinstance(data, Mapping):
            raise FieldValueError(f"log_metrics takes a dict of path → number, not {type(data).__name__}.")
        ts = self._stamp(timestamp, data)
        if len(data) >= BULK_MIN and step is not None:
            with gc_paused():  # a big call: a million objects made, none in a cycle
                done = self._log_floats_bulk(data, step, ts, timestamp is None)
            if done:
                self._after_write()
                return
        f = self._f
        call = CallPaths()
        accepted: list[tuple[str, int, float, bool]] = []
        shared: int | None = None  # the call's step, converted once
        for key, raw in data.items():
            try:
                path = f.path(key)
                call.add(key, path)
                self._materialize(path)
                new = f.check_type(path, FieldType.FLOAT_SERIES)
                value = to_float(path, raw)
                if step is None:
                    s = f.next_step(path)
                else:
                    s = shared if shared is not None else fixed_step(path, step)
                    shared = s
                if f.check_step(path, s, value):
                    accepted.append((path, s, value, new))
            except NaiadError as e:
                if self._raise:
                    raise
                self._fail(e)
        if not accepted or not self._room(len(accepted)):
            return
        for path, s, value, new in accepted:
            if new:
                f.add(path, FieldType.FLOAT_SERIES)
            self._floats[path] = [s, value]
        first = accepted[0][1]
        if all(a[1] == first for a in accepted):
            keys = tuple(a[0] for a in accepted)
            values = tuple(a[2] for a in accepted)
            self._put((first, ts, keys, values))
            if keys == tuple(data) and type(step) is int and timestamp is None:
                self._remember_group(keys, first, values)
        else:  # per-series automatic steps; one call, one batch (extend is atomic)
            self._queue.extend([(s, ts, (path,), (value,)) for path, s, value, _ in accepted])
        self._after_write()

    def _log_floats_bulk(self, data: Mapping[str, Any], step: Any, ts: float, now: bool) -> bool:
        """:meth:`_log_floats` of a big call at one ``step`` with its checks done as set operations.

        False (nothing moved) unless every key is a plain path, new or a float series, every
        value a plain ``float`` or ``int``, and the run no fork (a new series of a fork checks
        the step against what it inherits, path by path): then the per-key path runs, and says
        what is wrong.
        """
        keys = list(data)
        values = list(data.values())
        kinds = {*map(type, values)}
        if not kinds <= _NUMBERS or self._record.parent_pk is not None or not all_plain(keys):
            return False
        f = self._f
        checked = f.in_bulk(keys)
        if checked is None:
            return False
        parents, known = checked
        try:
            s = fixed_step(keys[0], step)
            if int in kinds:
                values = list(map(float, values))
        except (NaiadError, OverflowError):
            return False
        skip: set[str] = set()
        if known:
            self._materialize()
            types = f.types
            try:
                for path, value in zip(keys, values):
                    if path in known:
                        if types[path] is not FieldType.FLOAT_SERIES:
                            return False
                        if not f.check_step(path, s, value):
                            skip.add(path)  # an identical re-send: a no-op
            except NaiadError:
                return False
        if skip:
            kept = [i for i, p in enumerate(keys) if p not in skip]
            keys, values, parents = (
                [keys[i] for i in kept],
                [values[i] for i in kept],
                [parents[i] for i in kept],
            )
        if not keys or not self._room(len(keys)):
            return True
        if known:
            new = [i for i, p in enumerate(keys) if p not in known]
            f.add_many([keys[i] for i in new], [FieldType.FLOAT_SERIES] * len(new), [parents[i] for i in new])
        else:
            f.add_many(keys, [FieldType.FLOAT_SERIES] * len(keys), parents)
        group, row = tuple(keys), tuple(values)
        self._put((s, ts, group, row))
        self._writer.big_call()  # type: ignore[union-attr]
        if type(step) is int and now and not skip:
            self._remember_group(group, s, row)  # the positions live in the group
        else:
            self._floats.update(zip(keys, map(list, zip(itertools.repeat(s), values))))
        return True

    @serialized
    def _append_many(self, data: Mapping[str, Any], ftype: FieldType, step: Any, timestamp: Any) -> None:
        if not isinstance(data, Mapping):
            raise FieldValueError(f"Expected a dict of path → value, not {type(data).__name__}.")
        self._writable()
        ts = self._stamp(timestamp, data)
        call = CallPaths()
        staged = []
        for key, raw in data.items():
            try:
                path = self._f.path(key)
                call.add(key, path)
                self._f.check_type(path, ftype)
                value = self._series_value(path, ftype, raw)
                s = fixed_step(path, step) if step is not None else self._f.next_step(path)
                if self._f.check_step(path, s, value):
                    staged.append((path, s, value))
            except NaiadError as e:
                if self._raise:
                    raise
                self._fail(e)
        if staged and not self._room(len(staged)):
            return
        # every value stored (files put) before any state moves: a call that raises leaves no trace
        encoded = [(p, s, v, self._store_series_value(p, ftype, v)) for p, s, v in staged]
        ops = []
        for path, s, value, stored in encoded:
            if stored is None:
                continue
            self._f.add(path, ftype)
            self._f.last[path] = [s, value]
            ops.append(PointMsg(path, int(ftype), s, ts, stored))
        self._queue.extend(ops)  # one call, one batch: extend is atomic against the writer
        self._after_write()

    def _series_value(self, path: str, ftype: FieldType, raw: Any) -> Any:
        if ftype is FieldType.STRING_SERIES:
            if not isinstance(raw, str):
                kind = "Float" if isinstance(raw, float) else type(raw).__name__
                raise FieldTypeError(path, "StringSeries", kind, f"append {article(kind)} {kind} value")
            return check_string(path, raw)
        if ftype is FieldType.HISTOGRAM_SERIES:
            if not isinstance(raw, Histogram):
                raise FieldValueError(
                    f"Histogram series '{path}' takes naiad.Histogram values; got {type(raw).__name__}.", path
                )
            return raw
        file = as_file(raw)
        return file

    def _store_series_value(self, path: str, ftype: FieldType, value: Any) -> Any:
        if ftype is FieldType.HISTOGRAM_SERIES:
            return json.dumps(value.to_json())
        if ftype is FieldType.FILE_SERIES:
            return self._store_file(path, value)
        return value

    def _store_file(self, path: str, file: File) -> str | None:
        """Put the file's content in the store now (the caller may delete it); metadata JSON.

        ``None`` when nothing was stored: a source that is no file (a missing path) under
        ``on_error="warn"``, or storage failing in async mode; both warned and counted.
        """
        try:
            source = source_of(path, file)
        except FieldValueError as e:
            self._fail(e)  # raises under on_error="raise"
            return None
        try:
            if self._store is None:  # disabled: hash only
                import hashlib

                data = source.read_bytes() if isinstance(source, Path) else source
                return file_meta(file, hashlib.sha256(data).hexdigest(), len(data))  # type: ignore[arg-type]
            sha, size = self._store.blobs.put(source)
        except StorageError as e:
            if self.mode == "sync":
                raise
            self._writer.dropped += 1  # type: ignore[union-attr]
            errors.warn(f"naiad: the file for '{path}' was not stored: {e}")
            return None
        self._put(BlobStored(size))
        return file_meta(file, sha, size)

    @serialized
    def _assign(self, path: str, value: Any, cast_unsupported: bool) -> None:
        self._writable()
        if isinstance(value, File):
            self._upload(path, value)
            return
        if is_namespace_value(value):
            with gc_paused():  # a big dict: a million objects made, none in a cycle
                items = flatten(path, value)
                done = len(items) >= BULK_MIN and self._assign_bulk(items)
            if done:
                self._after_write()
                return
        else:
            items = [(path, value)]
        staged: list[tuple[str, FieldType, Any, bool]] = []
        call = CallPaths()
        for key, raw in items:
            try:
                p = self._f.path(key)
                call.add(key, p)
                ftype, stored = classify(p, raw, cast_unsupported)
                if ftype is FieldType.INTEGER and self._f.types.get(p) is FieldType.FLOAT:
                    ftype, stored = FieldType.FLOAT, float(stored)  # widened, never narrowed
                new = self._f.check_type(p, ftype)
                staged.append((p, ftype, stored, new))
            except NaiadError as e:
                if self._raise:
                    raise
                self._fail(e)
        if staged and not self._room(len(staged)):
            return
        ops = []
        for p, ftype, checked, _ in staged:
            self._f.add(p, ftype)
            stored = (
                float_bits(checked)
                if ftype is FieldType.FLOAT
                else json.dumps(checked)
                if ftype is FieldType.STRING_SET
                else checked
            )
            ops.append(Assign(p, int(ftype), stored))
        self._queue.extend(ops)  # one call, one batch: extend is atomic against the writer
        self._after_write()

    def _assign_bulk(self, items: list[tuple[str, Any]]) -> bool:
        """:meth:`_assign` of a big call with its checks done as set operations.

        False (nothing moved) unless every path is plain and new or of the same type, and every
        value a plain ``float``, ``int``, ``bool`` or ``str`` that needs no per-value message:
        then the per-key path runs, and says what is wrong.
        """
        paths, values = cast("tuple[list[str], list[Any]]", map(list, zip(*items)))
        if not all_plain(paths) or not {*map(type, values)} <= _ATOM_KINDS.keys():
            return False
        checked = self._f.in_bulk(paths)
        if checked is None:
            return False
        parents, known = checked
        ftypes = list(map(_ATOM_KINDS.__getitem__, map(type, values)))
        if not _plain_atoms(values, ftypes):
            return False
        if known:  # fields already there: the same type, or an integer widened to a float
            types = self._f.types
            for i, p in enumerate(paths):
                if p in known:
                    had, ftype = types[p], ftypes[i]
                    if ftype is FieldType.INTEGER and had is FieldType.FLOAT:
                        ftypes[i], values[i] = had, float(values[i])
                    elif had is not ftype:
                        return False
        if not self._room(len(paths)):
            return True  # dropped whole, and counted
        if FieldType.FLOAT in ftypes and not math.isfinite(sum(v for v in values if type(v) is float)):
            values = [float_bits(v) if type(v) is float else v for v in values]  # NaN as its bits
        if known:
            fresh = [i for i, p in enumerate(paths) if p not in known]
            self._f.add_many(
                [paths[i] for i in fresh], [ftypes[i] for i in fresh], [parents[i] for i in fresh]
            )
        else:
            self._f.add_many(paths, ftypes, parents)
        self._queue.append(Assigns(paths, list(map(int, ftypes)), values))
        self._writer.big_call()  # type: ignore[union-attr]
        return True

    @serialized
    def _upload(self, path: str, file: File) -> None:
        self._writable()
        try:
            self._f.check_type(path, FieldType.FILE)
        except NaiadError as e:
            self._fail(e)  # raises under on_error="raise"
            return
        if not self._room(1):
            return
        meta = self._store_file(path, file)
        if meta is not None:
            self._f.add(path, FieldType.FILE)
            self._put(Assign(path, int(FieldType.FILE), meta))
        self._after_write()

    @serialized
    def _track_files(self, path: str, target: Any) -> None:
        self._writable()
        try:
            self._f.check_type(path, FieldType.ARTIFACT)
            meta = manifest(path, target)
        except NaiadError as e:
            self._fail(e)  # raises under on_error="raise"
            return
        if not self._room(1):
            return
        self._f.add(path, FieldType.ARTIFACT)
        self._put(Assign(path, int(FieldType.ARTIFACT), meta))
        self._after_write()

    @serialized
    def _set_change(
        self, path: str, kind: Literal["add", "remove", "clear"], items: Iterable[str] | str | None
    ) -> None:
        self._writable()
        self._f.check_type(path, FieldType.STRING_SET)
        values = [] if items is None else _strings(path, items)
        if not self._room(1):
            return
        self._f.add(path, FieldType.STRING_SET)
        self._put(SetChange(path, kind, tuple(values)))
        self._after_write()

    @serialized
    def _delete(self, path: str) -> None:
        self._writable()
        if _sys.is_sys(path):
            from .errors import ReadOnlyFieldError

            raise ReadOnlyFieldError(path)
        self._materialize()
        if not self._room(1):
            return
        if not self._f.remove(path):
            raise FieldNotFound(f"Run '{self.run_id}' has no field or namespace '{path}'.")
        self._put(Delete(path))
        self._after_write()

    def mark_failed(self, exc: BaseException | None = None) -> None:
        """Mark the run failed (``sys/failed``), recording ``exc`` in ``sys/diagnostics``.

        What an uncaught exception does on its own; integrations call it when the training
        they watch fails. With ``exc``: ``sys/diagnostics/exception`` holds
        ``"Type: message"`` and ``sys/diagnostics/traceback`` the full traceback text (when
        the exception has one). A no-op on a closed or read-only run.

        Example:
            >>> try:
            ...     train()
            ... except Exception as e:
            ...     run.mark_failed(e)  # doctest: +SKIP
        """
        if self._closed or self._writer is None:
            return
        ops: list[Assign] = [Assign(_sys.FAILED, int(FieldType.BOOLEAN), True)]
        if exc is not None:
            text = f"{type(exc).__name__}: {exc}"[:4096]
            ops.append(Assign(_sys.DIAGNOSTICS_EXCEPTION, int(FieldType.STRING), text))
            if exc.__traceback__ is not None:
                import traceback

                full = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
                ops.append(Assign(_sys.DIAGNOSTICS_TRACEBACK, int(FieldType.STRING), full[-60_000:]))
        self._queue.extend(ops)
        capture = getattr(self, "_capture", None)
        if exc is not None and capture is not None:
            capture.failed(exc)  # exit status, signal, which rank (naiad._capture.failure)

    def _stop_writer(self, timeout: float | None) -> bool:
        """Flush and stop the writer; a warning (never an exception) when data was not written."""
        if self._writer is None:
            return True
        ok = self._writer.close(timeout)
        if not ok:
            errors.warn(
                f"naiad: run '{self.run_id}' closed before its data was written "
                f"({len(self._writer.queue)} queued op(s)): "
                f"{self._writer.fault or 'storage did not answer in time'}."
            )
        return ok

    def _diagnose(self, values: Mapping[str, str | int]) -> None:
        """Write ``sys/diagnostics/<key>`` (read-only to users): the capture's failure record."""
        ops = []
        for key, value in values.items():
            ftype = FieldType.INTEGER if isinstance(value, int) else FieldType.STRING
            ops.append(Assign(f"{_sys.DIAGNOSTICS}/{key}", int(ftype), value))
        self._queue.extend(ops)

    _mark_failed = mark_failed  # the name the lifecycle and older integrations call

    def _abandon(self) -> int:
        """Stop writing now (the process is leaving); how many ops stay unwritten."""
        return 0 if self._writer is None else self._writer.abandon()

    @property
    def dropped(self) -> int:
        """How many points or ops were dropped (``on_error="warn"``, or storage failing)."""
        return 0 if self._writer is None else self._writer.dropped

    def wait(self, timeout: float | None = None, verbose: bool = False) -> bool:
        """Block until everything logged so far is durable in the store.

        True only if everything accepted since the run was opened is durable: False on
        timeout, and False for good once anything was lost (dropped, or left unwritten by a
        ``close`` that gave up).
        """
        if self._writer is None:
            return True
        if self._closed:
            return not self._writer.lost
        ok = self._writer.flush(timeout)
        if self._writer.fault is not None and self.mode == "sync":
            raise StorageError(self._writer.fault)
        return ok and not self._writer.lost

    @serialized
    def assign_files(self, files: Mapping[str, Any]) -> None:
        """Upload each file to its path (a File field)."""
        self._writable()
        call, checked = CallPaths(), {}
        for p, v in files.items():
            path = self._f.path(p)
            call.add(p, path)
            checked[path] = as_file(v)
        for path in checked:
            self._f.check_type(path, FieldType.FILE)
        if checked and not self._room(len(checked)):
            return
        ops = []
        for path, file in checked.items():
            meta = self._store_file(path, file)
            if meta is not None:
                self._f.add(path, FieldType.FILE)
                ops.append(Assign(path, int(FieldType.FILE), meta))
        self._queue.extend(ops)  # one call, one batch: extend is atomic against the writer
        self._after_write()

    wait_for_submission = wait
    wait_for_processing = wait


def check_configs(data: Mapping[str, Any], flatten: bool) -> None:
    """``log_configs`` takes a dict, nested only with ``flatten=True`` (else nothing is stored)."""
    if not isinstance(data, Mapping):
        raise FieldValueError(f"log_configs takes a dict, not {type(data).__name__}.")
    if flatten:
        return
    for key, value in data.items():
        if is_namespace_value(value):
            raise FieldValueError(
                f"Value at '{key}' is a nested {type(value).__name__}; pass flatten=True "
                "to store it as a namespace.",
                str(key),
            )


_NUMBERS = {float, int}
_ATOM_KINDS = {float: FieldType.FLOAT, int: FieldType.INTEGER, bool: FieldType.BOOLEAN, str: FieldType.STRING}


def _plain_atoms(values: list[Any], ftypes: list[FieldType]) -> bool:
    """Whether :func:`naiad._types.classify` takes each value as it is (a float, an int in the
    int64 range, a bool, a str of at most ``MAX_STRING_BYTES`` valid UTF-8), checked per kind."""
    ints = [v for v, t in zip(values, ftypes) if t is FieldType.INTEGER]
    if ints and not (min(ints) >= INT64_MIN and max(ints) <= INT64_MAX):
        return False
    texts = [v for v, t in zip(values, ftypes) if t is FieldType.STRING]
    if texts:
        joined = "".join(texts)
        longest = max(map(len, texts))
        if joined.isascii():
            return longest <= MAX_STRING_BYTES
        try:
            joined.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return longest * 4 <= MAX_STRING_BYTES
    return True


def _strings(path: str, items: Iterable[str] | str) -> list[str]:
    values = [items] if isinstance(items, str) else list(items)
    for v in values:
        if not isinstance(v, str):
            raise FieldValueError(f"'{path}' takes strings; got {type(v).__name__} {v!r}.", path)
        check_string(path, v)
    return values


def _keys(data: Mapping[str, Any]) -> str:
    names = [repr(k) for k in list(data)[:3]]
    return ", ".join(names) + (", ..." if len(data) > 3 else "") if names else "the call"
