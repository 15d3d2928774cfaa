"""Storage backends, chosen by URI: a directory path (or ``sqlite://``) is the embedded store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import StorageError
from ._records import Chunk, FieldRecord, Op, RunRecord, RunSpec
from ._sqlite import SqliteStore

if TYPE_CHECKING:
    from ._protocol import Store

__all__ = ["Chunk", "FieldRecord", "Op", "RunRecord", "RunSpec", "SqliteStore", "Store", "open_store"]


def open_store(uri: str | Path, *, create: bool = True) -> SqliteStore:
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
