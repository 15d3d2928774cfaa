"""Reading a run back through the store seam: fields as a tree, structure, existence.

Series reads (``fetch_values``, downloads) live on :class:`naiad._handle.Handle`; both
flush the run's own queue first (``_sync_reads``), so a run reads back what it just wrote.
"""

from __future__ import annotations

from typing import Any

from ._engine import Engine
from ._read import nested


class RunReads(Engine):
    """The read half of :class:`naiad.Run`."""

    def fetch(self) -> dict[str, Any]:
        """Every field as a nested dict: atoms' values, series' last values, file metadata."""
        return self._fetch_tree("")

    def exists(self, path: str) -> bool:
        """True when ``path`` is a field or a namespace of this run."""
        norm = self._f.path(path)
        return norm in self._f.types or norm in self._f.namespaces

    def get_structure(self) -> dict[str, Any]:
        """The tree of namespaces, with each field's type name at the leaves."""
        return nested((path, ftype.label) for path, ftype in sorted(self._f.types.items()))

    def __contains__(self, path: str) -> bool:
        return self.exists(path)
