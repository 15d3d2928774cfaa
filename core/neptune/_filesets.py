"""Neptune 1.x's ``FileSet`` (``upload_files``) and ``Artifact`` read-back, over naiad's File fields.

naiad has no FileSet type. Neptune's server kept a file set as an archive and gave it back as
a ZIP (``download()`` of a FileSet wrote ``<name>.zip``), so the layer stores one: a
:class:`naiad.File` named ``<field>.zip`` whose members are the uploaded files. A later
``upload_files`` on the same field adds members, ``delete_files`` removes them, and
``list_fileset_files`` reads the archive's index. A member's name is the file's path
relative to the working directory (its base name when it lies elsewhere); names are only
ever read from the archive, never used to write outside a destination.
"""

from __future__ import annotations

import glob
import io
import os
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

__all__ = ["ArtifactFileData", "FileEntry", "artifact_files", "entries", "merged", "without"]

ZIP_MIME = "application/zip"


@dataclass(frozen=True)
class FileEntry:
    """One member of a FileSet, as ``list_fileset_files()`` returned it."""

    name: str
    size: int
    mtime: datetime
    file_type: str = "file"


@dataclass(frozen=True)
class ArtifactFileData:
    """One tracked file of an Artifact, as ``fetch_files_list()`` returned it."""

    file_path: str
    file_hash: str | None
    type: str
    size: int | None
    metadata: dict[str, Any] = field(default_factory=dict)


def _matches(globs: Iterable[str | os.PathLike[str]]) -> list[Path]:
    found: list[Path] = []
    for pattern in globs:
        text = os.fspath(pattern)
        for match in sorted(glob.glob(text, recursive=True)) if glob.has_magic(text) else [text]:
            p = Path(match)
            if p.is_dir():
                found += sorted(q for q in p.rglob("*") if q.is_file())
            elif p.is_file():
                found.append(p)
    return found


def _member_name(path: Path) -> str:
    resolved, here = path.resolve(), Path.cwd().resolve()
    return resolved.relative_to(here).as_posix() if resolved.is_relative_to(here) else resolved.name


def merged(existing: bytes | None, globs: Iterable[str | os.PathLike[str]]) -> bytes | None:
    """The archive ``existing`` plus every file ``globs`` match; ``None`` when none matches."""
    files = _matches(globs)
    if not files:
        return None
    added = {_member_name(p): p for p in files}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        if existing is not None:
            with zipfile.ZipFile(io.BytesIO(existing)) as old:
                for info in old.infolist():
                    if info.filename not in added:
                        out.writestr(info, old.read(info))
        for name, p in added.items():
            out.write(p, name)
    return buf.getvalue()


def without(existing: bytes, names: Iterable[str]) -> bytes:
    """The archive with the members ``names`` (or under them, for a directory) left out."""
    drop = [n.strip("/") for n in names]
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(existing)) as old, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in old.infolist():
            if not any(info.filename == d or info.filename.startswith(d + "/") for d in drop):
                out.writestr(info, old.read(info))
    return buf.getvalue()


def entries(archive: bytes, path: str | None = None) -> list[FileEntry]:
    """The files and directories directly under ``path`` (the root when ``None``) of the archive."""
    prefix = "" if not path else path.strip("/") + "/"
    seen: dict[str, FileEntry] = {}
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        for info in zf.infolist():
            if not info.filename.startswith(prefix):
                continue
            head, _, rest = info.filename[len(prefix) :].partition("/")
            mtime = datetime(*info.date_time)
            if rest:
                seen.setdefault(head, FileEntry(head, 0, mtime, "directory"))
            else:
                seen[head] = FileEntry(head, info.file_size, mtime)
    return [seen[k] for k in sorted(seen)]


def artifact_files(manifest: Mapping[str, Any]) -> list[ArtifactFileData]:
    """An Artifact manifest's files, each path relative to the folder they all lie in."""
    files = list(manifest.get("files", []))
    local = [
        PurePosixPath(Path(e["path"]).as_posix()) for e in files if not str(e["path"]).startswith("s3://")
    ]
    root = PurePosixPath(os.path.commonpath([str(p.parent) for p in local])) if local else None
    out = []
    for entry in files:
        text = str(entry["path"])
        if text.startswith("s3://"):
            out.append(
                ArtifactFileData(text, entry.get("sha256"), "S3", entry.get("size"), {"location": text})
            )
            continue
        posix = PurePosixPath(Path(text).as_posix())
        relative = posix.relative_to(root).as_posix() if root is not None else posix.name
        out.append(
            ArtifactFileData(
                relative, entry.get("sha256"), "Local", entry.get("size"), {"file_path": f"file://{posix}"}
            )
        )
    return out
