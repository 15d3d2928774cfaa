"""Path rules: ``/``-separated, no empty/blank/``.``/``..`` segment, at most 1024 UTF-8 bytes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import cast

from .errors import PathError

MAX_PATH_BYTES = 1024


def check_path(path: object) -> str:
    """Return ``path`` normalized (one leading ``/`` stripped), or raise :class:`PathError`."""
    if not isinstance(path, str):
        raise PathError(f"A path must be a str, not {type(path).__name__}: {path!r}.", None)
    norm = path[1:] if path.startswith("/") else path
    if not norm:
        raise PathError("A path cannot be empty.", path)
    if len(norm.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        raise PathError(f"Path {norm[:60]!r}... is longer than {MAX_PATH_BYTES} bytes in UTF-8.", path)
    for segment in norm.split("/"):
        if not segment:
            raise PathError(f"Path {path!r} has an empty segment (a doubled or trailing '/').", path)
        if segment.isspace():
            raise PathError(f"Path {path!r} has a segment that is only whitespace.", path)
        if segment in (".", ".."):
            raise PathError(f"Path {path!r} has a {segment!r} segment; paths are not relative.", path)
    try:
        norm.encode("utf-8")
    except UnicodeEncodeError:
        raise PathError(f"Path {path!r} is not valid Unicode (lone surrogate).", path) from None
    return norm


def join(prefix: str, key: object) -> str:
    """Join a namespace prefix and a dict key (keys may themselves contain ``/``)."""
    if not isinstance(key, str):
        raise PathError(f"Namespace keys must be str, not {type(key).__name__}: {key!r}.", None)
    return f"{prefix}/{key}" if prefix else key


@lru_cache(maxsize=1 << 16)  # asked several times per new path while a call is validated
def prefixes(path: str) -> tuple[str, ...]:
    """The namespaces that contain ``path``: ``a/b/c`` → ``('a', 'a/b')``."""
    parts = path.split("/")
    return tuple("/".join(parts[:i]) for i in range(1, len(parts)))


_BLANK_SEGMENT = re.compile(r"/\s+/")  # \s is str.isspace for str patterns


def all_plain(paths: Sequence[object]) -> bool:
    """True when every one of ``paths`` is a str that :func:`check_path` returns unchanged.

    The check of a big call (a million keys) done on one joined string, in C: a False asks the
    caller to check path by path, which finds the first bad path and says what is wrong.
    """
    if not paths:
        return True
    if {*map(type, paths)} != {str}:
        return False
    strings = cast("Sequence[str]", paths)
    wrapped = "/" + "/".join(strings) + "/"  # joined by "/": a path's boundaries are segment ends
    if "//" in wrapped or "/./" in wrapped or "/../" in wrapped or _BLANK_SEGMENT.search(wrapped):
        return False  # an empty path, a leading or trailing or doubled "/", a bad segment
    longest = max(map(len, strings))
    if wrapped.isascii():
        return longest <= MAX_PATH_BYTES
    try:
        wrapped.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate somewhere
        return False
    return longest * 4 <= MAX_PATH_BYTES  # at most 4 bytes a character; longer ones path by path
