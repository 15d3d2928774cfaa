"""Helpers for testing code that logs with naiad: throwaway stores and exact read-backs.

:class:`MemoryStore` is a storage backend held in memory (the second implementation of
the store seam, :mod:`naiad._storage._protocol`), for tests of code that talks to a store.

Example:
    >>> from naiad.testing import temporary_store, series
    >>> with temporary_store() as store:  # doctest: +SKIP
    ...     with naiad.Run(store=store, run_id="t") as run:
    ...         run.log_metrics({"loss": 0.5}, step=1)
    ...     assert series(store, "t", "loss") == [(1.0, 0.5)]
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ._run import Run
from ._storage._memory import MemoryStore

__all__ = ["MemoryStore", "fields", "read_run", "series", "temporary_store"]


@contextlib.contextmanager
def temporary_store() -> Iterator[Path]:
    """A fresh store directory, deleted (with everything in it) on exit."""
    root = Path(tempfile.mkdtemp(prefix="naiad-test-"))
    try:
        yield root / "store"
    finally:
        shutil.rmtree(root, ignore_errors=True)


def read_run(store: str | os.PathLike[str], run_id: str, project: str | None = None) -> Run:
    """Open a run read-only (the caller's writers may still be running)."""
    return Run(run_id=run_id, store=store, project=project, mode="read-only")


def series(
    store: str | os.PathLike[str], run_id: str, path: str, *, lineage: bool = True, project: str | None = None
) -> list[tuple[float, Any]]:
    """A series as a list of (step, value), stitched along the fork lineage by default."""
    df = read_run(store, run_id, project)[path].fetch_values(
        include_timestamp=False, lineage_to_the_root=lineage
    )
    return list(zip(df["step"].tolist(), df["value"].tolist()))


def fields(store: str | os.PathLike[str], run_id: str, project: str | None = None) -> dict[str, Any]:
    """Every field of a run as a flat ``{path: value}`` dict (series: their last value)."""
    out: dict[str, Any] = {}

    def walk(prefix: str, node: dict[str, Any]) -> None:
        for key, value in node.items():
            path = f"{prefix}/{key}" if prefix else key
            if isinstance(value, dict) and path not in typed:
                walk(path, value)
            else:
                out[path] = value

    run = read_run(store, run_id, project)
    typed = {p for p, _ in _flat_types(run.get_structure())}
    walk("", run.fetch())
    return out


def _flat_types(tree: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    for key, value in tree.items():
        path = f"{prefix}/{key}" if prefix else key
        if isinstance(value, dict):
            yield from _flat_types(value, path)
        else:
            yield path, value
