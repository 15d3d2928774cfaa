"""Storage backends behind one seam (:mod:`._protocol`), chosen by URI in :func:`open_store`.

Nothing above this package touches storage any other way: callers type against
:class:`RunStore` (alias :data:`Store`) and :class:`BlobStore`, and build typed ops
(:mod:`._records`). A directory path (or ``sqlite://`` / ``file://``) is the embedded store;
``postgresql://`` and ``http(s)://`` backends are added in :func:`open_store` only.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import StorageError
from ._protocol import BlobStore, RunStore, Store
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
    SetChange,
    StoreStats,
)
from ._sqlite import DB_NAME, SqliteStore  # the default backend: imported with naiad, as before

__all__ = [
    "Assign",
    "BlobStore",
    "Chunk",
    "Delete",
    "FieldRecord",
    "Floats",
    "Heartbeat",
    "Incr",
    "Op",
    "Points",
    "RunRecord",
    "RunSelection",
    "RunSpec",
    "RunStore",
    "SetChange",
    "Store",
    "StoreStats",
    "is_journal",
    "open_journal",
    "open_store",
]


def open_store(uri: str | Path, *, create: bool = True) -> RunStore:
    """Open the store at ``uri``: a directory path, ``file://`` or ``sqlite://`` URI."""
    text = str(uri)
    for scheme in ("sqlite://", "file://"):
        if text.startswith(scheme):
            text = text[len(scheme) :]
            break
    else:
        if "://" in text:
            scheme = text.split("://", 1)[0]
            raise StorageError(
                f"Store URI scheme '{scheme}://' is not supported by this naiad; use a directory "
                "path (the embedded SQLite store)."
            )
    return SqliteStore(Path(text), create=create)


def open_journal(path: Path, *, create: bool = True) -> RunStore:
    """An offline run's journal: always the embedded store, in a local directory."""
    return SqliteStore(path, create=create)


def is_journal(path: Path) -> bool:
    """Whether ``path`` is a directory holding an offline journal (an embedded store)."""
    return (path / DB_NAME).is_file()
