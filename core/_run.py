"""``naiad.Run``: one run, written through either API style, read back the same way.

Both styles meet in a handful of private methods (``_assign``, ``_log_floats``, ``_append``,
``_set_change``, ``_delete``, ``_upload``): each validates the whole call against the path
rules, the type lock and the step order, raises before anything is queued, then hands plain
tuples to the background :class:`~naiad._writer.Writer`. ``log_metrics`` has a fast path for
the common call — the same float keys as the previous call at a later integer step — which
does no per-key work beyond a type check of the values.
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
import warnings
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _capture, _lifecycle
from ._fields import CallPaths, FieldState, Inherited
from ._files import File, as_file, file_meta, manifest, source_of
from ._read import Lineage, decode, lineage
from ._settings import Settings, resolve
from ._storage import RunRecord, RunSpec, SqliteStore, open_store
from ._types import (
    MAX_STEP,
    STEP_SCALE,
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
from ._writer import MAX_QUEUE, Writer
from .errors import (
    FieldNotFound,
    FieldValueError,
    ModeError,
    NaiadError,
    NaiadWarning,
    RunNotFound,
    StorageError,
)

if TYPE_CHECKING:
    from ._handle import Handle

_FLOAT_ONLY = {float}
_MAX_GROUPS = 32  # key sets remembered for the fast path (a training loop has a handful)
_TS_LIMIT = 9.2e9  # epoch seconds that pandas' datetime64[ns] holds: the years 1678 to 2261
_time = time.time


class Run:
    """A run: a tree of namespaces and type-locked fields in a store you own.

    Args:
        experiment_name: the experiment this run belongs to (``sys/name``); the newest run
            created with a name is its head.
        run_id: your id for the run (``sys/custom_run_id``); an existing id resumes the run.
        project: project name (default ``default``).
        store: store location: a directory (default ``./.naiad``).
        fork_run_id, fork_step: fork from run ``fork_run_id`` at ``fork_step`` (inclusive).
        creation_time: ``sys/creation_time`` (default now).
        mode: ``async`` (default), ``sync``, ``offline``, ``disabled`` or ``read-only``.
        tags, description: initial ``sys/tags`` and ``sys/description``.
        inherit_configs: a fork copies its parent's configs, tags and description.
        on_error: ``raise`` (default) or ``warn`` (drop the bad point, warn, count it).

    Example:
        >>> with Run(experiment_name="seabird", store=tmp) as run:  # doctest: +SKIP
        ...     run["params/lr"] = 0.001
        ...     run.log_metrics({"train/loss": 0.5}, step=1)
    """

    def __init__(
        self,
        experiment_name: str | None = None,
        run_id: str | None = None,
        project: str | None = None,
        store: str | os.PathLike[str] | None = None,
        fork_run_id: str | None = None,
        fork_step: int | float | None = None,
        creation_time: datetime | None = None,
        mode: str | None = None,
        tags: Iterable[str] = (),
        description: str | None = None,
        inherit_configs: bool = True,
        on_error: str | None = None,
        *,
        capture_stdout: bool | None = None,
        capture_stderr: bool | None = None,
        capture_hardware_metrics: bool | None = None,
        capture_traceback: bool | None = None,
        capture_source: bool | None = None,
        source_files: Iterable[str] | None = None,
        capture_environment: bool | None = None,
        _environ: Mapping[str, str] | None = None,
    ) -> None:
        self._closed = True  # until construction succeeds
        # fast path: key tuple of a recent call → [its fixed-point step, its values]; a series
        # in a group has its position there, not in self._floats (see _materialize)
        self._groups: dict[tuple[str, ...], list[Any]] = {}
        self._group_of: dict[str, tuple[str, ...]] = {}
        settings = resolve(
            {
                "experiment_name": experiment_name,
                "run_id": run_id,
                "project": project,
                "store": None if store is None else os.fspath(store),
                "mode": mode,
                "on_error": on_error,
                "capture_stdout": capture_stdout,
                "capture_stderr": capture_stderr,
                "capture_hardware_metrics": capture_hardware_metrics,
                "capture_traceback": capture_traceback,
                "capture_source": capture_source,
                "source_files": None if source_files is None else tuple(source_files),
                "capture_environment": capture_environment,
            },
            _environ,
        )
        self.settings: Settings = settings
        if (fork_run_id is None) != (fork_step is None):
            raise ValueError("Pass both fork_run_id and fork_step to fork a run, or neither.")
        fork_whole = None
        if fork_step is not None:
            fork_fixed = fixed_step("fork_step", fork_step)
            if fork_fixed % STEP_SCALE:
                raise ValueError(f"fork_step must be a whole number of steps; got {fork_step!r}.")
            fork_whole = fork_fixed // STEP_SCALE
        self.mode = settings.mode
        self._raise = settings.on_error == "raise"
        self._f = FieldState(self._inherited_point)
        self._floats = self._f.last
        self._chain: Lineage | None = None
        environ = os.environ if _environ is None else _environ
        custom_id = settings.run_id or _capture.ranks.launcher_run_id(environ) or os.urandom(8).hex()
        self._capture: _capture.Capture | None = None
        created = creation_time.timestamp() if creation_time is not None else _time()
        self._store: SqliteStore | None = None
        self._writer: Writer | None = None
        if self.mode == "disabled":
            self._record = RunRecord(
                0, settings.project, custom_id, "", settings.experiment_name, None, None, 0, created=True
            )
            self._writer = Writer(None, 0, None, created)
            self._start()
            return
        self._store = self._open_store(custom_id)
        if self.mode == "read-only":
            record = self._store.find_run(settings.project, custom_id)
            if record is None:
                self._store.close()
                raise RunNotFound(
                    f"No run '{custom_id}' in project '{settings.project}' of the "
                    f"store at {self._store.root}."
                )
            self._record = record
            self._load_fields()
            return
        self._spec = RunSpec(
            project=settings.project,
            custom_id=custom_id,
            experiment=settings.experiment_name,
            fork_parent=fork_run_id,
            fork_step=fork_whole,
            creation_time=created,
            owner=settings.owner,
            hostname=platform.node(),
            tags=tuple(_strings("sys/tags", tags)),
            description=None if description is None else check_string("sys/description", description),
            inherit_configs=inherit_configs,
            allow_missing_parent=self.mode == "offline",
        )
        try:
            self._record = self._store.open_run(self._spec)
            if not self._record.created:
                self._check_resume(fork_run_id, fork_whole)
            self._load_fields()
            session = self._store.open_session(self._record.pk, self._spec.hostname, os.getpid(), _time())
        except BaseException:
            self._store.close()
            raise
        creation = self._stored("sys/creation_time")
        self._writer = Writer(
            self._store,
            self._record.pk,
            session,
            creation.timestamp() if creation else created,
            reattach=self._reattach,
        )
        self._writer.base_running_time = float(self._stored("sys/running_time") or 0.0)
        self._start()
        self._capture = _capture.start(self, settings, environ)

    # -- construction helpers ---------------------------------------------------------------------
    def _open_store(self, custom_id: str) -> SqliteStore:
        location = self.settings.store
        if self.mode == "offline":
            base = Path(location).expanduser()
            name = f"{self.settings.project}--{custom_id}.naiad-journal"
            return SqliteStore(base / "offline" / _safe(name))
        return open_store(location, create=self.mode != "read-only")

    def _start(self) -> None:
        self._closed = False
        self._put = self._writer.queue.append  # type: ignore[union-attr]
        self._queue = self._writer.queue  # type: ignore[union-attr]
        _lifecycle.register(self)

    def _check_resume(self, fork_run_id: str | None, fork_step: int | None) -> None:
        store, rec = self._store, self._record
        assert store is not None
        parent = None if rec.parent_pk is None else store.get_run(rec.parent_pk).custom_id
        have_step = None if rec.fork_step is None else rec.fork_step // STEP_SCALE
        if fork_run_id is not None and (fork_run_id, fork_step) != (parent, have_step):
            raise ValueError(
                f"Run '{rec.custom_id}' exists, forked from {parent!r} at step {have_step!r}; "
                f"cannot resume it with fork_run_id={fork_run_id!r}, fork_step={fork_step!r}. "
                "Drop the fork arguments to resume it, or pick a new run_id to fork again."
            )

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
        """After the database file vanished: create the run again in the new file."""
        assert self._store is not None
        self._record = self._store.open_run(self._spec)
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

    # -- identity ---------------------------------------------------------------------------------
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

    # -- the neptune 1.x handle style --------------------------------------------------------------
    def __getitem__(self, path: str) -> Handle:
        from ._handle import Handle

        return Handle(self, self._f.path(path))

    def __setitem__(self, path: str, value: Any) -> None:
        self._assign(self._f.path(path), value, cast_unsupported=False)

    def __delitem__(self, path: str) -> None:
        self._delete(self._f.path(path))

    def pop(self, path: str) -> None:
        """Delete a field, or a namespace and everything under it."""
        self._delete(self._f.path(path))

    def __contains__(self, path: str) -> bool:
        return self.exists(path)

    # -- the neptune-scale style -----------------------------------------------------------------
    def log_metrics(
        self,
        data: Mapping[str, Any],
        step: int | float | None = None,
        timestamp: datetime | float | None = None,
    ) -> None:
        """Append one point to each float series in ``data`` at ``step``.

        Example:
            >>> run.log_metrics({"train/loss": 0.25, "train/acc": 0.9}, step=10)  # doctest: +SKIP
        """
        keys = tuple(data)
        group = self._groups.get(keys)
        if group is not None and type(step) is int and timestamp is None:
            s = step * 1_000_000
            if s > group[0] and step < MAX_STEP:
                values = tuple(data.values())
                if {*map(type, values)} == _FLOAT_ONLY:
                    group[0] = s
                    group[1] = values
                    self._put((s, _time(), keys, values))
                    if len(self._queue) > MAX_QUEUE:
                        self._writer.backpressure()  # type: ignore[union-attr]
                    return
        self._log_floats(data, step, timestamp)

    def log_configs(
        self, data: Mapping[str, Any], flatten: bool = False, cast_unsupported: bool = False
    ) -> None:
        """Assign each value of ``data``; with ``flatten=True`` nested dicts become namespaces."""
        if not isinstance(data, Mapping):
            raise FieldValueError(f"log_configs takes a dict, not {type(data).__name__}.")
        if not flatten:
            for key, value in data.items():
                if is_namespace_value(value):
                    raise FieldValueError(
                        f"Value at '{key}' is a nested {type(value).__name__}; pass flatten=True "
                        "to store it as a namespace.",
                        str(key),
                    )
        self._assign("", data, cast_unsupported=cast_unsupported)

    def log_string_series(
        self,
        data: Mapping[str, str],
        step: int | float | None = None,
        timestamp: datetime | float | None = None,
    ) -> None:
        """Append one string to each string series in ``data``."""
        self._append_many(data, FieldType.STRING_SERIES, step, timestamp)

    def log_histograms(
        self,
        histograms: Mapping[str, Histogram],
        step: int | float | None = None,
        timestamp: datetime | float | None = None,
    ) -> None:
        """Append one :class:`naiad.Histogram` to each histogram series."""
        self._append_many(histograms, FieldType.HISTOGRAM_SERIES, step, timestamp)

    def log_files(
        self,
        files: Mapping[str, Any],
        step: int | float | None = None,
        timestamp: datetime | float | None = None,
    ) -> None:
        """Append one file (path, bytes, file object or :class:`naiad.File`) to each file series."""
        self._append_many(files, FieldType.FILE_SERIES, step, timestamp)

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
        ops = []
        for path, file in checked.items():
            meta = self._store_file(path, file)
            if meta is not None:
                self._f.add(path, FieldType.FILE)
                ops.append(("assign", path, int(FieldType.FILE), meta))
        self._queue.extend(ops)  # one call, one batch: extend is atomic against the writer
        self._after_write()

    def add_tags(self, tags: Iterable[str] | str, group_tags: bool = False) -> None:
        """Add tags to ``sys/tags`` (or ``sys/group_tags``)."""
        self._set_change("sys/group_tags" if group_tags else "sys/tags", "set_add", tags)

    def remove_tags(self, tags: Iterable[str] | str, group_tags: bool = False) -> None:
        self._set_change("sys/group_tags" if group_tags else "sys/tags", "set_remove", tags)

    def wait(self, timeout: float | None = None, verbose: bool = False) -> bool:
        """Block until everything logged so far is durable in the store. False on timeout."""
        if self._writer is None or self._closed:
            return True
        ok = self._writer.flush(timeout)
        if self._writer.fault is not None and self.mode == "sync":
            raise StorageError(self._writer.fault)
        return ok

    wait_for_submission = wait
    wait_for_processing = wait

    def close(self, timeout: float | None = None) -> bool:
        """Flush, mark the run inactive and stop the writer. False when ``timeout`` ran out."""
        if self._closed:
            if self.mode == "read-only" and self._store is not None:
                self._store.close()  # a reader holds connections, never a writer
            return True
        if self._capture is not None:
            self._capture.stop()
            self._capture = None
        self._materialize()
        self._closed = True
        _lifecycle.unregister(self)
        ok = True
        if self._writer is not None:
            ok = self._writer.close(timeout)
            if not ok:
                warnings.warn(
                    f"naiad: run '{self.run_id}' closed before its data was written "
                    f"({len(self._writer.queue)} queued op(s)): "
                    f"{self._writer.fault or 'storage did not answer in time'}.",
                    NaiadWarning,
                    stacklevel=2,
                )
        if self._store is not None and ok:
            self._store.close()
        return ok

    stop = close

    def __enter__(self) -> Run:
        return self

    def __del__(self) -> None:
        store = self.__dict__.get("_store")
        if self.__dict__.get("mode") == "read-only" and store is not None:
            store.close()

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if exc is not None:
            self._mark_failed(exc)
        self.close()

    # -- reading --------------------------------------------------------------------------------
    def fetch(self) -> dict[str, Any]:
        """Every field as a nested dict: atoms' values, series' last values, file metadata."""
        out: dict[str, Any] = {}
        for rec in self._fresh_fields():
            node = out
            *spaces, leaf = rec.path.split("/")
            for name in spaces:
                node = node.setdefault(name, {})
            node[leaf] = decode(rec.type, rec.value)
        return out

    def exists(self, path: str) -> bool:
        """True when ``path`` is a field or a namespace of this run."""
        norm = self._f.path(path)
        return norm in self._f.types or norm in self._f.namespaces

    def get_structure(self) -> dict[str, Any]:
        """The tree of namespaces, with each field's type name at the leaves."""
        out: dict[str, Any] = {}
        for path, ftype in sorted(self._f.types.items()):
            node = out
            *spaces, leaf = path.split("/")
            for name in spaces:
                node = node.setdefault(name, {})
            node[leaf] = ftype.label
        return out

    def _fresh_fields(self) -> list[Any]:
        self._sync_reads()
        assert self._store is not None
        return self._store.fields(self._record.pk)

    def _sync_reads(self) -> None:
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

    # -- the engine's calling-thread half ---------------------------------------------------------
    def _writable(self) -> None:
        if self._closed:
            if self.mode == "read-only":
                raise ModeError(f"Run '{self.run_id}' is open read-only; open it with another mode to write.")
            raise ModeError(f"Run '{self.run_id}' is closed; open it again (Run(run_id=...)) to log more.")

    def _fail(self, error: NaiadError) -> None:
        """Apply the error policy to one rejected point: raise, or warn and count it."""
        if self._raise:
            raise error
        self._writer.dropped += 1  # type: ignore[union-attr]
        warnings.warn(f"naiad: dropped: {error}", NaiadWarning, stacklevel=4)

    def _after_write(self) -> None:
        if self.mode == "sync":
            self.wait()

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
            step, values = groups.pop(keys)
            for key, value in zip(keys, values):
                floats[key] = [step, value]
                del group_of[key]

    def _remember_group(self, keys: tuple[str, ...], step: int, values: tuple[float, ...]) -> None:
        """Let later calls with exactly these keys take the fast path."""
        if len(self._groups) >= _MAX_GROUPS:
            self._materialize()
        self._groups[keys] = [step, values]
        for key in keys:
            self._group_of[key] = keys

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

    def _log_floats(self, data: Mapping[str, Any], step: Any, timestamp: Any) -> None:
        self._writable()
        if not isinstance(data, Mapping):
            raise FieldValueError(f"log_metrics takes a dict of path → number, not {type(data).__name__}.")
        ts = self._stamp(timestamp, data)
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
        if not accepted:
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
        if len(self._queue) > MAX_QUEUE:
            self._writer.backpressure()  # type: ignore[union-attr]
        self._after_write()

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
        ops = []
        for path, s, value in staged:
            stored = self._store_series_value(path, ftype, value)
            if stored is None:
                continue
            self._f.add(path, ftype)
            self._f.last[path] = [s, value]
            ops.append(("point", path, int(ftype), s, ts, stored))
        self._queue.extend(ops)  # one call, one batch: extend is atomic against the writer
        self._after_write()

    def _series_value(self, path: str, ftype: FieldType, raw: Any) -> Any:
        if ftype is FieldType.STRING_SERIES:
            if not isinstance(raw, str):
                raise FieldValueError(
                    f"String series '{path}' takes str values; got {type(raw).__name__}.", path
                )
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
        """Put the file's content in the store now (the caller may delete it); metadata JSON."""
        try:
            source = source_of(path, file)
            if self._store is None:  # disabled: hash only
                import hashlib

                data = source.read_bytes() if isinstance(source, Path) else source
                return file_meta(file, hashlib.sha256(data).hexdigest(), len(data))  # type: ignore[arg-type]
            sha, size = self._store.put_blob(source)
        except StorageError as e:
            if self.mode == "sync":
                raise
            self._writer.dropped += 1  # type: ignore[union-attr]
            warnings.warn(f"naiad: the file for '{path}' was not stored: {e}", NaiadWarning, stacklevel=4)
            return None
        self._put(("blob", size))
        return file_meta(file, sha, size)

    def _assign(self, path: str, value: Any, cast_unsupported: bool) -> None:
        self._writable()
        if isinstance(value, File):
            self._upload(path, value)
            return
        items = list(flatten(path, value)) if is_namespace_value(value) else [(path, value)]
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
            ops.append(("assign", p, int(ftype), stored))
        self._queue.extend(ops)  # one call, one batch: extend is atomic against the writer
        self._after_write()

    def _upload(self, path: str, file: File) -> None:
        self._writable()
        self._f.check_type(path, FieldType.FILE)
        meta = self._store_file(path, file)
        if meta is not None:
            self._f.add(path, FieldType.FILE)
            self._put(("assign", path, int(FieldType.FILE), meta))
        self._after_write()

    def _track_files(self, path: str, target: Any) -> None:
        self._writable()
        self._f.check_type(path, FieldType.ARTIFACT)
        meta = manifest(path, target)
        self._f.add(path, FieldType.ARTIFACT)
        self._put(("assign", path, int(FieldType.ARTIFACT), meta))
        self._after_write()

    def _set_change(self, path: str, kind: str, items: Iterable[str] | str | None) -> None:
        self._writable()
        self._f.check_type(path, FieldType.STRING_SET)
        values = [] if items is None else _strings(path, items)
        self._f.add(path, FieldType.STRING_SET)
        self._put((kind, path, values) if kind != "set_clear" else (kind, path))
        self._after_write()

    def _delete(self, path: str) -> None:
        self._writable()
        if path == "sys" or path.startswith("sys/"):
            from .errors import ReadOnlyFieldError

            raise ReadOnlyFieldError(path)
        self._materialize()
        if not self._f.remove(path):
            raise FieldNotFound(f"Run '{self.run_id}' has no field or namespace '{path}'.")
        self._put(("delete", path))
        self._after_write()

    def _mark_failed(self, exc: BaseException | None = None) -> None:
        """Set ``sys/failed`` (an uncaught exception, or an integration reporting failure)."""
        if self._closed or self._writer is None:
            return
        ops: list[tuple[Any, ...]] = [("assign", "sys/failed", int(FieldType.BOOLEAN), True)]
        if exc is not None:
            text = f"{type(exc).__name__}: {exc}"[:4096]
            ops.append(("assign", "sys/diagnostics/exception", int(FieldType.STRING), text))
        self._queue.extend(ops)
        if exc is not None and self._capture is not None:
            self._capture.failed(exc)

    def _diagnose(self, values: Mapping[str, str | int]) -> None:
        """Write ``sys/diagnostics/<key>`` (read-only to users): the capture's failure record."""
        ops = []
        for key, value in values.items():
            ftype = FieldType.INTEGER if isinstance(value, int) else FieldType.STRING
            ops.append(("assign", f"sys/diagnostics/{key}", int(ftype), value))
        self._queue.extend(ops)


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


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
