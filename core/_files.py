"""Files: uploads into content-addressed blobs, artifact manifests, and safe downloads."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from ._storage._blobs import sha256_of
from .errors import FieldValueError, StorageError


@dataclasses.dataclass(frozen=True)
class File:
    """A file to upload: from a path, bytes, or a binary file object.

    Example:
        >>> preds = File(b"id,label\\n1,cat\\n", name="preds.csv")
        >>> run["predictions"].append(preds, step=3)  # doctest: +SKIP
    """

    source: Any
    name: str | None = None
    mime: str | None = None

    def resolved_name(self) -> str:
        if self.name:
            return self.name
        if isinstance(self.source, (str, os.PathLike)):
            return Path(self.source).name
        return str(getattr(self.source, "name", "") and Path(self.source.name).name) or "file"


def as_file(value: Any) -> File:
    """A user's upload argument (path, bytes, file object or File) as a File."""
    return value if isinstance(value, File) else File(value)


def source_of(path: str, file: File) -> Path | bytes | BinaryIO:
    src = file.source
    if isinstance(src, (str, os.PathLike)):
        p = Path(src)
        if not p.is_file():
            raise FieldValueError(f"Cannot upload '{src}' to '{path}': no such file.", path)
        return p
    if isinstance(src, (bytes, bytearray, memoryview)):
        return bytes(src)
    if hasattr(src, "read"):
        data = src.read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    raise FieldValueError(
        f"Cannot upload a {type(src).__name__} to '{path}': give a path, bytes, or a binary file object.",
        path,
    )


def file_meta(file: File, sha256: str, size: int) -> str:
    import mimetypes

    name = file.resolved_name()
    mime = file.mime or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return json.dumps({"sha256": sha256, "name": name, "size": size, "mime": mime})


def manifest(path: str, target: Any) -> str:
    """An Artifact manifest of a file, directory, glob or ``s3://`` URI; nothing is copied."""
    import glob
    import hashlib

    text = os.fspath(target) if isinstance(target, os.PathLike) else str(target)
    if text.startswith("s3://"):
        entries = [{"path": text, "size": None, "sha256": None}]
    else:
        matches = sorted(glob.glob(text, recursive=True)) if glob.has_magic(text) else [text]
        files: list[Path] = []
        for m in matches:
            p = Path(m)
            if p.is_dir():
                files += sorted(q for q in p.rglob("*") if q.is_file())
            elif p.is_file():
                files.append(p)
        if not files:
            raise FieldValueError(f"Nothing to track at '{text}' for '{path}': no file matches.", path)
        entries = [
            {"path": str(f.resolve()), "size": f.stat().st_size, "sha256": sha256_of(f)} for f in files
        ]
    digest = hashlib.sha256(json.dumps(entries, sort_keys=True).encode()).hexdigest()
    return json.dumps({"hash": digest, "files": entries})


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(stem: str, stored_name: str) -> str:
    """``stem`` plus the stored name's extension, with nothing that could leave a directory."""
    ext = _SAFE.sub("", PurePosixPath(stored_name.replace("\\", "/")).suffix)
    base = _SAFE.sub("_", stem).strip(".") or "file"
    return base + (ext if ext.startswith(".") and len(ext) > 1 else "")


def unique_path(target: Path, taken: set[Path]) -> Path:
    """``target``, or ``target`` with ``-2``, ``-3``... before its suffix when already taken."""
    candidate, n = target, 1
    while candidate in taken:
        n += 1
        candidate = target.with_name(f"{target.stem}-{n}{target.suffix}")
    taken.add(candidate)
    return candidate


def write_blob(src: BinaryIO, dest: Path) -> Path:
    """Copy a blob to ``dest`` through a temporary file; never follows a name out of ``dest``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".naiad-part")
    try:
        with src, tmp.open("wb") as out:
            while block := src.read(1 << 20):
                out.write(block)
        os.replace(tmp, dest)
    except OSError as e:
        if tmp.exists():
            tmp.unlink()
        if isinstance(e, StorageError):  # the blob itself (missing, corrupted): its own message
            raise
        raise StorageError(f"Cannot write {dest}: {e.strerror or e}.") from e
    return dest


def download_target(dest: Path | None, stem: str, stored_name: str) -> Path:
    """Where a File goes: inside ``dest`` when it is a directory, else ``dest`` itself."""
    if dest is None:
        return Path.cwd() / safe_filename(stem, stored_name)
    if dest.is_dir():
        target = (dest / safe_filename(stem, stored_name)).resolve()
        if target.parent != dest.resolve():  # pragma: no cover - safe_filename forbids it
            raise StorageError(f"Refusing to write outside {dest}.")
        return target
    return dest
