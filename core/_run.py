"""``naiad.Run``: the public face of one run, written through either API style.

Split by concept: :mod:`naiad._open` (settings, which store, resume/fork checks),
:mod:`naiad._engine` (field state; every write validated and turned into ops; shared with
:class:`~naiad._handle.Handle`), :mod:`naiad._reads` (read-back), :mod:`naiad._lifecycle`
(exit hooks, over a small protocol). ``log_metrics`` keeps its fast path here: the same
float keys as a recent call at a later integer step costs a type check of the values.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import _lifecycle, _open, _sys
from ._engine import _FLOAT_ONLY, _strings, _time, check_configs
from ._fields import FieldState
from ._read import Lineage
from ._reads import RunReads
from ._settings import Settings, check_capture, resolve
from ._storage import RunRecord, RunStore
from ._types import (
    MAX_STEP,
    FieldType,
    Histogram,
    whole_step_fixed,
)
from ._writer import MAX_QUEUE, Writer

if TYPE_CHECKING:
    from . import _capture
    from ._handle import Handle


class Run(RunReads):
    """A run: a tree of namespaces and type-locked fields in a store you own.

    Args:
        experiment_name: the experiment this run belongs to (``sys/name``); the newest run
            created with a name is its head.
        run_id: your id for the run (``sys/custom_run_id``); an existing id resumes the run.
        project: project name (default ``default``).
        store: store location: a directory (default ``./.naiad``),
            ``postgresql://USER:PASS@HOST:PORT/DB`` (the team store) or ``http(s)://HOST:PORT``
            (a ``naiad server``).
        fork_run_id, fork_step: fork from run ``fork_run_id`` at ``fork_step`` (inclusive).
        creation_time: ``sys/creation_time`` (default now).
        mode: ``async`` (default), ``sync``, ``offline``, ``disabled`` or ``read-only``.
        tags, description: initial ``sys/tags`` and ``sys/description``.
        inherit_configs: a fork copies its parent's configs, tags and description.
        on_error: ``raise`` (default) or ``warn`` (drop the bad point, warn, count it).
        blobs: where uploaded files go: a directory or ``s3://BUCKET/PREFIX`` (default: the
            location the store recorded, else the store's ``files/``; also ``NAIAD_BLOBS``).
        capture_stdout, capture_stderr, capture_hardware_metrics, capture_traceback,
            capture_source, source_files, capture_environment: what the run records about
            itself (see :mod:`naiad._capture`; each also a ``NAIAD_*`` variable).
        monitoring_interval: seconds between system-metric samples (default 10).
        monitoring_per: ``"node"`` (default: local rank 0 samples for its node) or ``"rank"``.
        token: a naiad server's token (else ``NAIAD_TOKEN``, else
            ``~/.config/naiad/credentials``; never ``[tool.naiad]``).

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
        blobs: str | os.PathLike[str] | None = None,
        token: str | None = None,
        capture_stdout: bool | None = None,
        capture_stderr: bool | None = None,
        capture_hardware_metrics: bool | None = None,
        monitoring_interval: float | None = None,
        monitoring_per: str | None = None,
        capture_traceback: bool | None = None,
        capture_source: bool | None = None,
        source_files: Iterable[str] | None = None,
        capture_environment: bool | None = None,
        _environ: Mapping[str, str] | None = None,
    ) -> None:
        self._closed = True  # until construction succeeds
        self._lock = threading.RLock()  # one writer of field state at a time (see serialized)
        self._acquire, self._release = self._lock.acquire, self._lock.release
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
                "blobs": None if blobs is None else os.fspath(blobs),
                "token": token,
                "mode": mode,
                "on_error": on_error,
                "capture_stdout": capture_stdout,
                "capture_stderr": capture_stderr,
                "capture_hardware_metrics": capture_hardware_metrics,
                "monitoring_interval": monitoring_interval,
                "monitoring_per": monitoring_per,
                "capture_traceback": capture_traceback,
                "capture_source": capture_source,
                "source_files": None if source_files is None else tuple(source_files),
                "capture_environment": capture_environment,
            },
            _environ,
        )
        if settings.mode != "read-only":  # a reader samples nothing
            check_capture(settings)
        self.settings: Settings = settings
        fork_whole = _open.fork_step_of(fork_run_id, fork_step)
        self.mode = settings.mode
        self._raise = settings.on_error == "raise"
        self._f = FieldState(self._inherited_point)
        self._floats = self._f.last
        self._chain: Lineage | None = None
        environ = os.environ if _environ is None else _environ
        custom_id = settings.run_id or _launcher_run_id(environ) or os.urandom(8).hex()
        self._capture: _capture.Capture | None = None
        created = creation_time.timestamp() if creation_time is not None else _time()
        self._store: RunStore | None = None
        self._writer: Writer | None = None
        if self.mode == "disabled":
            self._record = RunRecord(
                0, settings.project, custom_id, "", settings.experiment_name, None, None, 0, created=True
            )
            self._writer = Writer(None, 0, None, created)
            self._start()
            return
        self._store = _open.store_for(settings, custom_id)
        if self.mode == "read-only":
            self._record = _open.existing(self._store, settings.project, custom_id)
            self._load_fields()
            return
        self._spec = _open.run_spec(
            settings,
            custom_id,
            (fork_run_id, fork_whole),
            created,
            _strings(_sys.TAGS, tags),
            description,
            inherit_configs,
        )
        try:
            self._record = self._store.open_run(self._spec)
            if not self._record.created:
                _open.check_resume(self._store, self._record, fork_run_id, fork_whole)
            self._load_fields()
            session = self._store.open_session(self._record.pk, self._spec.hostname, os.getpid(), _time())
        except BaseException:
            self._store.close()
            raise
        creation = self._stored(_sys.CREATION_TIME)
        self._writer = Writer(
            self._store,
            self._record.pk,
            session,
            creation.timestamp() if creation else created,
            reattach=self._reattach,
        )
        self._writer.base_running_time = float(self._stored(_sys.RUNNING_TIME) or 0.0)
        self._start()
        from . import _capture  # here: a reader (or `import naiad`) never loads the capture

        self._capture = _capture.start(self, settings, environ)

    def _start(self) -> None:
        self._closed = False
        self._put = self._writer.queue.append  # type: ignore[union-attr]
        self._queue = self._writer.queue  # type: ignore[union-attr]
        _lifecycle.register(self)

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
        # the step check and the enqueue are one step for other threads (bound methods and
        # try/finally: half the cost of a `with` on this path)
        self._acquire()
        try:
            group = self._groups.get(keys)
            if group is not None and type(step) is int and timestamp is None:
                s = whole_step_fixed(step)
                if s > group[0] and step < MAX_STEP:
                    values = tuple(data.values())
                    if {*map(type, values)} == _FLOAT_ONLY:
                        if len(self._queue) > MAX_QUEUE and not self._room(len(keys)):
                            return
                        group[0] = s
                        group[1] = values
                        self._put((s, _time(), group[2], values))
                        return
            self._log_floats(data, step, timestamp)
        finally:
            self._release()

    def log_configs(
        self, data: Mapping[str, Any], flatten: bool = False, cast_unsupported: bool = False
    ) -> None:
        """Assign each value of ``data``; with ``flatten=True`` nested dicts become namespaces."""
        check_configs(data, flatten)
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

    def add_tags(self, tags: Iterable[str] | str, group_tags: bool = False) -> None:
        """Add tags to ``sys/tags`` (or ``sys/group_tags``)."""
        self._set_change(_sys.GROUP_TAGS if group_tags else _sys.TAGS, "add", tags)

    def remove_tags(self, tags: Iterable[str] | str, group_tags: bool = False) -> None:
        self._set_change(_sys.GROUP_TAGS if group_tags else _sys.TAGS, "remove", tags)

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
        ok = self._stop_writer(timeout)
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
        from ._capture import failure

        if exc is not None and failure.is_clean_exit(exc):
            if self._capture is not None:
                self._capture.exited(exc)
        elif exc is not None:
            self._mark_failed(exc)
        self.close()

    # -- reading --------------------------------------------------------------------------------
    # -- the engine's calling-thread half ---------------------------------------------------------


def _launcher_run_id(environ: Mapping[str, str]) -> str | None:
    """The run id a distributed launcher shares across ranks (see :mod:`naiad._capture.ranks`)."""
    from ._capture import ranks

    return ranks.launcher_run_id(environ)
