"""Attached files of an export: resolved inside ``<files-path>/<sanitize(project)>/``, or refused.

A ``file_value.path`` that leaves that directory (``..``, an absolute path, a symlink out)
is refused and named in the report; nothing is opened outside it. Content goes into the
store's content-addressed blobs; the stored name is metadata only. 2.x files carry no
extension, so their type is sniffed from the first bytes; a 2.x ``artifact`` is its
``files_list.json`` (a manifest, no content) and a ``file_set`` a directory holding the
server's ZIP.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from .._files import File, file_meta
from .._storage import RunStore
from ._layout import sanitize

# (magic prefix, mime, extension) for the kinds of file Neptune runs held most
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"GIF87a", "image/gif", ".gif"),
    (b"GIF89a", "image/gif", ".gif"),
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"PK\x03\x04", "application/zip", ".zip"),
    (b"\x1f\x8b", "application/gzip", ".gz"),
    (b"RIFF", "audio/wav", ".wav"),
)


class Refused(Exception):
    """A file of the export that is not imported; the message says which and why."""


class Attachments:
    """Puts the files an export references into a store's blobs."""

    def __init__(self, files_path: Path, store: RunStore) -> None:
        self._files = files_path
        self._store = store
        self._roots: dict[str, Path] = {}

    def locate(self, project_id: str, relative: Any) -> Path:
        """The file ``relative`` names, inside the project's files directory, or :class:`Refused`."""
        if not isinstance(relative, str) or not relative:
            raise Refused("its row names no file")
        root = self._roots.get(project_id)
        if root is None:
            root = self._roots[project_id] = (self._files / sanitize(project_id)).resolve()
        pure = PurePosixPath(relative.replace("\\", "/"))
        if pure.is_absolute() or ".." in pure.parts or Path(relative).is_absolute():
            raise Refused(f"its path {relative!r} escapes the files directory {root}: refused, not read")
        target = (root / pure).resolve()
        if not target.is_relative_to(root):  # a symlink pointing out of the export
            raise Refused(f"its path {relative!r} leads out of the files directory {root}: refused, not read")
        if not target.exists():
            raise Refused(f"{target} is not in the export's files directory")
        return target

    def file(self, target: Path, sniff: bool) -> tuple[str, int]:
        """(metadata JSON, size) of a File whose content is ``target``, stored as a blob."""
        if target.is_dir():  # a 2.x file set: the directory holding the server's ZIP
            return self._file_set(target)
        name, mime = target.name, mimetypes.guess_type(target.name)[0]
        if sniff and not PurePosixPath(name).suffix:
            with target.open("rb") as f:
                mime, ext = sniff_type(f.read(512))
            name += ext
        sha, size = self._store.blobs.put(target)
        return file_meta(File(target, name=name, mime=mime), sha, size), size

    def _file_set(self, directory: Path) -> tuple[str, int]:
        files = sorted(p for p in directory.rglob("*") if p.is_file())
        if len(files) == 1:
            return self.file(files[0], sniff=True)
        with tempfile.TemporaryDirectory() as tmp:  # several files: one ZIP, as Neptune served it
            bundle = Path(tmp) / f"{directory.name}.zip"
            with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as z:
                for f in files:
                    z.write(f, f.relative_to(directory).as_posix())
            return self.file(bundle, sniff=False)

    @staticmethod
    def artifact(target: Path) -> str:
        """An Artifact manifest from a 2.x ``files_list.json`` (paths, sizes, Neptune's hashes)."""
        try:
            listed = json.loads(target.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise Refused(f"{target} is not a readable files_list.json ({e})") from None
        if not isinstance(listed, list):
            raise Refused(f"{target} is not a list of files")
        entries = [
            {
                "path": item.get("filePath"),
                "size": item.get("size"),
                "sha256": None,  # Neptune hashed artifacts its own way: kept as neptune_hash
                "neptune_hash": item.get("fileHash"),
                "type": item.get("type"),
                "metadata": item.get("metadata"),
            }
            for item in listed
            if isinstance(item, dict)
        ]
        digest = hashlib.sha256(json.dumps(entries, sort_keys=True).encode()).hexdigest()
        return json.dumps({"hash": digest, "files": entries})


def sniff_type(head: bytes) -> tuple[str, str]:
    """(mime, extension) of content starting with ``head``."""
    for magic, mime, ext in _MAGIC:
        if head.startswith(magic):
            return mime, ext
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream", ""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        return "application/json", ".json"
    if stripped.lower().startswith(("<!doctype html", "<html")):
        return "text/html", ".html"
    return "text/plain", ".txt"
