"""The embedded store: one SQLite database (WAL) plus a directory of content-addressed blobs.

Durability: WAL with ``synchronous=FULL``; every batch is one ``BEGIN IMMEDIATE`` transaction,
so a batch is either wholly visible or not at all, also after SIGKILL or power loss. Contention
between processes is waited out (``busy_timeout`` plus a retry loop), never surfaced. SQLite
waits for a lock in slices of ``_BUSY_SLICE_MS``; the loop around them can be bounded
(``patience``) and cancelled, so a writer whose process is leaving is never stuck in a lock wait.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .. import _sys
from .._types import FieldType, fixed_fork_step, step_value
from ..errors import (
    ForkParentNotFound,
    LockTimeout,
    SchemaVersionError,
    StorageError,
    StoreReplaced,
)
from . import _codec, _sqlite_select, _sqlite_text, _sqlite_views
from ._blobs import BlobDir
from ._records import (
    Assign,
    Assigns,
    Chunk,
    Delete,
    FieldRecord,
    FloatRow,
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
)
from ._schema import MIGRATIONS, SCHEMA_VERSION, TEXT_CHUNKS, VIEWS_IMPORT
from ._sqlite_append import (
    UPSERT_ATOM,
    Cache,
    Field,
    FloatAppender,
    assign_all,
    conflict,
    fields_of,
    head_chunk,
    insert_fields,
    new_series_row,
)
from ._summary import BLOCK, COARSE, ChunkSummary
from ._text_chunks import TextChunk, rows_in

if TYPE_CHECKING:
    from ._protocol import BlobStore

DB_NAME = "naiad.db"
STALE_AFTER_S = _sys.STALE_AFTER_S  # kept importable here for older callers
_BUSY_DEADLINE_S = 300.0
_BUSY_SLICE_MS = 200  # one lock wait inside SQLite; longer waits loop in Python (cancellable)
_WATCH_POLL_S = 0.05  # how often a change waiter reads PRAGMA data_version (a few microseconds each)
_T = TypeVar("_T")
_MMAP_SIZE = 1 << 30
_INHERITED_SYS = _sys.INHERITED


def project_key(name: str) -> str:
    letters = re.sub(r"[^A-Za-z0-9]", "", name).upper()
    return (letters or "RUN")[:3]


class SqliteStore:
    """A store in a local directory: ``naiad.db`` and ``files/``.

    Example:
        >>> store = SqliteStore(Path(tmp) / "store")  # doctest: +SKIP
    """

    def __init__(self, root: Path, *, create: bool = True, blobs: BlobStore | None = None) -> None:
        self.root: Path = root.expanduser().resolve()
        self.uri = str(self.root)
        self.db_path = self.root / DB_NAME
        if create:
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StorageError(
                    f"Cannot create the store directory {self.root}: {e.strerror or e}."
                ) from e
        elif not self.db_path.exists():
            raise StorageError(f"No naiad store at {self.root} (no {DB_NAME} there).")
        if create and not os.access(self.root, os.W_OK):
            raise StorageError(f"The store directory {self.root} is not writable.")
        self.blobs: BlobStore = BlobDir(self.root / "files") if blobs is None else blobs
        if create and isinstance(self.blobs, BlobDir):
            self.blobs.sweep()
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._fields: Cache = {}
        self._db_ino: int | None = None
        self._watch: tuple[sqlite3.Connection, str] | None = None  # change waiters' connection, its id
        self._watch_lock = threading.Lock()
        self._retry(self._migrate)

    # -- connections -------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(
                    self.db_path,
                    timeout=_BUSY_SLICE_MS / 1000,
                    isolation_level=None,
                    check_same_thread=False,
                )
                conn.execute(f"PRAGMA busy_timeout={_BUSY_SLICE_MS}")
                conn.execute("PRAGMA foreign_keys=ON")
                conn.execute("PRAGMA synchronous=FULL")
                conn.execute(
                    f"PRAGMA mmap_size={_MMAP_SIZE}"
                )  # index and row reads without a syscall per page
            except sqlite3.Error as e:
                raise StorageError(f"Cannot open the store database {self.db_path}: {e}.") from e
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def _retry(
        self, fn: Callable[[], _T], patience: float | None = None, cancel: Callable[[], bool] | None = None
    ) -> _T:
        """Run ``fn``; wait out lock contention; turn sqlite3 errors into StorageError.

        A lock is waited for up to ``patience`` seconds (default ``_BUSY_DEADLINE_S``), and no
        longer once ``cancel()`` is true.
        """
        waited = _BUSY_DEADLINE_S if patience is None else patience
        deadline = time.monotonic() + waited
        delay = 0.001
        while True:
            try:
                return fn()
            except sqlite3.OperationalError as e:
                msg = str(e)
                if "locked" in msg or "busy" in msg:
                    if cancel is not None and cancel():
                        raise LockTimeout(f"Store {self.root}: gave up waiting for the write lock.") from e
                    if time.monotonic() < deadline:
                        time.sleep(delay)  # SQLite already waited a slice; this only avoids a spin
                        delay = min(delay * 2, 0.02)
                        continue
                    raise LockTimeout(
                        f"Store {self.root}: {msg}: another process has held the write lock for "
                        f"more than {waited:g} s."
                    ) from e
                raise StorageError(f"Store {self.root}: {msg}.") from e
            except sqlite3.Error as e:
                raise StorageError(f"Store {self.root}: {e}.") from e

    def _write(
        self,
        fn: Callable[[sqlite3.Connection], _T],
        patience: float | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> _T:
        """Run ``fn`` inside one BEGIN IMMEDIATE transaction (retried as a whole)."""

        def attempt() -> _T:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
                conn.execute("COMMIT")
                return result
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                self._fields.clear()  # the cache may describe rolled-back rows
                raise

        return self._retry(attempt, patience, cancel)

    def _read(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``fn`` in one read transaction: a consistent snapshot across its queries."""

        def attempt() -> _T:
            conn = self._conn()
            conn.execute("BEGIN")
            try:
                return fn(conn)
            finally:
                conn.execute("COMMIT")

        return self._retry(attempt)

    def _migrate(self) -> None:
        conn = self._conn()
        # one statement, one snapshot: a naiad store being created commits tables and version together
        version, tables = conn.execute(
            "SELECT (SELECT user_version FROM pragma_user_version), "
            "(SELECT count(*) FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite%')"
        ).fetchone()
        if version == 0 and tables:
            raise StorageError(
                f"{self.db_path} is an SQLite database that naiad did not create ({tables} tables, "
                "no naiad schema version); naiad will not add its tables to it. Move it away or "
                "point store= at another directory."
            )
        conn.execute("PRAGMA journal_mode=WAL")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"The store at {self.root} has schema version {version}; this naiad understands "
                f"version {SCHEMA_VERSION}. Upgrade naiad (pip install -U naiad) to open it."
            )
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]  # another process may have won
            for target in sorted(t for t in MIGRATIONS if version < t <= SCHEMA_VERSION):
                for statement in MIGRATIONS[target].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                if target == VIEWS_IMPORT:
                    _sqlite_views.import_legacy(conn, self.root)
                elif target == TEXT_CHUNKS:
                    _sqlite_text.migrate(conn)
                conn.execute(f"PRAGMA user_version={target}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def schema_version(self) -> int:
        return int(self._retry(lambda: self._conn().execute("PRAGMA user_version").fetchone()[0]))

    def check_alive(self) -> None:
        """Raise StoreReplaced when the database file was deleted or replaced under us."""
        try:
            ino = os.stat(self.db_path).st_ino
        except FileNotFoundError:
            raise StoreReplaced(f"The store database {self.db_path} was deleted.") from None
        if self._db_ino is None:
            self._db_ino = ino
        elif ino != self._db_ino:
            raise StoreReplaced(f"The store database {self.db_path} was replaced by another file.")

    def reopen(self, patience: float | None = None, cancel: Callable[[], bool] | None = None) -> None:
        """Drop every connection and cache, and open (re-creating if needed) the database.

        First the old database's ``-wal`` is checkpointed into the old file (still open, even
        if unlinked) and truncated: a ``-wal`` left beside a file moved in by ``mv`` belongs to
        the file that was replaced, and SQLite would replay its pages onto the new one.
        """
        with self._lock:
            conns = list(self._all)
        for conn in conns[:1]:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.close()
        self._local = threading.local()
        self._db_ino = None
        self._retry(self._migrate, patience, cancel)

    # -- runs ----------------------------------------------------------------------------------
    def open_run(self, spec: RunSpec) -> RunRecord:
        return self._write(lambda conn: _open_run(conn, spec))

    def find_run(self, project: str, custom_id: str) -> RunRecord | None:
        return self._read(lambda conn: _find_run(conn, project, custom_id))

    def find_run_by_sys_id(self, project: str, sys_id: str) -> RunRecord | None:
        def read(conn: sqlite3.Connection) -> RunRecord | None:
            row = conn.execute(_RUN_SELECT + " WHERE p.name=? AND r.sys_id=?", (project, sys_id)).fetchone()
            return None if row is None else _run_record(row)

        return self._read(read)

    def get_run(self, pk: int) -> RunRecord:
        def read(conn: sqlite3.Connection) -> RunRecord:
            row = conn.execute(_RUN_SELECT + " WHERE r.id=?", (pk,)).fetchone()
            return _run_record(row)

        return self._read(read)

    def children(self, run_pk: int) -> list[RunRecord]:
        return self._read(
            lambda conn: [
                _run_record(r)
                for r in conn.execute(_RUN_SELECT + " WHERE r.parent_id=? ORDER BY r.id", (run_pk,))
            ]
        )

    def iter_runs(self, project: str | None = None) -> Iterator[RunRecord]:
        def read(conn: sqlite3.Connection) -> list[RunRecord]:
            if project is None:
                rows = conn.execute(_RUN_SELECT + " ORDER BY r.id")
            else:
                rows = conn.execute(_RUN_SELECT + " WHERE p.name=? ORDER BY r.id", (project,))
            return [_run_record(r) for r in rows]

        return iter(self._read(read))

    def projects(self) -> list[str]:
        return self._read(lambda c: [r[0] for r in c.execute("SELECT name FROM projects ORDER BY name")])

    def open_session(self, run_pk: int, host: str, pid: int, now: float) -> int:
        def write(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "INSERT INTO sessions(run_id, host, pid, started, ping) VALUES(?,?,?,?,?)",
                (run_pk, host, pid, now, now),
            )
            _set_atom(conn, run_pk, _sys.STATE, FieldType.STRING, _sys.ACTIVE)
            return int(cur.lastrowid or 0)

        return self._write(write)

    def ping(self, session: int, now: float, closing: bool = False) -> None:
        def write(conn: sqlite3.Connection) -> None:
            _ping(conn, session, now, closing)

        self._write(write)

    def run_state(self, run_pk: int, now: float) -> tuple[str, float | None]:
        return self._read(lambda conn: _run_state(conn, run_pk, now))

    def active_runs(self, run_pks: Sequence[int], now: float) -> set[int]:
        def read(conn: sqlite3.Connection) -> set[int]:
            wanted = set(run_pks)
            return {
                int(r[0])
                for r in conn.execute(_sqlite_select.ACTIVE_RUNS, _sys.live_window(now))
                if r[0] in wanted
            }

        return self._read(read)

    def select_runs(self, selection: RunSelection, now: float) -> list[tuple[int, str]]:
        return self._read(lambda conn: _sqlite_select.select(conn, selection, now))

    def count_runs(self, selection: RunSelection, now: float) -> int:
        return self._read(lambda conn: _sqlite_select.count(conn, selection, now))

    def count_by_experiment(self, selection: RunSelection, now: float) -> dict[str, int]:
        return self._read(lambda conn: _sqlite_select.count_by_experiment(conn, selection, now))

    def stats(self) -> StoreStats:
        def counts(conn: sqlite3.Connection) -> StoreStats:
            def one(sql: str, *params: Any) -> int:
                return int(conn.execute(sql, params).fetchone()[0])

            projects = {
                str(name): int(n)
                for name, n in conn.execute(
                    "SELECT p.name, count(r.id) FROM projects p LEFT JOIN runs r ON r.project_id = p.id "
                    "GROUP BY p.id ORDER BY p.name"
                )
            }
            return StoreStats(
                location=str(self.root),
                schema_version=int(conn.execute("PRAGMA user_version").fetchone()[0]),
                projects=projects,
                runs=one("SELECT count(*) FROM runs"),
                trashed_runs=one("SELECT count(*) FROM fields WHERE path = ? AND value = 1", _sys.TRASHED),
                fields=one("SELECT count(*) FROM fields"),
                points=one("SELECT coalesce(sum(n), 0) FROM chunks")
                + one("SELECT count(*) FROM fields WHERE head_ts IS NOT NULL")
                + one("SELECT coalesce(sum(n), 0) FROM text_chunks")
                + one("SELECT count(*) FROM points"),
                database_bytes=0,
                files_bytes=0,
            )

        data = self._read(counts)
        db = sum(p.stat().st_size for p in self.root.glob(DB_NAME + "*") if p.is_file())
        blobs = self.root / "files"
        files = sum(p.stat().st_size for p in blobs.rglob("*") if p.is_file()) if blobs.is_dir() else 0
        return dataclasses.replace(data, database_bytes=db, files_bytes=files)

    # -- saved views and change notification ----------------------------------------------------
    def views(self, project: str | None = None) -> list[SavedView]:
        return self._read(lambda conn: _sqlite_views.views(conn, project))

    def save_view(self, view: SavedView) -> None:
        self._write(lambda conn: _sqlite_views.save(conn, view))

    def delete_view(self, project: str, name: str) -> bool:
        return self._write(lambda conn: _sqlite_views.delete(conn, project, name))

    def wait_for_changes(self, since: str | None, timeout: float) -> str:
        """Poll ``PRAGMA data_version`` of one connection kept for this: it moves whenever
        another connection (any thread or process) commits to the database."""
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            token = self._retry(self._change_token)
            left = deadline - time.monotonic()
            if since is None or token != since or left <= 0:
                return token
            time.sleep(min(_WATCH_POLL_S, left))

    def _change_token(self) -> str:
        with self._watch_lock:
            if self._watch is None:
                conn = sqlite3.connect(
                    self.db_path, timeout=_BUSY_SLICE_MS / 1000, isolation_level=None, check_same_thread=False
                )
                with self._lock:
                    self._all.append(conn)
                self._watch = (conn, os.urandom(4).hex())  # tokens of an older connection never match
            conn, ident = self._watch
            return f"{ident}:{conn.execute('PRAGMA data_version').fetchone()[0]}"

    # -- writes ----------------------------------------------------------------------------------
    def write_batch(
        self,
        run_pk: int,
        ops: Sequence[Op],
        *,
        heartbeat: Heartbeat | None = None,
        patience: float | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> list[str]:
        """Apply ``ops`` in one transaction; return warnings for ops another writer made moot.

        With ``heartbeat`` the same transaction records the session's heartbeat (and, when
        it is closing, that the session has detached). ``patience`` and ``cancel`` bound the
        wait for the write lock (see ``_retry``).
        """
        return self._write(lambda conn: self._apply(conn, run_pk, ops, heartbeat), patience, cancel)

    def _apply(
        self,
        conn: sqlite3.Connection,
        run_pk: int,
        ops: Sequence[Op],
        heartbeat: Heartbeat | None,
    ) -> list[str]:
        warnings: list[str] = []
        i = 0
        while i < len(ops):
            cls = type(ops[i])
            if cls is Floats or cls is Assign:  # a run of these goes out as a few executemany
                j = i + 1
                while j < len(ops) and type(ops[j]) is cls:
                    j += 1
                group: Any = ops[i:j]
                if cls is Floats:
                    FloatAppender(conn, self._fields, run_pk, warnings).run(group)
                else:
                    paths, types, values = (
                        [op.path for op in group],
                        [op.type for op in group],
                        [op.value for op in group],
                    )
                    assign_all(conn, run_pk, Assigns(paths, types, values), warnings)
                i = j
                continue
            op = ops[i]
            i += 1
            if cls is FloatRow:
                assert isinstance(op, FloatRow)
                new_series_row(conn, self._fields, run_pk, op, warnings)
            elif cls is Assigns:
                assert isinstance(op, Assigns)
                assign_all(conn, run_pk, op, warnings)
            elif cls is Points:
                assert isinstance(op, Points)
                self._append_points(conn, run_pk, op.path, op.type, op.rows, warnings)
            elif cls is SetChange:
                assert isinstance(op, SetChange)
                _change_set(conn, run_pk, op.kind, op.path, op.items, warnings)
            elif cls is Delete:
                assert isinstance(op, Delete)
                self._delete(conn, run_pk, op.path)
            elif cls is Incr:
                assert isinstance(op, Incr)
                conn.execute(
                    "UPDATE fields SET value = value + ? WHERE run_id=? AND path=?",
                    (op.amount, run_pk, op.path),
                )
            else:  # pragma: no cover - a programming error, not user input
                raise TypeError(f"unknown op {op!r}")
        if heartbeat is not None:
            _ping(conn, heartbeat.session, heartbeat.now, heartbeat.closing)
        return warnings

    def _field(self, conn: sqlite3.Connection, run_pk: int, path: str, ftype: int) -> Field:
        entry = self._fields.get((run_pk, path))
        if entry is None:
            new = fields_of(conn, self._fields, run_pk, [path], ftype)
            insert_fields(conn, self._fields, run_pk, new)
            entry = self._fields[(run_pk, path)]
        return entry

    def _append_points(
        self,
        conn: sqlite3.Connection,
        run_pk: int,
        path: str,
        ftype: int,
        rows: list[tuple[int, float, Any]],
        warnings: list[str],
    ) -> None:
        f = self._field(conn, run_pk, path, ftype)
        if f.type != ftype:
            warnings.append(conflict(conn, run_pk, path, ftype))
            return
        if f.step is not None and rows[0][0] <= f.step:
            kept = [r for r in rows if r[0] > f.step]
            warnings.append(
                f"'{path}': {len(rows) - len(kept)} point(s) at or before step "
                f"{step_value(f.step):g}, already written by another process, were dropped."
            )
            rows = kept
            if not rows:
                return
        if ftype == FieldType.STRING_SERIES:
            _sqlite_text.append(conn, f.id, rows)
        else:
            conn.executemany(
                "INSERT INTO points(field_id, step, ts, value) VALUES(?,?,?,?)",
                [(f.id, s, t, v) for s, t, v in rows],
            )
        f.step = rows[-1][0]
        f.n += len(rows)
        conn.execute("UPDATE fields SET value=?, step=?, n=? WHERE id=?", (rows[-1][2], f.step, f.n, f.id))

    def _delete(self, conn: sqlite3.Connection, run_pk: int, path: str) -> None:
        # substr, not LIKE: LIKE ignores ASCII case, and paths are case-sensitive
        conn.execute(
            "DELETE FROM fields WHERE run_id=? AND (path=? OR substr(path, 1, ?)=?)",
            (run_pk, path, len(path) + 1, path + "/"),
        )
        for key in [
            k for k in self._fields if k[0] == run_pk and (k[1] == path or k[1].startswith(path + "/"))
        ]:
            del self._fields[key]

    # -- reads -----------------------------------------------------------------------------------
    def fields(self, run_pk: int, prefix: str | None = None) -> list[FieldRecord]:
        def read(conn: sqlite3.Connection) -> list[FieldRecord]:
            rows = conn.execute(
                "SELECT path, type, value, step, n FROM fields WHERE run_id=? ORDER BY path", (run_pk,)
            ).fetchall()
            state, _ = _run_state(conn, run_pk, time.time())
            out = [
                FieldRecord(*r)
                for r in rows
                if prefix is None or r[0] == prefix or r[0].startswith(prefix + "/")
            ]
            return [FieldRecord(r.path, r.type, state, None, 0) if r.path == _sys.STATE else r for r in out]

        return self._read(read)

    def field(self, run_pk: int, path: str) -> FieldRecord | None:
        def read(conn: sqlite3.Connection) -> FieldRecord | None:
            row = conn.execute(
                "SELECT path, type, value, step, n FROM fields WHERE run_id=? AND path=?", (run_pk, path)
            ).fetchone()
            if row is None:
                return None
            if path == _sys.STATE:
                return FieldRecord(path, row[1], _run_state(conn, run_pk, time.time())[0], None, 0)
            return FieldRecord(*row)

        return self._read(read)

    def chunks(
        self,
        run_pk: int,
        path: str,
        max_step: int | None,
        *,
        min_step: int | None = None,
        limit: int | None = None,
    ) -> list[Chunk]:
        def read(conn: sqlite3.Connection) -> list[Chunk]:
            found = [
                Chunk(*r)
                for r in conn.execute(
                    "SELECT c.first_step, c.last_step, c.n, c.steps, c.vals, c.ts, c.codec FROM chunks c "
                    "JOIN fields f ON c.field_id = f.id WHERE f.run_id=? AND f.path=? "
                    "AND (? IS NULL OR c.first_step <= ?) AND (? IS NULL OR c.last_step >= ?) "
                    "ORDER BY c.first_step LIMIT ?",
                    (run_pk, path, max_step, max_step, min_step, min_step, -1 if limit is None else limit),
                )
            ]
            if limit is None or len(found) < limit:
                head = head_chunk(conn, run_pk, path, max_step, min_step)
                if head is not None:
                    found.append(head)
            return found

        # Chunk blobs are copied out of the file anyway: read them without the memory map, whose
        # pages would otherwise stay in this process's resident memory for as long as it runs.
        conn = self._conn()
        conn.execute("PRAGMA mmap_size=0")
        try:
            return self._read(read)
        finally:
            conn.execute(f"PRAGMA mmap_size={_MMAP_SIZE}")

    def chunk_summaries(
        self,
        run_pk: int,
        path: str,
        max_step: int | None,
        *,
        min_step: int | None = None,
        coarse: bool = False,
    ) -> list[ChunkSummary]:
        column, block = ("s.coarse", COARSE) if coarse else ("s.picks", BLOCK)

        def read(conn: sqlite3.Connection) -> list[ChunkSummary]:
            found = [
                ChunkSummary(r[0], r[1], r[2], r[3], block)
                for r in conn.execute(
                    f"SELECT c.first_step, c.last_step, c.n, {column} FROM chunks c "
                    "JOIN fields f ON c.field_id = f.id LEFT JOIN summaries s ON s.field_id = c.field_id "
                    "AND s.first_step = c.first_step AND s.n = c.n WHERE f.run_id=? AND f.path=? "
                    "AND (? IS NULL OR c.first_step <= ?) AND (? IS NULL OR c.last_step >= ?) "
                    "ORDER BY c.first_step",
                    (run_pk, path, max_step, max_step, min_step, min_step),
                )
            ]
            head = head_chunk(conn, run_pk, path, max_step, min_step)
            if head is not None:  # no summary: its one point is read
                found.append(ChunkSummary(head.first_step, head.last_step, 1, None, block))
            return found

        return self._read(read)

    def points(
        self,
        run_pk: int,
        path: str,
        max_step: int | None,
        *,
        min_step: int | None = None,
        tail: int | None = None,
    ) -> list[tuple[int, float, Any]]:
        def read(conn: sqlite3.Connection) -> list[tuple[int, float, Any]]:
            text_id = _sqlite_text.string_series_id(conn, run_pk, path)
            if text_id is not None:
                chunks = _sqlite_text.read(conn, text_id, max_step, min_step, tail=tail)
                return rows_in(chunks, min_step, max_step, tail)
            where = (
                "FROM points p JOIN fields f ON p.field_id = f.id WHERE f.run_id=? AND f.path=? "
                "AND (? IS NULL OR p.step <= ?) AND (? IS NULL OR p.step >= ?)"
            )
            params = (run_pk, path, max_step, max_step, min_step, min_step)
            if tail is None:
                rows: list[tuple[int, float, Any]] = conn.execute(
                    f"SELECT p.step, p.ts, p.value {where} ORDER BY p.step", params
                ).fetchall()
                return rows
            rows = conn.execute(
                f"SELECT p.step, p.ts, p.value {where} ORDER BY p.step DESC LIMIT ?", (*params, tail)
            ).fetchall()
            rows.reverse()
            return rows

        return self._read(read)

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
        def read(conn: sqlite3.Connection) -> list[TextChunk]:
            text_id = _sqlite_text.string_series_id(conn, run_pk, path)
            if text_id is None:
                return []
            return _sqlite_text.read(conn, text_id, max_step, min_step, limit=limit, tail=tail)

        return self._read(read)

    def last_point_before(self, run_pk: int, path: str, max_step: int) -> tuple[int, Any] | None:
        """The last (step, value) of ``path`` at or before ``max_step`` (for fork inheritance)."""

        def read(conn: sqlite3.Connection) -> tuple[int, Any] | None:
            text_id = _sqlite_text.string_series_id(conn, run_pk, path)
            if text_id is not None:
                found = _sqlite_text.read(conn, text_id, max_step, None, tail=1)
                last = rows_in(found, None, max_step, 1)
                return (last[0][0], last[0][2]) if last else None
            head = head_chunk(conn, run_pk, path, max_step, None)
            if head is not None:  # the series' last point
                return head.first_step, _codec.arrays(head)[1][0]
            row = conn.execute(
                "SELECT c.first_step, c.last_step, c.n, c.steps, c.vals, c.ts, c.codec "
                "FROM chunks c JOIN fields f ON c.field_id = f.id "
                "WHERE f.run_id=? AND f.path=? AND c.first_step <= ? "
                "ORDER BY c.first_step DESC LIMIT 1",
                (run_pk, path, max_step),
            ).fetchone()
            if row is not None:
                steps, vals, _ = _codec.arrays(Chunk(*row))
                i = max(i for i, s in enumerate(steps) if s <= max_step)
                return steps[i], vals[i]
            point: tuple[int, Any] | None = conn.execute(
                "SELECT p.step, p.value FROM points p JOIN fields f ON p.field_id = f.id "
                "WHERE f.run_id=? AND f.path=? AND p.step <= ? ORDER BY p.step DESC LIMIT 1",
                (run_pk, path, max_step),
            ).fetchone()
            return point

        return self._read(read)

    def field_rows(
        self, run_pks: Sequence[int], paths: Sequence[str] | None = None, ftype: int | None = None
    ) -> list[tuple[int, str, int, Any]]:
        def read(conn: sqlite3.Connection) -> list[tuple[int, str, int, Any]]:
            sql = (
                "SELECT run_id, path, type, value FROM fields "
                "WHERE run_id IN (SELECT value FROM json_each(?))"
            )
            params: list[Any] = [json.dumps(list(run_pks))]
            if paths is not None:
                sql += " AND path IN (SELECT value FROM json_each(?))"
                params.append(json.dumps(list(paths)))
            if ftype is not None:
                sql += " AND type = ?"
                params.append(int(ftype))
            rows: list[tuple[int, str, int, Any]] = conn.execute(sql, params).fetchall()
            return rows

        return self._read(read)

    def series_extremes(self, run_pks: Sequence[int]) -> list[tuple[int, str, float | None, float | None]]:
        def read(conn: sqlite3.Connection) -> list[tuple[int, str, float | None, float | None]]:
            sql = (
                "SELECT run_id, path, vmin, vmax FROM fields "
                "WHERE run_id IN (SELECT value FROM json_each(?)) AND type = ?"
            )
            params = (json.dumps(list(run_pks)), int(FieldType.FLOAT_SERIES))
            rows: list[tuple[int, str, float | None, float | None]] = conn.execute(sql, params).fetchall()
            return rows

        return self._read(read)

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._local = threading.local()
        self._watch = None
        self._fields.clear()


# -- helpers shared by the store's transactions --------------------------------------------------
_RUN_SELECT = (
    "SELECT r.id, p.name, r.custom_id, r.sys_id, r.experiment, r.parent_id, r.fork_step, r.depth "
    "FROM runs r JOIN projects p ON r.project_id = p.id"
)


def _run_record(row: Sequence[Any], created: bool = False) -> RunRecord:
    pk, project, custom_id, sys_id, experiment, parent_pk, fork_step, depth = row
    return RunRecord(pk, project, custom_id, sys_id, experiment, parent_pk, fork_step, depth, created=created)


def _find_run(conn: sqlite3.Connection, project: str, custom_id: str) -> RunRecord | None:
    row = conn.execute(_RUN_SELECT + " WHERE p.name=? AND r.custom_id=?", (project, custom_id)).fetchone()
    return None if row is None else _run_record(row)


def _set_atom(conn: sqlite3.Connection, run_pk: int, path: str, ftype: int, value: Any) -> bool:
    """Create or overwrite an atom; False when the field exists with another type."""
    return conn.execute(UPSERT_ATOM, (run_pk, path, int(ftype), value)).rowcount > 0


def _change_set(
    conn: sqlite3.Connection, run_pk: int, kind: str, path: str, items: Sequence[str], warnings: list[str]
) -> None:
    row = conn.execute("SELECT type, value FROM fields WHERE run_id=? AND path=?", (run_pk, path)).fetchone()
    if row is not None and row[0] != FieldType.STRING_SET:
        warnings.append(conflict(conn, run_pk, path, FieldType.STRING_SET))
        return
    current = set(json.loads(row[1])) if row is not None and row[1] else set()
    if kind == "add":
        current |= set(items)
    elif kind == "remove":
        current -= set(items)
    else:
        current = set()
    _set_atom(conn, run_pk, path, FieldType.STRING_SET, json.dumps(sorted(current)))


def _ping(conn: sqlite3.Connection, session: int, now: float, closing: bool) -> None:
    conn.execute("UPDATE sessions SET ping=?, closed=? WHERE id=?", (now, int(closing), session))


def _run_state(conn: sqlite3.Connection, run_pk: int, now: float) -> tuple[str, float | None]:
    row = conn.execute(
        "SELECT max(ping), sum(closed = 0 AND ping > ? AND ping < ?) FROM sessions WHERE run_id=?",
        (*_sys.live_window(now), run_pk),
    ).fetchone()
    return ("active" if row[1] else "inactive"), row[0]


def _open_run(conn: sqlite3.Connection, spec: RunSpec) -> RunRecord:
    existing = _find_run(conn, spec.project, spec.custom_id)
    if existing is not None:
        return existing
    row = conn.execute("SELECT id, key, counter FROM projects WHERE name=?", (spec.project,)).fetchone()
    if row is None:
        key = project_key(spec.project)
        cur = conn.execute("INSERT INTO projects(name, key, counter) VALUES(?,?,0)", (spec.project, key))
        row = (cur.lastrowid, key, 0)
    project_id, key, counter = row
    counter += 1
    conn.execute("UPDATE projects SET counter=? WHERE id=?", (counter, project_id))
    parent: RunRecord | None = None
    if spec.fork_parent is not None:
        parent = _find_run(conn, spec.project, spec.fork_parent)
        if parent is None and not spec.allow_missing_parent:
            raise ForkParentNotFound(
                f"Cannot fork from run '{spec.fork_parent}': no such run in project "
                f"'{spec.project}'. Check fork_run_id (it is the parent's run_id, "
                "sys/custom_run_id)."
            )
    fork_fixed = None if parent is None or spec.fork_step is None else fixed_fork_step(spec.fork_step)
    depth = 0 if parent is None else parent.depth + 1
    sys_id = f"{key}-{counter}"
    cur = conn.execute(
        "INSERT INTO runs(project_id, custom_id, sys_id, experiment, parent_id, fork_step, depth) "
        "VALUES(?,?,?,?,?,?,?)",
        (
            project_id,
            spec.custom_id,
            sys_id,
            spec.experiment,
            None if parent is None else parent.pk,
            fork_fixed,
            depth,
        ),
    )
    pk = int(cur.lastrowid or 0)
    family = spec.custom_id
    if parent is not None:
        fam = conn.execute(
            "SELECT value FROM fields WHERE run_id=? AND path=?", (parent.pk, _sys.FAMILY)
        ).fetchone()
        family = fam[0] if fam else parent.custom_id
    if spec.experiment is not None:  # claim the head: the previous head flips to False
        conn.execute(
            "UPDATE fields SET value=0 WHERE path=? AND value=1 AND run_id IN "
            "(SELECT id FROM runs WHERE project_id=? AND experiment=? AND id<>?)",
            (_sys.EXPERIMENT_IS_HEAD, project_id, spec.experiment, pk),
        )
    inherited_tags: list[str] = []
    if parent is not None and spec.inherit_configs:
        conn.execute(
            "INSERT INTO fields(run_id, path, type, value) SELECT ?, path, type, value FROM fields "
            f"WHERE run_id=? AND type IN ({','.join(str(int(t)) for t in _ATOM_TYPES)}) "
            "AND (substr(path, 1, ?) <> ? OR path IN (?,?,?))",  # case-sensitive, unlike LIKE
            (pk, parent.pk, len(_sys.NAMESPACE) + 1, _sys.NAMESPACE + "/", *_INHERITED_SYS),
        )
        inherited = conn.execute(
            "SELECT value FROM fields WHERE run_id=? AND path=?", (pk, _sys.TAGS)
        ).fetchone()
        if inherited and inherited[0]:
            inherited_tags = json.loads(inherited[0])
    atoms = _sys.creation_atoms(
        spec,
        sys_id=sys_id,
        depth=depth,
        family=family,
        parent_custom_id=None if parent is None else parent.custom_id,
        inherited_tags=inherited_tags,
    )
    for atom in atoms:
        _set_atom(conn, pk, atom.path, atom.type, atom.value)
    conn.execute(
        "INSERT INTO fields(run_id, path, type, value) VALUES(?, ?, ?, '[]') ON CONFLICT DO NOTHING",
        (pk, _sys.GROUP_TAGS, int(FieldType.STRING_SET)),
    )
    return RunRecord(
        pk,
        spec.project,
        spec.custom_id,
        sys_id,
        spec.experiment,
        None if parent is None else parent.pk,
        fork_fixed,
        depth,
        created=True,
    )


_ATOM_TYPES = tuple(t for t in FieldType if t.is_atom)
