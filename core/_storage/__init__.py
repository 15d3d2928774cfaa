"""Storage backends, chosen by URI: a directory path (or ``sqlite://``) is the embedded store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import StorageError
from ._blobs import BlobDir, open_blobs
from ._records import Chunk, FieldRecord, Op, RunRecord, RunSpec
from ._sqlite import SqliteStore

if TYPE_CHECKING:
    from ._protocol import Store

__all__ = ["Chunk", "FieldRecord", "Op", "RunRecord", "RunSpec", "SqliteStore", "Store", "open_store"]

# A directory store remembers where its blobs go when that is not its own files/ directory,
# so that readers (naiad ui, naiad.query) find the files without being told again.
BLOBS_RECORD = "blobs.location"


def open_store(uri: str | Path, *, create: bool = True, blobs: str | Path | None = None) -> SqliteStore:
    """Open the store at ``uri``: a directory path, ``file://`` or ``sqlite://`` URI.

    ``blobs`` is where file blobs go (a directory or ``s3://BUCKET/PREFIX``); by default the
    location recorded in the store, else the store's ``files/`` directory.
    """
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
    root = Path(text).expanduser()
    record = root / BLOBS_RECORD
    location = str(blobs) if blobs is not None else None
    if location is None and record.is_file():
        location = record.read_text(encoding="utf-8").strip() or None
    blob_store = None if location is None else open_blobs(location)
    store = SqliteStore(root, create=create, blobs=blob_store)
    if blobs is not None and blob_store is not None and create and not record.exists():
        where = str(blob_store.root) if isinstance(blob_store, BlobDir) else blob_store.uri
        if where != str(store.root / "files"):
            record.write_text(where + "\n", encoding="utf-8")
    return store
