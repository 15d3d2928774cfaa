"""An offline run's journal: the embedded store, sealed with a checksum whenever naiad closes it.

SQLite keeps no checksum of what a page holds, so a byte flipped in a journal's file (a bad
disk, a careless copy) would sync wrong values without a sound. A journal is therefore
sealed: closing it writes the sha256 of its database file beside it (``naiad.db.sha256``),
opening it checks that digest first and refuses, by name, a journal that changed since, and
a journal open for writing carries no seal (it is changing). A journal whose run was killed
was never sealed: it is checked with ``PRAGMA integrity_check`` instead, which finds broken
pages though not a changed value.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from ..errors import JournalDamaged
from ._blobs import sha256_of
from ._sqlite import DB_NAME, SqliteStore

SEAL_NAME = DB_NAME + ".sha256"


class JournalStore(SqliteStore):
    """The embedded store of one offline journal, verified on open and sealed on close."""

    def __init__(self, root: Path, *, create: bool = True) -> None:
        root = root.expanduser().resolve()
        seal = root / SEAL_NAME
        self._seal_on_close = create
        if create:
            seal.unlink(missing_ok=True)  # about to change: a seal would soon be wrong
        elif (root / DB_NAME).exists():
            self._seal_on_close = _verify(root, seal)
        self._reopening = False
        super().__init__(root, create=create)

    def reopen(self, patience: float | None = None, cancel: Callable[[], bool] | None = None) -> None:
        self._reopening = True  # closing to reopen is no end of writing: no seal
        try:
            super().reopen(patience, cancel)
        finally:
            self._reopening = False

    def close(self) -> None:
        super().close()
        if self._seal_on_close and not self._reopening:
            _seal(self.root)


def _seal(root: Path) -> None:
    """Write the seal, unless the database is not whole in its file (another process has it
    open, so its log holds pages the file lacks): then the journal stays unsealed."""
    wal = root / (DB_NAME + "-wal")
    try:
        if wal.exists() and wal.stat().st_size > 0:
            return
        tmp = root / (SEAL_NAME + ".tmp")
        tmp.write_text(sha256_of(root / DB_NAME) + "\n", encoding="ascii")
        os.replace(tmp, root / SEAL_NAME)
    except OSError:
        pass  # an unsealed journal is still synced, after an integrity check


def _verify(root: Path, seal: Path) -> bool:
    """Check a journal before naiad opens it; True when it was sealed (and is intact)."""
    try:
        expected = seal.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        expected = None
    except OSError as e:
        raise JournalDamaged(f"Cannot read the seal of journal {root.name}: {e.strerror or e}.") from e
    if expected is not None:
        if sha256_of(root / DB_NAME) != expected:
            raise JournalDamaged(
                f"Journal {root.name} changed after its run closed: its database no longer matches "
                f"the sha256 naiad sealed it with ({SEAL_NAME}), so a disk or a copy altered it. It "
                "is not synced; sync a good copy of it, or delete it to give it up."
            )
        return True
    conn = sqlite3.connect(root / DB_NAME)
    try:
        verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as e:
        verdict = str(e)
    finally:
        conn.close()
    if verdict != "ok":
        raise JournalDamaged(
            f"Journal {root.name} is damaged (its run never closed, and SQLite's integrity check "
            f"says: {verdict}). It is not synced."
        )
    return False
