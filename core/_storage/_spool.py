"""Batches an :class:`~._http.HttpStore` could not deliver, kept durably on local disk.

One SQLite file per store handle, ``<journal dir>/<writer>.naiad-spool`` (next to the
offline journals of ``./.naiad/offline``), created when the first batch is spooled and
removed once it is empty again. Each row is one batch exactly as it goes on the wire, with
its sequence number, so a replay sends the very same (writer, seq) pairs in order and the
server applies each once; the file records the server's address. A spool left behind by a
process that died is replayed by ``naiad sync --store http(s)://...``: even a replay that
races the live process applies each batch once. ``synchronous=FULL``: a spooled batch survives a crash of the
client process too.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from pathlib import Path

from ..errors import StorageError


class Spool:
    """Durable FIFO of wire-encoded batches."""

    def __init__(self, path: Path, uri: str = "") -> None:
        self.path = path
        self.uri = uri  # the server the batches are for (recorded in the file)
        self._db: sqlite3.Connection | None = None
        self._count = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._count

    def _open(self) -> sqlite3.Connection:
        if self._db is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")
                db.execute("CREATE TABLE IF NOT EXISTS batches(seq INTEGER PRIMARY KEY, body BLOB NOT NULL)")
                db.execute("CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                if self.uri:
                    db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('uri', ?)", (self.uri,))
                row = db.execute("SELECT value FROM meta WHERE key = 'uri'").fetchone()
                self.uri = "" if row is None else str(row[0])
                self._count = int(db.execute("SELECT count(*) FROM batches").fetchone()[0])
            except (sqlite3.Error, OSError) as e:
                raise StorageError(f"Cannot spool batches to {self.path}: {e}.") from e
            self._db = db
        return self._db

    def append(self, seq: int, body: bytes) -> None:
        with self._lock:
            try:
                self._open().execute("INSERT INTO batches(seq, body) VALUES (?, ?)", (seq, body))
            except sqlite3.Error as e:
                raise StorageError(f"Cannot spool a batch to {self.path}: {e}.") from e
            self._count += 1

    def head(self, n: int = 64) -> list[tuple[int, bytes]]:
        """The oldest ``n`` batches, in order."""
        if not self._count and self._db is not None:
            return []
        with self._lock:
            db = self._open()  # an existing file (left by another process) counts on opening
            if not self._count:
                return []
            rows = db.execute("SELECT seq, body FROM batches ORDER BY seq LIMIT ?", (n,))
            return [(int(seq), bytes(body)) for seq, body in rows]

    def remove(self, seq: int) -> None:
        with self._lock:
            gone = self._open().execute("DELETE FROM batches WHERE seq = ?", (seq,)).rowcount
            self._count -= gone  # 0 when a replay by another process got there first

    def close(self) -> None:
        """Close the file; remove it when nothing is left in it."""
        with self._lock:
            db, self._db = self._db, None
            if db is None:
                return
            db.close()
            if not self._count:
                for suffix in ("", "-wal", "-shm"):
                    with contextlib.suppress(OSError):
                        Path(f"{self.path}{suffix}").unlink()
