"""``neptune.types``: :class:`File` with Neptune 1.x's constructors (``as_image``, ``from_content``...).

numpy, PIL and matplotlib are never imported here: an image is read by duck typing (an
object with ``savefig`` is a figure, one with ``save`` and ``mode`` a PIL image, anything
with ``shape`` and ``tolist`` an array), so the layer works with whichever is installed.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
import zlib
from pathlib import Path
from typing import Any

from .. import File as NaiadFile

__all__ = ["File", "FileSet", "GitRef"]


class File:
    """A file to ``upload`` or ``append``: from a path, or content with an extension.

    Args:
        path: a file on disk.
        content: the bytes (a ``str`` is stored as UTF-8).
        extension: the stored name's extension (default: the path's, else ``bin``/``txt``).

    Example:
        >>> File.from_content("hello", extension="txt").extension
        'txt'
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        content: bytes | None = None,
        extension: str | None = None,
    ) -> None:
        if (path is None) == (content is None):
            raise ValueError("neptune.types.File takes a path or content, not both or neither")
        self.path = None if path is None else os.fspath(path)
        self.content = content
        if extension is None:
            extension = Path(self.path).suffix.lstrip(".") if self.path is not None else "bin"
        self.extension = extension

    def __repr__(self) -> str:
        what = f"path={self.path!r}" if self.path is not None else f"{len(self.content or b'')} bytes"
        return f"File({what}, extension={self.extension!r})"

    @classmethod
    def from_content(cls, content: str | bytes, extension: str | None = None) -> File:
        """A file holding ``content`` (``str`` defaults to extension ``txt``)."""
        if isinstance(content, str):
            return cls(content=content.encode(), extension=extension or "txt")
        return cls(content=bytes(content), extension=extension or "bin")

    @classmethod
    def from_stream(cls, stream: Any, seek: int | None = 0, extension: str | None = None) -> File:
        """A file holding what ``stream`` reads from ``seek`` (a text stream is stored as UTF-8)."""
        if seek is not None and hasattr(stream, "seek"):
            stream.seek(seek)
        data = stream.read()
        text = isinstance(data, str)
        return cls(content=data.encode() if text else data, extension=extension or ("txt" if text else "bin"))

    @classmethod
    def as_image(cls, image: Any) -> File:
        """A PNG of a PIL image, a matplotlib figure, or an array (HxW, HxWx3/4; floats in [0, 1])."""
        return cls(content=_png(image), extension="png")

    @classmethod
    def as_html(cls, value: Any) -> File:
        """An HTML page of a pandas DataFrame, a plotly figure, or a matplotlib figure (as SVG)."""
        if hasattr(value, "to_html"):  # pandas DataFrame, plotly Figure
            html = value.to_html()
        elif hasattr(value, "savefig"):
            buf = io.StringIO()
            value.savefig(buf, format="svg")
            html = f"<!DOCTYPE html>\n<html><body>{buf.getvalue()}</body></html>"
        else:
            raise TypeError(f"as_html takes a DataFrame or a figure, not {type(value).__name__}")
        return cls(content=html.encode(), extension="html")

    @classmethod
    def create_from(cls, value: Any) -> File:
        """A file from what ``upload`` takes: a path, a figure, an image, an array or a DataFrame."""
        if isinstance(value, File):
            return value
        if isinstance(value, (str, os.PathLike)):
            return cls(path=value)
        if hasattr(value, "to_html"):
            return cls.as_html(value)
        return cls.as_image(value)

    @classmethod
    def as_pickle(cls, obj: Any) -> File:
        """The pickle of ``obj`` (extension ``pkl``)."""
        return cls(content=pickle.dumps(obj), extension="pkl")

    def to_naiad(self, stem: str) -> NaiadFile:
        """This file as a :class:`naiad.File` named ``<stem>.<extension>``."""
        name = f"{stem}.{self.extension}" if self.extension else stem
        if self.path is not None:
            return NaiadFile(self.path, name=Path(self.path).name if not self.extension else name)
        return NaiadFile(self.content or b"", name=name)


class GitRef:
    """Where ``init_run(git_ref=...)`` reads git facts; ``GitRef.DISABLED`` turns them off.

    naiad reads git in the working directory; ``repository_path`` is accepted.
    """

    DISABLED: GitRef

    def __init__(self, repository_path: str | os.PathLike[str] | None = None) -> None:
        self.repository_path = repository_path


GitRef.DISABLED = GitRef()


class FileSet:
    """Several files (paths or globs) for ``upload_files``."""

    def __init__(self, file_globs: str | list[str]) -> None:
        self.file_globs = [file_globs] if isinstance(file_globs, str) else list(file_globs)


def _png(image: Any) -> bytes:
    if hasattr(image, "savefig"):  # matplotlib figure
        buf = io.BytesIO()
        image.savefig(buf, format="png")
        return buf.getvalue()
    if hasattr(image, "save") and hasattr(image, "mode"):  # PIL image
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        return buf.getvalue()
    detach = getattr(image, "detach", None)  # a torch tensor that requires grad
    if detach is not None:
        image = detach().cpu()
    tolist = getattr(image, "tolist", None)  # numpy arrays, torch tensors
    shape = tuple(getattr(image, "shape", ()))
    if tolist is None or not shape:
        raise TypeError(f"as_image takes a PIL image, a figure or an array, not {type(image).__name__}")
    rows = tolist()
    if len(shape) == 3 and shape[0] in (1, 3, 4) and shape[2] not in (1, 3, 4):
        # channels first (CxHxW, torch's layout) → HxWxC
        rows = [[[rows[c][y][x] for c in range(shape[0])] for x in range(shape[2])] for y in range(shape[1])]
    return _encode_png(rows)


def _encode_png(rows: list[Any]) -> bytes:
    """A PNG of nested lists: HxW (grey), HxWx1, HxWx3 (RGB) or HxWx4 (RGBA).

    Floats are read as Neptune read them, in [0, 1], and scaled to 0-255; ints as 0-255.
    """
    if not rows or not isinstance(rows[0], list) or not rows[0]:
        raise ValueError("as_image takes a 2-D (HxW) or 3-D (HxWxC) array")
    first = rows[0][0]
    channels = len(first) if isinstance(first, list) else 0
    colour = {0: 0, 1: 0, 3: 2, 4: 6}.get(channels)
    if colour is None:
        raise ValueError(f"as_image takes 1, 3 or 4 channels, not {channels}")
    flat = [v for row in rows for px in row for v in (px if isinstance(px, list) else [px])]
    scale = 255 if any(isinstance(v, float) for v in flat) else 1
    raw = bytearray()
    for row in rows:
        raw.append(0)  # filter type: none
        for px in row:
            for v in px if isinstance(px, list) else [px]:
                raw.append(max(0, min(255, round(v * scale))))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", len(rows[0]), len(rows), 8, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(raw)))
        + chunk(b"IEND", b"")
    )
