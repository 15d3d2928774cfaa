"""The first BlobStore: content-addressed file blobs in a local directory: ``files/<sha[:2]>/<sha256>``.

A stored name is metadata only; the key on disk is the hex digest, checked to be hex before
it ever becomes part of a path. Writes go to a temporary file and are renamed into place.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ..errors import StorageError

if TYPE_CHECKING:
    from ._protocol import BlobStore

_HEX = re.compile(r"^[0-9a-f]{64}$")
_BLOCK = 1 << 20
ORPHAN_AGE_S = 600.0  # an upload temp file untouched this long belongs to a dead process


class BlobDir:
    """Blobs under ``root``; created on first write."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        if not _HEX.match(sha256):
            raise StorageError(f"Not a sha256 blob key: {sha256!r}.")
        return self.root / sha256[:2] / sha256

    def put(self, source: Path | bytes | BinaryIO) -> tuple[str, int]:
        """Store ``source``; return (sha256, size). Storing the same content twice is free."""
        try:
            return self._put(source)
        except OSError as e:
            if isinstance(e, StorageError):
                raise
            raise StorageError(f"Cannot store a file in {self.root}: {e.strerror or e}.") from e

    def _put(self, source: Path | bytes | BinaryIO) -> tuple[str, int]:
        import hashlib
        import tempfile

        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp = tempfile.mkstemp(prefix=".incoming-", dir=self.root)
        try:
            with os.fdopen(fd, "wb") as out:
                for block in _blocks(source):
                    digest.update(block)
                    size += len(block)
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            final = self._path(sha)
            if final.exists() and sha256_of(final) == sha:
                os.unlink(tmp)
            else:  # new, or a stored copy that no longer matches its name: this upload repairs it
                final.parent.mkdir(exist_ok=True)
                os.replace(tmp, final)
                _fsync_dir(final.parent)  # the rename itself survives a power loss
            return sha, size
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def sweep(self, older_than_s: float = ORPHAN_AGE_S) -> int:
        """Delete upload temp files left by killed processes; return how many.

        Only files untouched for ``older_than_s`` go: a live upload elsewhere writes to its
        temp file continuously, so its modification time stays fresh.
        """
        import time

        removed = 0
        cutoff = time.time() - older_than_s
        try:
            leftovers = list(self.root.glob(".incoming-*"))
        except OSError:
            return 0
        for tmp in leftovers:
            with contextlib.suppress(OSError):
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()
                    removed += 1
        return removed

    def open(self, sha256: str) -> BinaryIO:
        """The blob's content, checked against its sha256 as it is read (see :class:`Verified`)."""
        try:
            f = self._path(sha256).open("rb")
        except FileNotFoundError:
            raise StorageError(f"File blob {sha256} is missing from {self.root}.") from None
        return Verified(f, sha256, os.fstat(f.fileno()).st_size, str(self.root))  # type: ignore[return-value]

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).exists()


class Verified:
    """A blob being read, hashed on the way: reading its last byte raises when the content no
    longer matches its sha256 (a disk or a hand corrupted it), so a download, a copy or a sync
    never hands on a corrupted file as if it were the one stored."""

    def __init__(self, raw: BinaryIO, sha256: str, size: int, where: str) -> None:
        import hashlib

        self._raw, self._sha, self._left, self._where = raw, sha256, size, where
        self._digest = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        block = self._raw.read(n)
        if self._left > 0:
            self._digest.update(block)
            self._left -= len(block)
            if self._left <= 0 and self._digest.hexdigest() != self._sha:
                raise StorageError(
                    f"File blob {self._sha} in {self._where} is corrupted: its content no longer "
                    "matches its sha256. Upload the same file again (to any run) to repair it."
                )
        return block

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> Verified:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file, read in blocks."""
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def open_blobs(location: str | Path) -> BlobStore:
    """The blob store at ``location``: ``s3://BUCKET/PREFIX`` or a local directory."""
    text = str(location)
    if text.startswith("s3://"):
        from ._s3 import S3Blobs

        return S3Blobs(text)
    if text.startswith("file://"):
        text = text[len("file://") :]
    elif "://" in text:
        raise StorageError(
            f"blobs={text!r}: the scheme {text.split('://', 1)[0]}:// is not supported; use a "
            "directory path or s3://BUCKET/PREFIX."
        )
    return BlobDir(Path(text).expanduser().resolve())


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _blocks(source: Path | bytes | BinaryIO):  # type: ignore[no-untyped-def]
    if isinstance(source, (bytes, bytearray, memoryview)):
        yield bytes(source)
        return
    if isinstance(source, Path):
        with source.open("rb") as f:
            yield from iter(lambda: f.read(_BLOCK), b"")
        return
    while block := source.read(_BLOCK):
        yield block if isinstance(block, bytes) else block.encode("utf-8")
