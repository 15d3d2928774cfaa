"""The seam between naiad and a storage backend: the only way anything reaches storage.

Two halves, so that each can be served by its own backend:

- :class:`BlobStore`: content-addressed file blobs (``put``/``open``/``exists``). The local
  ``files/`` directory (:class:`naiad._storage._blobs.BlobDir`) is the first; an S3 bucket
  would implement only this half.
- :class:`RunStore`: projects, runs, sessions, fields (atoms and the head of each series),
  packed chunks of float and of string series, rows of other series, and run selection. Every
  :meth:`RunStore.write_batch` is one transaction: a reader sees all of it or none of it.
  It also keeps the UI's saved views (per project) and tells a reader when the runs changed
  (:meth:`RunStore.wait_for_changes`), so live pages need not re-read on a timer.

Faults are error classes (:mod:`naiad.errors`): :class:`~naiad.errors.StoreReplaced` when
the store under an open handle was deleted or replaced (``reopen`` then ``open_run`` again),
:class:`~naiad.errors.LockTimeout` when another writer holds the write lock past
``patience``, and :class:`~naiad.errors.StorageError` for the rest.

:func:`naiad._storage.open_store` is the one place that picks a backend by URI. Backends:
:class:`~naiad._storage._sqlite.SqliteStore` (embedded),
:class:`~naiad._storage._postgres.PostgresStore` (the team store),
:class:`~naiad._storage._http.HttpStore` (a ``naiad server``, this seam over HTTP) and
:class:`naiad.testing.MemoryStore` (in memory, for tests). The contract suite
``tests/test_store_contract.py`` runs against each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from ._records import (
    Chunk,
    FieldRecord,
    Heartbeat,
    Op,
    RunRecord,
    RunSelection,
    RunSpec,
    SavedView,
    StoreStats,
)
from ._summary import ChunkSummary
from ._text_chunks import TextChunk


class BlobStore(Protocol):
    """Content-addressed file blobs, keyed by the sha256 hex digest of their content."""

    def put(self, source: Path | bytes | BinaryIO) -> tuple[str, int]:
        """Store ``source``; return (sha256, size). Storing the same content twice is free."""
        ...

    def open(self, sha256: str) -> BinaryIO:
        """The blob's content; StorageError when it is missing."""
        ...

    def exists(self, sha256: str) -> bool: ...


class RunStore(Protocol):
    """Runs and their fields. ``blobs`` is the blob half that goes with it."""

    @property
    def uri(self) -> str: ...
    @property
    def root(self) -> Path | None:
        """The local directory of the store, or None when it is not a directory."""
        ...

    @property
    def blobs(self) -> BlobStore: ...

    # -- runs and sessions -------------------------------------------------------------------
    def open_run(self, spec: RunSpec) -> RunRecord:
        """Create the run (with its ``sys`` fields), or return it when it exists."""
        ...

    def find_run(self, project: str, custom_id: str) -> RunRecord | None: ...
    def find_run_by_sys_id(self, project: str, sys_id: str) -> RunRecord | None: ...
    def get_run(self, pk: int) -> RunRecord: ...
    def children(self, run_pk: int) -> list[RunRecord]: ...
    def iter_runs(self, project: str | None = None) -> Iterator[RunRecord]: ...
    def projects(self) -> list[str]: ...
    def open_session(self, run_pk: int, host: str, pid: int, now: float) -> int: ...
    def ping(self, session: int, now: float, closing: bool = False) -> None: ...
    def run_state(self, run_pk: int, now: float) -> tuple[str, float | None]:
        """('active' | 'inactive', last heartbeat) decided by the run's sessions at ``now``."""
        ...

    def active_runs(self, run_pks: Sequence[int], now: float) -> set[int]:
        """Which of ``run_pks`` have a session attached at ``now``."""
        ...

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
        """Apply ``ops`` (and the heartbeat) in one transaction; return warnings for ops that
        another writer made moot. ``patience``/``cancel`` bound the wait for the write lock."""
        ...

    # -- reads -------------------------------------------------------------------------------
    def fields(self, run_pk: int, prefix: str | None = None) -> list[FieldRecord]: ...
    def field(self, run_pk: int, path: str) -> FieldRecord | None: ...
    def field_rows(
        self, run_pks: Sequence[int], paths: Sequence[str] | None = None, ftype: int | None = None
    ) -> list[tuple[int, str, int, Any]]:
        """(run pk, path, type, stored value) of many runs' fields, optionally of some paths
        or of one type only."""
        ...

    def series_extremes(self, run_pks: Sequence[int]) -> list[tuple[int, str, float | None, float | None]]:
        """(run pk, path, min, max) of every float series of these runs (NaN is no extreme;
        None while a series holds no other value)."""
        ...

    def chunks(
        self,
        run_pk: int,
        path: str,
        max_step: int | None,
        *,
        min_step: int | None = None,
        limit: int | None = None,
    ) -> list[Chunk]:
        """The float series' chunks that overlap [min_step, max_step] (fixed-point steps), in
        step order; with ``limit`` only the first ``limit`` of them (a reader pages through a
        long series this way, holding a few chunks at a time)."""
        ...

    def chunk_summaries(
        self,
        run_pk: int,
        path: str,
        max_step: int | None,
        *,
        min_step: int | None = None,
        coarse: bool = False,
    ) -> list[ChunkSummary]:
        """The extent, count and summary (:mod:`._summary`: the M4 picks of blocks of the
        chunk's points; with ``coarse`` of blocks of ``COARSE`` points) of the float series'
        chunks that overlap [min_step, max_step], in step order; ``picks`` is None for a chunk
        stored without one (read its points instead). A chart over a range much wider than
        its pixels reads these instead of the points."""
        ...

    def points(
        self,
        run_pk: int,
        path: str,
        max_step: int | None,
        *,
        min_step: int | None = None,
        tail: int | None = None,
    ) -> list[tuple[int, float, Any]]:
        """(step, timestamp, stored value) rows of a series in [min_step, max_step], in step
        order; with ``tail`` only the last ``tail`` of them."""
        ...

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
        """The string series' packed chunks that overlap [min_step, max_step], in step order
        (empty for any other field): the first ``limit`` of them, or with ``tail`` the fewest
        last ones that hold the range's last ``tail`` points. Edge chunks may hold points
        outside the range; the reader drops them."""
        ...

    def last_point_before(self, run_pk: int, path: str, max_step: int) -> tuple[int, Any] | None: ...

    # -- selection ---------------------------------------------------------------------------
    def select_runs(self, selection: RunSelection, now: float) -> list[tuple[int, str]]:
        """(run pk, label) of the selected runs, in order; ``now`` decides ``sys/state``."""
        ...

    def count_runs(self, selection: RunSelection, now: float) -> int:
        """How many runs ``select_runs`` would return without its limit (a table's total,
        counted where the runs are, not by listing them)."""
        ...

    def count_by_experiment(self, selection: RunSelection, now: float) -> dict[str, int]:
        """How many selected runs each experiment has."""
        ...

    def stats(self) -> StoreStats: ...

    # -- saved views of the UI ---------------------------------------------------------------
    def views(self, project: str | None = None) -> list[SavedView]:
        """The saved views of ``project`` (of every project when None), by project and name."""
        ...

    def save_view(self, view: SavedView) -> None:
        """Keep ``view``, replacing the project's view of the same name."""
        ...

    def delete_view(self, project: str, name: str) -> bool:
        """Drop the project's view ``name``; whether there was one."""
        ...

    # -- change notification -----------------------------------------------------------------
    def wait_for_changes(self, since: str | None, timeout: float) -> str:
        """Wait until runs changed after the token ``since`` was handed out, at most
        ``timeout`` seconds; return the current token (at once when ``since`` is None).

        Tokens are opaque and belong to this handle: a token unlike ``since`` means the runs
        may have changed (a spurious change is allowed, a missed one is not), so a caller
        re-reads when the token moved and waits again otherwise.
        """
        ...

    # -- the handle itself -------------------------------------------------------------------
    def check_alive(self) -> None:
        """Raise StoreReplaced when the store under this handle was deleted or replaced."""
        ...

    def reopen(self, patience: float | None = None, cancel: Callable[[], bool] | None = None) -> None:
        """Drop every connection and cache, and open (re-creating if needed) the store."""
        ...

    def close(self) -> None: ...


Store = RunStore  # what callers type against: a run store with its blob half
