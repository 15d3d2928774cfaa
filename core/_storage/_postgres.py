"""The team store: runs, fields and series in PostgreSQL; file blobs in S3 (or a directory).

``postgresql://USER:PASS@HOST:PORT/DBNAME`` (``?schema=NAME`` picks the PostgreSQL schema that
holds the store, ``naiad`` by default; other query parameters go to libpq, e.g.
``sslmode=require``). The tables are created on first use, with a schema version and
ordered migrations (:mod:`._postgres_schema`); a newer schema is refused.

One connection per store handle (so per writing process), opened on first use and closed by
:meth:`PostgresStore.close`; a process that forks opens its own. Every batch is one
transaction sent in pipeline mode (one round trip for all its statements); floats travel as
binary parameters and come back through binary cursors, so NaN payloads and -0.0 survive.
A broken connection is dropped and the next call reconnects: the background writer retries
its batch, so a PostgreSQL restart mid-run loses nothing that was acknowledged. The password
of the URI is never shown: :attr:`PostgresStore.uri` and every message carry it masked.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import time
from array import array
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from .. import _sys
from .._types import FieldType, fixed_fork_step, float_bits, float_from_store, step_value
from ..errors import ForkParentNotFound, LockTimeout, SchemaVersionError, StorageError
from . import _codec, _postgres_bulk, _postgres_floats, _postgres_text
from . import _postgres_select as select_sql
from . import _postgres_sql as q
from ._blobs import BlobDir, open_blobs
from ._postgres_listen import ChangeListener, Watcher
from ._postgres_schema import MIGRATIONS, SCHEMA_VERSION, TEXT_CHUNKS
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
from ._summary import BLOCK, COARSE, ChunkSummary
from ._text_chunks import TextChunk, rows_in

if TYPE_CHECKING:
    import psycopg

    from ._protocol import BlobStore

_T = TypeVar("_T")
_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_DEFAULT_SCHEMA = "naiad"
_RETRY_DEADLINE_S = 300.0
_MIGRATION_LOCK = 0x6E61696164  # pg_advisory_xact_lock key: one migrating process at a time
_ATOM_TYPES = [int(t) for t in FieldType if t.is_atom]
_FLOATS = (FieldType.FLOAT, FieldType.FLOAT_SERIES)
_INTS = (FieldType.INTEGER, FieldType.DATETIME, FieldType.BOOLEAN)


def mask_uri(uri: str) -> str:
    """``uri`` with its password (in the authority or a ``password=`` parameter) as ``***``."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return re.sub(r"//([^:/@]*):[^@]*@", r"//\1:***@", uri)
    netloc = parts.netloc
    if "@" in netloc:
        creds, host = netloc.rsplit("@", 1)
        if ":" in creds:
            creds = creds.split(":", 1)[0] + ":***"
        netloc = f"{creds}@{host}"
    query = parts.query
    if query:
        pairs = [(k, "***" if k == "password" else v) for k, v in parse_qsl(query, keep_blank_values=True)]
        query = urlencode(pairs, safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def parse_uri(uri: str) -> tuple[str, str]:
    """(libpq connection URI without naiad's ``schema`` parameter, schema name)."""
    parts = urlsplit(uri)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    schema = _DEFAULT_SCHEMA
    kept = []
    for key, value in pairs:
        if key == "schema":
            schema = value
        else:
            kept.append((key, value))
    if not _SCHEMA_NAME.match(schema):
        raise StorageError(
            f"Store {mask_uri(uri)}: schema={schema!r} is not a plain PostgreSQL identifier "
            "(letters, digits and _, at most 63)."
        )
    scheme = "postgresql"
    return urlunsplit((scheme, parts.netloc, parts.path, urlencode(kept, quote_via=quote), "")), schema


# PostgreSQL text cannot hold NUL: a string with one (or starting with the marker) is stored
# as the marker, then itself with \x01 → \x01\x01 and \x00 → \x01\x02.
_MARK = "\x01"
_UNESCAPE = re.compile("\x01(.)", re.S)


def _enc(text: Any) -> Any:
    if isinstance(text, str) and ("\x00" in text or text.startswith(_MARK)):
        return _MARK + text.replace(_MARK, "\x01\x01").replace("\x00", "\x01\x02")
    return text


def _dec(text: Any) -> Any:
    if isinstance(text, str) and text.startswith(_MARK):
        return _UNESCAPE.sub(lambda m: "\x00" if m.group(1) == "\x02" else m.group(1), text[1:])
    return text


def _columns(ftype: int, value: Any) -> tuple[float | None, int | None, str | None, list[str] | None]:
    """A stored atom (as the engine hands it over) as the typed columns (num, int, txt, strs)."""
    if value is None:
        return None, None, None, None
    t = FieldType(ftype)
    if t in _FLOATS:
        return float_from_store(value), None, None, None
    if t in _INTS:
        return None, int(value), None, None
    if t is FieldType.STRING_SET:
        items = json.loads(value) if isinstance(value, str) else list(value)
        return None, None, None, [_enc(x) for x in sorted(items)]
    return None, None, _enc(value), None


def _stored(ftype: int, num: Any, integer: Any, txt: Any, strs: Any) -> Any:
    """The typed columns as the value the engine stores (as the embedded store returns it)."""
    t = FieldType(ftype)
    if t in _FLOATS:
        return None if num is None else float_bits(num)
    if t in _INTS:
        return integer
    if t is FieldType.STRING_SET:
        return json.dumps(sorted(_dec(x) for x in strs or []))
    return _dec(txt)


def project_key(name: str) -> str:
    letters = re.sub(r"[^A-Za-z0-9]", "", name).upper()
    return (letters or "RUN")[:3]


class _Existing(Exception):
    """The run was created by another process while this one waited for the project's lock."""

    def __init__(self, record: RunRecord) -> None:
        self.record = record


class _NoBlobs:
    """The blob half of a PostgreSQL store that was never told where its files go."""

    def __init__(self, where: str) -> None:
        self.where = where

    def _fail(self) -> StorageError:
        return StorageError(
            f"The store {self.where} has no location for files: pass blobs='s3://BUCKET/PREFIX' "
            "(or NAIAD_BLOBS, [tool.naiad] blobs, --blobs) once; the store remembers it."
        )

    def put(self, source: Path | bytes | BinaryIO) -> tuple[str, int]:
        raise self._fail()

    def open(self, sha256: str) -> BinaryIO:
        raise self._fail()

    def exists(self, sha256: str) -> bool:
        return False


class PostgresStore:
    """A store in a PostgreSQL database (one schema), with blobs in S3 or a directory.

    Example:
        >>> store = PostgresStore("postgresql://naiad:secret@db:5432/team")  # doctest: +SKIP
        >>> store.uri  # doctest: +SKIP
        'postgresql://naiad:***@db:5432/team'
    """

    def __init__(self, uri: str, *, create: bool = True, blobs: str | None = None) -> None:
        try:
            import psycopg  # noqa: F401 - fail here, with the extra to install
        except ModuleNotFoundError as e:
            raise ModuleNotFoundError(
                "A postgresql:// store needs psycopg: pip install 'naiad[postgres]'."
            ) from e
        self._conninfo, self.schema = parse_uri(uri)
        self._secret = urlsplit(uri).password or ""
        self.uri = mask_uri(uri)
        self.root: Path | None = None
        self._lock = threading.RLock()
        self._conn: psycopg.Connection[Any] | None = None
        self._pid = os.getpid()
        self._small: dict[tuple[int, str], int] = {}
        self._create = create
        self._listener: ChangeListener | None = None  # started by the first wait or watch
        self._watchers: list[Watcher] = []
        self._retry(self._migrate)
        self.blobs: BlobStore = self._open_blobs(blobs)

    def __repr__(self) -> str:
        return f"PostgresStore({self.uri!r})"

    def __del__(self) -> None:
        # a handle dropped without close() lets its connection go quietly, as sqlite3 does
        if getattr(self, "_conn", None) is not None and self._pid == os.getpid():
            self._drop_connection()

    # -- connection ----------------------------------------------------------------------------
    def _connect(self) -> psycopg.Connection[Any]:
        import psycopg
        from psycopg import sql

        if self._conn is not None and self._pid != os.getpid():
            self._conn = None  # a forked child: the parent's socket is not ours to use or close
        if self._conn is None or self._conn.closed:
            self._pid = os.getpid()
            conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=10)
            try:
                conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(self.schema)))
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def _message(self, e: BaseException) -> str:
        return _masked(e, self._secret)

    def _retry(
        self,
        fn: Callable[[psycopg.Connection[Any]], _T],
        patience: float | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> _T:
        """Run ``fn`` on the connection; retry deadlocks and serialization failures (the whole
        transaction) up to ``patience`` seconds; turn driver errors into StorageError."""
        import psycopg
        from psycopg import errors as pg_errors

        waited = _RETRY_DEADLINE_S if patience is None else patience
        deadline = time.monotonic() + waited
        delay = 0.005
        while True:
            with self._lock:
                try:
                    return fn(self._connect())
                except (
                    pg_errors.DeadlockDetected,
                    pg_errors.SerializationFailure,
                    pg_errors.LockNotAvailable,
                ) as e:
                    if (cancel is not None and cancel()) or time.monotonic() >= deadline:
                        raise LockTimeout(
                            f"Store {self.uri}: {self._message(e)}: gave up after {waited:g} s."
                        ) from e
                except psycopg.OperationalError as e:
                    self._drop_connection()  # the next call reconnects
                    raise StorageError(
                        f"Cannot reach the PostgreSQL store {self.uri}: {self._message(e)}. Check "
                        "that the server is up and the URI (host, port, user, password, database) "
                        "is right; naiad's writer keeps retrying."
                    ) from e
                except psycopg.Error as e:
                    if self._conn is not None and self._conn.broken:
                        self._drop_connection()
                    raise StorageError(f"Store {self.uri}: {self._message(e)}.") from e
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    def _tx(
        self,
        fn: Callable[[psycopg.Connection[Any]], _T],
        patience: float | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> _T:
        """``fn`` inside one transaction (retried as a whole)."""

        def attempt(conn: psycopg.Connection[Any]) -> _T:
            with conn.transaction():
                return fn(conn)

        return self._retry(attempt, patience, cancel)

    def _migrate(self, conn: psycopg.Connection[Any]) -> None:
        from psycopg import sql

        version = self._version(conn)
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"The store {self.uri} (schema {self.schema}) has schema version {version}; this "
                f"naiad understands version {SCHEMA_VERSION}. Upgrade naiad (pip install -U naiad) "
                "to open it."
            )
        if not self._create and version == 0:
            raise StorageError(
                f"No naiad store in {self.uri} (schema {self.schema} has no naiad tables). Write a "
                "run to it first, or check the URI's database and ?schema=."
            )
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [_MIGRATION_LOCK])
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
            version = self._version(conn)  # another process may have migrated meanwhile
            for target in sorted(t for t in MIGRATIONS if version < t <= SCHEMA_VERSION):
                for statement in MIGRATIONS[target]:
                    conn.execute(statement)  # trusted DDL, no values
                if target == TEXT_CHUNKS:
                    _postgres_text.migrate(conn, _dec)
                conn.execute(
                    "INSERT INTO meta(key, value) VALUES ('schema_version', %s) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [str(target)],
                )

    def _version(self, conn: psycopg.Connection[Any]) -> int:
        exists = conn.execute("SELECT to_regclass(%s)", [f"{self.schema}.meta"]).fetchone()
        if exists is None or exists[0] is None:
            return 0
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return 0 if row is None else int(row[0])

    def schema_version(self) -> int:
        return self._retry(self._version)

    def _open_blobs(self, blobs: str | None) -> BlobStore:
        recorded = self._retry(lambda c: c.execute("SELECT value FROM meta WHERE key = 'blobs'").fetchone())
        if blobs is None:
            return _NoBlobs(self.uri) if recorded is None else open_blobs(recorded[0])
        store = open_blobs(blobs)
        if recorded is None and self._create:
            where = str(store.root) if isinstance(store, BlobDir) else str(getattr(store, "uri", blobs))
            self._retry(
                lambda c: c.execute(
                    "INSERT INTO meta(key, value) VALUES ('blobs', %s) ON CONFLICT (key) DO NOTHING", [where]
                )
            )
        return store

    def check_alive(self) -> None:
        """A server store cannot be replaced under a handle; connection faults surface on use."""

    def reopen(self, patience: float | None = None, cancel: Callable[[], bool] | None = None) -> None:
        with self._lock:
            self._drop_connection()
            self._small.clear()
        self._retry(self._migrate, patience, cancel)

    def close(self) -> None:
        with self._lock:
            self._drop_connection()
            self._small.clear()
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        closer = getattr(self.blobs, "close", None)
        if closer is not None:
            closer()

    # -- runs ----------------------------------------------------------------------------------
    def open_run(self, spec: RunSpec) -> RunRecord:
        try:
            return self._tx(lambda conn: _open_run(conn, spec))
        except _Existing as e:  # rolled back: the counter was not spent
            return e.record

    def find_run(self, project: str, custom_id: str) -> RunRecord | None:
        return self._retry(lambda conn: _find_run(conn, project, custom_id))

    def find_run_by_sys_id(self, project: str, sys_id: str) -> RunRecord | None:
        def read(conn: psycopg.Connection[Any]) -> RunRecord | None:
            row = conn.execute(
                q.RUN_SELECT + " WHERE p.name = %s AND r.sys_id = %s", [project, sys_id]
            ).fetchone()
            return None if row is None else _run_record(row)

        return self._retry(read)

    def get_run(self, pk: int) -> RunRecord:
        def read(conn: psycopg.Connection[Any]) -> RunRecord:
            row = conn.execute(q.RUN_SELECT + " WHERE r.id = %s", [pk]).fetchone()
            if row is None:
                raise StorageError(f"Store {self.uri}: no run with key {pk}.")
            return _run_record(row)

        return self._retry(read)

    def children(self, run_pk: int) -> list[RunRecord]:
        return self._retry(
            lambda conn: [
                _run_record(r)
                for r in conn.execute(q.RUN_SELECT + " WHERE r.parent_id = %s ORDER BY r.id", [run_pk])
            ]
        )

    def iter_runs(self, project: str | None = None) -> Iterator[RunRecord]:
        def read(conn: psycopg.Connection[Any]) -> list[RunRecord]:
            if project is None:
                rows = conn.execute(q.RUN_SELECT + " ORDER BY r.id").fetchall()
            else:
                rows = conn.execute(q.RUN_SELECT + " WHERE p.name = %s ORDER BY r.id", [project]).fetchall()
            return [_run_record(r) for r in rows]

        return iter(self._retry(read))

    def projects(self) -> list[str]:
        return self._retry(
            lambda c: [str(r[0]) for r in c.execute('SELECT name FROM projects ORDER BY name COLLATE "C"')]
        )

    def open_session(self, run_pk: int, host: str, pid: int, now: float) -> int:
        def write(conn: psycopg.Connection[Any]) -> int:
            row = conn.execute(q.OPEN_SESSION, [run_pk, host, pid, now, now]).fetchone()
            conn.execute(q.ASSIGN, [run_pk, _sys.STATE, int(FieldType.STRING), None, None, _sys.ACTIVE, None])
            conn.execute(q.NOTIFY, [str(run_pk)])
            assert row is not None
            return int(row[0])

        return self._tx(write)

    def ping(self, session: int, now: float, closing: bool = False) -> None:
        def write(conn: psycopg.Connection[Any]) -> None:
            row = conn.execute(q.PING + " RETURNING run_id", [now, closing, session]).fetchone()
            if closing and row is not None:  # the run's state changes: live views re-read
                conn.execute(q.NOTIFY, [str(row[0])])

        self._tx(write)

    def run_state(self, run_pk: int, now: float) -> tuple[str, float | None]:
        return self._retry(lambda conn: _run_state(conn, run_pk, now))

    def active_runs(self, run_pks: Sequence[int], now: float) -> set[int]:
        return self._retry(
            lambda conn: {
                int(r[0]) for r in conn.execute(q.ACTIVE_RUNS, [*_sys.live_window(now), list(run_pks)])
            }
        )

    # -- saved views and change notification ----------------------------------------------------
    def views(self, project: str | None = None) -> list[SavedView]:
        def read(conn: psycopg.Connection[Any]) -> list[SavedView]:
            if project is None:
                rows = conn.execute(q.VIEWS)
            else:
                rows = conn.execute(q.VIEWS + " WHERE project = %s", [_enc(project)])
            views = [SavedView(_dec(p), _dec(n), _dec(u), float(t)) for p, n, u, t in rows]
            # ordered here: the escaped form of a name with a NUL would sort apart in SQL
            return sorted(views, key=lambda v: (v.project, v.name))

        return self._retry(read)

    def save_view(self, view: SavedView) -> None:
        params = [_enc(view.project), _enc(view.name), _enc(view.url), view.saved]
        self._tx(lambda conn: conn.execute(q.SAVE_VIEW, params))

    def delete_view(self, project: str, name: str) -> bool:
        return self._tx(lambda conn: conn.execute(q.DELETE_VIEW, [_enc(project), _enc(name)]).rowcount > 0)

    def wait_for_changes(self, since: str | None, timeout: float) -> str:
        """Wait on a LISTEN connection of this handle (its own, on a daemon thread) for a
        notification from this store's schema; while it cannot listen, every call says
        "changed" after a short pause, so callers fall back to polling."""
        return self._change_listener().wait(since, timeout)

    def watch_runs(self, watcher: Watcher) -> Callable[[], None]:
        """Call ``watcher(run_pk)`` on this handle's listening thread for every committed write
        to a run of this store (it must be quick); returns the call that
        stops it. Notifications sent while the connection was down are not replayed."""
        self._watchers.append(watcher)
        self._change_listener()
        return lambda: self._watchers.remove(watcher) if watcher in self._watchers else None

    def _change_listener(self) -> ChangeListener:
        with self._lock:
            if self._listener is None or not self._listener.alive():
                secret = self._secret  # not self: the thread must not keep an unclosed store alive
                self._listener = ChangeListener(
                    self._conninfo, self.schema, lambda e: _masked(e, secret), self._watchers
                )
            return self._listener

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
        """Apply ``ops`` (and the heartbeat) in one transaction, in one round trip when no other
        writer interfered; return warnings for ops that another writer made moot."""
        return self._tx(lambda conn: self._apply(conn, run_pk, ops, heartbeat), patience, cancel)

    def _apply(
        self, conn: psycopg.Connection[Any], run_pk: int, ops: Sequence[Op], heartbeat: Heartbeat | None
    ) -> list[str]:
        warnings: list[str] = []
        checks: list[tuple[Op, psycopg.Cursor[Any]]] = []
        splits: list[tuple[Floats, list[psycopg.Cursor[Any]]]] = []  # appends of several chunks
        merges: list[psycopg.Cursor[Any]] = []  # reads of small chunks, merged after the pipeline
        last: dict[str, int] | None = None  # the last float append to each series (when needed)
        with conn.pipeline():
            for at, given in enumerate(ops):
                for op in self._singles(conn, run_pk, given):
                    cls = type(op)
                    if cls is Floats:
                        assert isinstance(op, Floats)
                        pieces = _postgres_floats.chunk_params(
                            run_pk, op.path, op.steps, op.values, op.stamps
                        )
                        curs = [conn.cursor() for _ in pieces]
                        for cur, params in zip(curs, pieces):
                            cur.execute(q.APPEND_CHUNK, params)
                        if len(curs) == 1:
                            checks.append((op, curs[0]))
                        else:
                            splits.append((op, curs))
                        if self._compaction_due(run_pk, op.path, len(op.steps)):
                            cur = conn.cursor(binary=True)
                            cur.execute(q.COMPACT_READ, _postgres_floats.read_params(run_pk, op.path))
                            last = _postgres_floats.last_appends(ops) if last is None else last
                            if last[op.path] == at:
                                merges.append(cur)
                            else:  # merged now, a round trip, for the series' later appends follow
                                _postgres_floats.compact(conn, [cur])
                    elif cls is Assign:
                        assert isinstance(op, Assign)
                        cur = conn.cursor()
                        cur.execute(q.ASSIGN, [run_pk, op.path, int(op.type), *_columns(op.type, op.value)])
                        checks.append((op, cur))
                    elif cls is Points:
                        assert isinstance(op, Points)
                        cur = conn.cursor()
                        self._append_points(conn, cur, run_pk, op.path, op.type, op.rows)
                        checks.append((op, cur))
                    elif cls is SetChange:
                        assert isinstance(op, SetChange)
                        cur = conn.cursor()
                        set_type = int(FieldType.STRING_SET)
                        if op.kind == "add":
                            cur.execute(
                                q.SET_ADD,
                                [run_pk, op.path, set_type, [_enc(x) for x in sorted(set(op.items))]],
                            )
                        elif op.kind == "remove":
                            cur.execute(
                                q.SET_REMOVE, [run_pk, op.path, set_type, [], [_enc(x) for x in op.items]]
                            )
                        else:
                            cur.execute(q.SET_CLEAR, [run_pk, op.path, set_type, []])
                        checks.append((op, cur))
                    elif cls is Delete:
                        assert isinstance(op, Delete)
                        conn.execute(q.DELETE, [run_pk, op.path, op.path + "/"])
                        for key in [k for k in self._small if k[0] == run_pk]:
                            del self._small[key]
                    elif cls is Incr:
                        assert isinstance(op, Incr)
                        conn.execute(q.INCR, [op.amount, run_pk, op.path])
                    else:  # pragma: no cover - a programming error, not user input
                        raise TypeError(f"unknown op {op!r}")
            if heartbeat is not None:
                conn.execute(q.PING, [heartbeat.now, heartbeat.closing, heartbeat.session])
            conn.execute(q.NOTIFY, [str(run_pk)])
        if merges:  # before the explanations, whose appends follow the merged chunks
            _postgres_floats.compact(conn, merges)
        for op, cur in checks:
            if cur.rowcount == 0:
                self._explain(conn, run_pk, op, warnings)
        for op, curs in splits:
            self._explain_split(conn, run_pk, op, [c.rowcount for c in curs], warnings)
        return warnings

    def _singles(self, conn: psycopg.Connection[Any], run_pk: int, op: Op) -> Iterator[Op]:
        """``op`` itself, or for a bulk op: written in one statement (:mod:`._postgres_bulk`),
        what it left for the ordinary path."""
        if type(op) is FloatRow:
            assert isinstance(op, FloatRow)
            yield from _postgres_bulk.new_series(conn, run_pk, op)
        elif type(op) is Assigns:
            assert isinstance(op, Assigns)
            yield from _postgres_bulk.assign_many(conn, run_pk, op, _columns)
        else:
            yield op

    def _append_points(
        self,
        conn: psycopg.Connection[Any],
        cur: psycopg.Cursor[Any],
        run_pk: int,
        path: str,
        ftype: int,
        rows: Sequence[tuple[int, float, Any]],
    ) -> None:
        """Send the append of ``rows``: string series as packed chunks, others a row per point."""
        if ftype != FieldType.STRING_SERIES:
            cur.execute(q.APPEND_POINTS, _points_params(run_pk, path, ftype, rows))
            return
        params = _postgres_text.append_params(run_pk, path, rows, _enc)
        cur.execute(_postgres_text.APPEND, params)
        if self._compaction_due(run_pk, path, q.COMPACT_SMALL if not params["small"] else 1):
            merge = {"run": run_pk, "path": path, "every": q.COMPACT_EVERY}
            for statement in (
                _postgres_text.COMPACT_MERGE,
                _postgres_text.COMPACT_DELETE,
                _postgres_text.COMPACT_RESET,
            ):
                conn.execute(statement, merge)

    def _compaction_due(self, run_pk: int, path: str, n: int) -> bool:
        """Whether to send the (conditional) merge of the small chunks trailing the series
        after an append of ``n`` points: when enough may have gathered. The field row's
        counter decides (the statements do nothing below it); this handle's guess only
        spares the statements on most batches, and is fine when other writers add chunks."""
        key = (run_pk, path)
        seen = self._small.get(key)
        if n >= q.COMPACT_SMALL:
            self._small[key] = 0
            return False
        if seen is not None and seen + 1 < q.COMPACT_EVERY:
            self._small[key] = seen + 1
            return False
        self._small[key] = 0 if seen is not None else q.COMPACT_EVERY // 2
        return True

    def _explain(self, conn: psycopg.Connection[Any], run_pk: int, op: Op, warnings: list[str]) -> None:
        """An op that changed nothing: another writer changed the field's type or got past its
        steps first. Say so; for appends, write the points that are still new."""
        assert isinstance(op, (Floats, Assign, Points, SetChange))
        row = conn.execute(q.FIELD_TYPE_STEP, [run_pk, op.path]).fetchone()
        wanted = (
            FieldType.FLOAT_SERIES
            if isinstance(op, Floats)
            else FieldType.STRING_SET
            if isinstance(op, SetChange)
            else FieldType(op.type)
        )
        if row is None or row[0] != wanted:
            existing = FieldType(row[0]).label if row else "missing"
            warnings.append(
                f"'{op.path}' is a {existing} in the store (written by another process); "
                f"a {wanted.label} write to it was dropped."
            )
            return
        last = row[1]
        if isinstance(op, Floats):
            keep = [i for i, s in enumerate(op.steps) if last is None or s > last]
            dropped = len(op.steps) - len(keep)
            if keep:
                steps = array("q", [op.steps[i] for i in keep])
                vals = array("d", [op.values[i] for i in keep])
                stamps = array("d", [op.stamps[i] for i in keep])
                with conn.pipeline():  # we hold the field's row lock: the chunks follow on
                    for params in _postgres_floats.chunk_params(run_pk, op.path, steps, vals, stamps):
                        conn.execute(q.APPEND_CHUNK, params)
        elif isinstance(op, Points):
            rows = [r for r in op.rows if last is None or r[0] > last]
            dropped = len(op.rows) - len(rows)
            if rows:
                self._append_points(conn, conn.cursor(), run_pk, op.path, op.type, rows)
        else:
            return
        if dropped:
            warnings.append(
                f"'{op.path}': {dropped} point(s) at or before step {step_value(last):g}, "
                "already written by another process, were dropped."
            )

    def _explain_split(
        self, conn: psycopg.Connection[Any], run_pk: int, op: Floats, applied: list[int], warnings: list[str]
    ) -> None:
        """An append sent as several chunks: each after the first is written only where the
        previous one left the head. When the first was overtaken, the later ones were written
        only from a chunk whose predecessor ends exactly at the other writer's head (so every
        point before them was stale); none written at all is explained as a single append."""
        if applied[0]:
            return
        if not any(applied):
            self._explain(conn, run_pk, op, warnings)
            return
        cuts = _codec.spans(len(op.steps))
        written = next(a for (a, _), done in zip(cuts, applied) if done)  # the stale points before
        warnings.append(
            f"'{op.path}': {written} point(s) at or before step {step_value(op.steps[written - 1]):g}, "
            "already written by another process, were dropped."
        )

    # -- reads -----------------------------------------------------------------------------------
    def fields(self, run_pk: int, prefix: str | None = None) -> list[FieldRecord]:
        def read(conn: psycopg.Connection[Any]) -> list[FieldRecord]:
            sql, params = q.FIELDS, [run_pk] if prefix is None else [run_pk, prefix, prefix + "/"]
            if prefix is not None:
                sql += " AND (path = %s OR starts_with(path, %s))"
            rows = conn.cursor(binary=True).execute(sql + " ORDER BY path", params).fetchall()
            state, _ = _run_state(conn, run_pk, time.time())
            return [_field_record(r, state) for r in rows]

        return self._retry(read)

    def field(self, run_pk: int, path: str) -> FieldRecord | None:
        def read(conn: psycopg.Connection[Any]) -> FieldRecord | None:
            row = conn.cursor(binary=True).execute(q.FIELDS + " AND path = %s", [run_pk, path]).fetchone()
            if row is None:
                return None
            state = _run_state(conn, run_pk, time.time())[0] if path == _sys.STATE else None
            return _field_record(row, state)

        return self._retry(read)

    def field_rows(
        self, run_pks: Sequence[int], paths: Sequence[str] | None = None, ftype: int | None = None
    ) -> list[tuple[int, str, int, Any]]:
        def read(conn: psycopg.Connection[Any]) -> list[tuple[int, str, int, Any]]:
            sql = "SELECT run_id, path, type, num, int, txt, strs FROM fields WHERE run_id = ANY(%s)"
            params: list[Any] = [list(run_pks)]
            if paths is not None:
                sql += " AND path = ANY(%s::text[])"
                params.append(list(paths))
            if ftype is not None:
                sql += " AND type = %s"
                params.append(int(ftype))
            return [
                (int(r[0]), str(r[1]), int(r[2]), _stored(r[2], r[3], r[4], r[5], r[6]))
                for r in conn.cursor(binary=True).execute(sql, params)
            ]

        return self._retry(read)

    def series_extremes(self, run_pks: Sequence[int]) -> list[tuple[int, str, float | None, float | None]]:
        def read(conn: psycopg.Connection[Any]) -> list[tuple[int, str, float | None, float | None]]:
            sql = "SELECT run_id, path, vmin, vmax FROM fields WHERE run_id = ANY(%s) AND type = %s"
            params = [list(run_pks), int(FieldType.FLOAT_SERIES)]
            return [(int(r[0]), str(r[1]), r[2], r[3]) for r in conn.cursor(binary=True).execute(sql, params)]

        return self._retry(read)

    def chunks(
        self,
        run_pk: int,
        path: str,
        max_step: int | None,
        *,
        min_step: int | None = None,
        limit: int | None = None,
    ) -> list[Chunk]:
        def read(conn: psycopg.Connection[Any]) -> list[Chunk]:
            params = [run_pk, path, max_step, max_step, min_step, min_step, limit]
            return [Chunk(*r) for r in conn.cursor(binary=True).execute(q.CHUNKS, params)]

        return self._retry(read)

    def chunk_summaries(
        self,
        run_pk: int,
        path: str,
        max_step: int | None,
        *,
        min_step: int | None = None,
        coarse: bool = False,
    ) -> list[ChunkSummary]:
        sql = q.CHUNK_SUMMARIES.format(column="coarse" if coarse else "summary")
        block = COARSE if coarse else BLOCK

        def read(conn: psycopg.Connection[Any]) -> list[ChunkSummary]:
            params = [run_pk, path, max_step, max_step, min_step, min_step]
            return [
                ChunkSummary(int(a), int(b), int(n), None if p is None else bytes(p), block)
                for a, b, n, p in conn.cursor(binary=True).execute(sql, params)
            ]

        return self._retry(read)

    def points(
        self,
        run_pk: int,
        path: str,
        max_step: int | None,
        *,
        min_step: int | None = None,
        tail: int | None = None,
    ) -> list[tuple[int, float, Any]]:
        def read(conn: psycopg.Connection[Any]) -> list[tuple[int, float, Any]]:
            field = conn.execute(q.FIELD_TYPE_STEP, [run_pk, path]).fetchone()
            if field is not None and field[0] == FieldType.STRING_SERIES:
                chunks = _postgres_text.read(conn, run_pk, path, max_step, min_step, tail=tail)
                return rows_in(chunks, min_step, max_step, tail)
            params: list[Any] = [run_pk, path, max_step, max_step, min_step, min_step]
            cur = conn.cursor(binary=True)
            if tail is None:
                rows = cur.execute(f"SELECT p.step, p.ts, p.value {q.POINTS_WHERE} ORDER BY p.step", params)
                return [(int(s), float(t), _dec(v)) for s, t, v in rows]
            rows = cur.execute(
                f"SELECT p.step, p.ts, p.value {q.POINTS_WHERE} ORDER BY p.step DESC LIMIT %s",
                [*params, tail],
            )
            out = [(int(s), float(t), _dec(v)) for s, t, v in rows]
            out.reverse()
            return out

        return self._retry(read)

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
        return self._retry(
            lambda conn: _postgres_text.read(conn, run_pk, path, max_step, min_step, limit=limit, tail=tail)
        )

    def last_point_before(self, run_pk: int, path: str, max_step: int) -> tuple[int, Any] | None:
        def read(conn: psycopg.Connection[Any]) -> tuple[int, Any] | None:
            text = _postgres_text.read(conn, run_pk, path, max_step, None, tail=1)
            if text:
                last = rows_in(text, None, max_step, 1)
                return (last[0][0], last[0][2]) if last else None
            cur = conn.cursor(binary=True)
            row = cur.execute(q.LAST_CHUNK_BEFORE, [run_pk, path, max_step]).fetchone()
            if row is not None:
                steps, vals, _ = _codec.arrays(Chunk(*row))
                i = max(i for i, s in enumerate(steps) if s <= max_step)
                return steps[i], vals[i]
            point = cur.execute(q.LAST_POINT_BEFORE, [run_pk, path, max_step]).fetchone()
            return None if point is None else (int(point[0]), _dec(point[1]))

        return self._retry(read)

    # -- selection -------------------------------------------------------------------------------
    def select_runs(self, selection: RunSelection, now: float) -> list[tuple[int, str]]:
        if selection.sort_by == _sys.CREATION_TIME:  # the table's default order, along its index
            (head, head_params), (rest, rest_params) = select_sql.creation_sql(selection, now)

            def read(conn: psycopg.Connection[Any]) -> list[tuple[int, str]]:
                rows = [(int(pk), str(label)) for pk, label in conn.execute(head, head_params)]
                if selection.limit is None or len(rows) < selection.limit:
                    left = None if selection.limit is None else selection.limit - len(rows)
                    rows += [(int(pk), str(label)) for pk, label in conn.execute(rest, [*rest_params, left])]
                return rows

            return self._retry(read)
        sql, params = select_sql.select_sql(selection, now)
        return self._retry(lambda c: [(int(pk), str(label)) for pk, label in c.execute(sql, params)])

    def count_runs(self, selection: RunSelection, now: float) -> int:
        cond, params = select_sql.where(selection, now)
        sql = f"SELECT count(*) FROM runs r WHERE {cond}"

        def read(conn: psycopg.Connection[Any]) -> int:
            row = conn.execute(sql, params).fetchone()
            return int(row[0]) if row is not None else 0

        return self._retry(read)

    def count_by_experiment(self, selection: RunSelection, now: float) -> dict[str, int]:
        sql, params = select_sql.count_sql(selection, now)
        return self._retry(lambda c: {str(name): int(n) for name, n in c.execute(sql, params)})

    def stats(self) -> StoreStats:
        def counts(conn: psycopg.Connection[Any]) -> StoreStats:
            def one(statement: str, *params: Any) -> int:
                row = conn.execute(statement, params).fetchone()
                return int(row[0]) if row is not None and row[0] is not None else 0

            projects = {
                str(name): int(n)
                for name, n in conn.execute(
                    "SELECT p.name, count(r.id) FROM projects p LEFT JOIN runs r ON r.project_id = p.id "
                    'GROUP BY p.id, p.name ORDER BY p.name COLLATE "C"'
                )
            }
            return StoreStats(
                location=self.uri,
                schema_version=self._version(conn),
                projects=projects,
                runs=one("SELECT count(*) FROM runs"),
                trashed_runs=one("SELECT count(*) FROM fields WHERE path = %s AND int = 1", _sys.TRASHED),
                fields=one("SELECT count(*) FROM fields"),
                points=one("SELECT coalesce(sum(n), 0) FROM chunks")
                + one("SELECT coalesce(sum(n), 0) FROM text_chunks")
                + one("SELECT count(*) FROM points"),
                database_bytes=one(
                    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
                    self.schema,
                ),
                files_bytes=0,
            )

        data = self._tx(counts)
        if isinstance(self.blobs, BlobDir) and self.blobs.root.is_dir():
            files = sum(p.stat().st_size for p in self.blobs.root.rglob("*") if p.is_file())
            data = StoreStats(**{**data.__dict__, "files_bytes": files})
        return data


# -- helpers shared by the store's transactions ----------------------------------------------------
def _masked(e: BaseException, secret: str) -> str:
    """The error's message on one line, the password as ``***``."""
    text = " ".join(str(e).split()) or type(e).__name__
    return text.replace(secret, "***") if secret else text


def _RETRYABLE(pg_errors: Any) -> tuple[type[Exception], ...]:  # noqa: N802 - reads as a constant
    return (pg_errors.DeadlockDetected, pg_errors.SerializationFailure, pg_errors.LockNotAvailable)


def _run_record(row: Sequence[Any], created: bool = False) -> RunRecord:
    pk, project, custom_id, sys_id, experiment, parent_pk, fork_step, depth = row
    return RunRecord(
        int(pk), project, custom_id, sys_id, experiment, parent_pk, fork_step, int(depth), created=created
    )


def _find_run(conn: psycopg.Connection[Any], project: str, custom_id: str) -> RunRecord | None:
    row = conn.execute(
        q.RUN_SELECT + " WHERE p.name = %s AND r.custom_id = %s", [project, custom_id]
    ).fetchone()
    return None if row is None else _run_record(row)


def _field_record(row: Sequence[Any], state: str | None) -> FieldRecord:
    path, ftype, num, integer, txt, strs, step, n = row
    if path == _sys.STATE and state is not None:
        return FieldRecord(path, int(ftype), state, None, 0)
    return FieldRecord(path, int(ftype), _stored(ftype, num, integer, txt, strs), step, int(n))


def _run_state(conn: psycopg.Connection[Any], run_pk: int, now: float) -> tuple[str, float | None]:
    row = conn.execute(q.RUN_STATE, [*_sys.live_window(now), run_pk]).fetchone()
    assert row is not None
    return _sys.state(bool(row[1])), None if row[0] is None else float(row[0])


def _points_params(
    run_pk: int, path: str, ftype: int, rows: Sequence[tuple[int, float, Any]]
) -> dict[str, Any]:
    return {
        "run": run_pk,
        "path": path,
        "type": int(ftype),
        "last": _enc(rows[-1][2]),
        "first": rows[0][0],
        "last_step": rows[-1][0],
        "n": len(rows),
        "steps": [r[0] for r in rows],
        "ts": [float(r[1]) for r in rows],
        "vals": [_enc(r[2]) for r in rows],
    }


def _open_run(conn: psycopg.Connection[Any], spec: RunSpec) -> RunRecord:
    existing = _find_run(conn, spec.project, spec.custom_id)
    if existing is not None:
        return existing
    conn.execute(q.ENSURE_PROJECT, [spec.project, project_key(spec.project)])
    counted = conn.execute(q.NEXT_COUNTER, [spec.project]).fetchone()
    assert counted is not None
    project_id, key, counter = counted
    existing = _find_run(conn, spec.project, spec.custom_id)  # created while we waited for the lock
    if existing is not None:
        raise _Existing(existing)
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
    inserted = conn.execute(
        q.INSERT_RUN,
        [
            project_id,
            spec.custom_id,
            sys_id,
            spec.experiment,
            None if parent is None else parent.pk,
            fork_fixed,
            depth,
        ],
    ).fetchone()
    assert inserted is not None
    pk = int(inserted[0])
    family = spec.custom_id
    if parent is not None:
        fam = conn.execute(
            "SELECT txt FROM fields WHERE run_id = %s AND path = %s", [parent.pk, _sys.FAMILY]
        ).fetchone()
        family = fam[0] if fam and fam[0] else parent.custom_id
    if spec.experiment is not None:  # claim the head: the previous head flips to False
        conn.execute(q.CLAIM_HEAD, [_sys.EXPERIMENT_IS_HEAD, project_id, spec.experiment, pk])
    inherited_tags: list[str] = []
    if parent is not None and spec.inherit_configs:
        conn.execute(q.COPY_CONFIGS, [pk, parent.pk, _ATOM_TYPES, list(_sys.INHERITED)])
        tags = conn.execute(
            "SELECT strs FROM fields WHERE run_id = %s AND path = %s", [pk, _sys.TAGS]
        ).fetchone()
        if tags and tags[0]:
            inherited_tags = list(tags[0])
    atoms = _sys.creation_atoms(
        spec,
        sys_id=sys_id,
        depth=depth,
        family=family,
        parent_custom_id=None if parent is None else parent.custom_id,
        inherited_tags=inherited_tags,
    )
    with conn.pipeline():
        for atom in atoms:
            conn.execute(q.ASSIGN, [pk, atom.path, int(atom.type), *_columns(atom.type, atom.value)])
        conn.execute(q.GROUP_TAGS, [pk, _sys.GROUP_TAGS, int(FieldType.STRING_SET)])
        conn.execute(q.NOTIFY, [str(pk)])
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
