"""``neptune_scale.types``: :class:`File` and :class:`Histogram`, by the same names and fields.

numpy is not imported here: arrays (numpy, torch, anything with ``tolist()``) are read by
duck typing when the value is logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["File", "Histogram"]


@dataclass
class File:
    """A file for ``assign_files`` / ``log_files``, with what Neptune let you say about it.

    Args:
        source: a path (``str`` or ``Path``), the content as ``bytes``, or a binary file object.
        mime_type: stored as the file's MIME type (default: guessed from the name).
        size: accepted; naiad stores the size it measured.
        destination: Neptune's object-storage key; naiad keeps its last segment as the
            file's name (files are stored content-addressed, never under a given path).

    Example:
        >>> File(source=b"a,b\\n1,2\\n", mime_type="text/csv")
        File(source=b'a,b\\n1,2\\n', mime_type='text/csv', size=None, destination=None)
    """

    source: str | Path | bytes | Any
    mime_type: str | None = field(default=None)
    size: int | None = field(default=None)
    destination: str | None = field(default=None)


def _as_list(values: Any, what: str) -> list[Any]:
    if isinstance(values, (list, tuple)):
        return list(values)
    tolist = getattr(values, "tolist", None)  # numpy arrays, torch tensors
    if tolist is None:
        raise TypeError(f"{what} must be of type list or an array (numpy, torch), got {type(values)}")
    out = tolist()
    if not isinstance(out, list):
        raise TypeError(f"{what} must be a one-dimensional array, got a zero-dimensional {type(values)}")
    return out


@dataclass
class Histogram:
    """A histogram with explicit bin edges: ``bin_edges`` (n+1) and ``counts`` or ``densities`` (n).

    Lists, numpy arrays and torch tensors are taken as they are.

    Example:
        >>> Histogram(bin_edges=[0, 1, 10], counts=[3, 4]).counts_as_list()
        [3, 4]
    """

    bin_edges: Any
    counts: Any = None
    densities: Any = None

    def bin_edges_as_list(self) -> list[Any]:
        return _as_list(self.bin_edges, "Bin edges")

    def counts_as_list(self) -> list[Any]:
        return _as_list(self.counts, "Counts")

    def densities_as_list(self) -> list[Any]:
        return _as_list(self.densities, "Densities")
