"""Storage backends behind one seam (:mod:`._protocol`), chosen by URI in :func:`open_store`.

Nothing above this package touches storage any other way: callers type against
:class:`RunStore` (alias :data:`Store`) and :class:`BlobStore`, and build typed ops
(:mod:`._records`). A directory path (or ``sqlite://`` / ``file://``) is the embedded store;
``postgresql://`` and ``http(s)://`` backends are added in :func:`open_store` only.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import StorageError
from ._blobs import BlobDir, open_blobs
from ._protocol import BlobStore, RunStore, Store
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
from ._sqlite import DB_NAME, SqliteStore  # the default backend: imported with naiad, as before
from ._text_chunks import TextChunk, values_of

__all__ = [
    "Assign",
    "Assigns",
    "BlobStore",
    "Chunk",
    "Delete",
    "FieldRecord",
    "FloatRow",
    "Floats",
    "Heartbeat",
    "Incr",
    "Op",
    "Points",
    "RunRecord",
    "RunSelection",
    "RunSpec",
    "RunStore",
    "SavedView",
    "SetChange",
    "Store",
    "StoreStats",
    "TextChunk",
    "is_journal",
    "journal_dir",
    "open_journal",
    "open_store",
    "values_of",
]

# A directory store remembers where its blobs go when that is not its own files/ directory,
# so that readers (naiad ui, naiad.query) find the files without being told again.
BLOBS_RECORD = "blobs.location"


def open_store(
    uri: str | Path, *, create: bool = True, blobs: str | Path | None = None, token: str | None = None
) -> RunStore:
    """Open the store at ``uri``: a directory path, ``file://`` or ``sqlite://`` URI,
    ``postgresql://USER:PASS@HOST:PORT/DB`` (the team store), or ``http(s)://HOST:PORT`` (a
    ``naiad server``, with ``token`` or one from ``NAIAD_TOKEN`` / the credentials file).

    ``blobs`` is where file blobs go (a directory or ``s3://BUCKET/PREFIX``); by default the
    location recorded in the store, else the store's ``files/`` directory. A server decides
    where its files go: ``blobs`` is refused there.
    """
    text = str(uri)
    if text.startswith(("http://", "https://")):
        if blobs is not None:
            raise StorageError(
                f"The store {text} is a naiad server, which keeps its files where it was started "
                "with --blobs; leave blobs= (NAIAD_BLOBS, [tool.naiad] blobs) unset for it."
            )
        from ._http import HttpStore

        return HttpStore(text, token=token)
    if text.startswith(("postgresql://", "postgres://")):
        from ._postgres import PostgresStore

        return PostgresStore(text, create=create, blobs=None if blobs is None else str(blobs))
    for scheme in ("sqlite://", "file://"):
        if text.startswith(scheme):
            text = text[len(scheme) :]
            break
    else:
        if "://" in text:
            scheme = text.split("://", 1)[0]
            raise StorageError(
                f"Store URI scheme '{scheme}://' is not supported by this naiad; use a directory "
                "path (the embedded SQLite store), postgresql://USER:PASS@HOST:PORT/DB or "
                "http(s)://HOST:PORT (a naiad server)."
            )
    root = Path(text).expanduser()
    record = root / BLOBS_RECORD
    location = str(blobs) if blobs is not None else None
    if location is None and record.is_file():
        location = record.read_text(encoding="utf-8").strip() or None
    blob_store = None if location is None else open_blobs(location)
    store = SqliteStore(root, create=create, blobs=blob_store)
    if blob_store is not None and create and not record.exists():
        where = (
            str(blob_store.root) if isinstance(blob_store, BlobDir) else str(getattr(blob_store, "uri", ""))
        )
        if where and str(where) != str(store.root / "files"):
            record.write_text(f"{where}\n", encoding="utf-8")
    return store


def journal_dir(store: str | Path) -> Path:
    """Where offline journals of runs bound for ``store`` are written: ``<store>/offline`` for
    a directory store, ``./.naiad/offline`` for a server store (PostgreSQL)."""
    text = str(store)
    if text.startswith(("postgresql://", "postgres://", "http://", "https://")):
        return Path(".naiad") / "offline"
    for scheme in ("sqlite://", "file://"):
        if text.startswith(scheme):
            text = text[len(scheme) :]
    return Path(text).expanduser() / "offline"


def open_journal(path: Path, *, create: bool = True) -> RunStore:
    """An offline run's journal: the embedded store in a local directory, sealed on close
    and verified on open (:mod:`._journal`)."""
    from ._journal import JournalStore

    return JournalStore(path, create=create)


def is_journal(path: Path) -> bool:
    """Whether ``path`` is a directory holding an offline journal (an embedded store)."""
    return (path / DB_NAME).is_file()
