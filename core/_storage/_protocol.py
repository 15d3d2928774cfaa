"""The seam between naiad and a storage backend: a few primitives, convenience lives above.

A backend stores runs, their fields (atoms and the head of each series), packed chunks of
float series, rows of other series, and content-addressed file blobs. Every write of one
batch is one transaction: a reader sees all of it or none of it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Protocol

# Ops inside a Batch, applied in order within one transaction.
#   ("assign", path, type, value)             set an atom (create or overwrite, same type)
#   ("delete", path)                          delete a field, or every field under a namespace
#   ("set_add" | "set_remove", path, items)   change a StringSet
#   ("set_clear", path)
#   ("floats", path, steps, values, stamps)   append to a float series (array('q'/'d'/'d'))
#   ("points", path, type, rows)              append (step, ts, value) rows to another series
#   ("incr", path, amount)                    add to an Integer field (sys/size)
Op = tuple[Any, ...]


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """What a process asks for when it opens a run (create, or resume when it exists)."""

    project: str
    custom_id: str
    experiment: str | None
    fork_parent: str | None
    fork_step: int | None  # whole number of steps
    creation_time: float  # epoch seconds
    owner: str
    hostname: str
    tags: tuple[str, ...] = ()
    description: str | None = None
    inherit_configs: bool = True
    allow_missing_parent: bool = False  # offline: record the requested parent only


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """A run as the store knows it."""

    pk: int
    project: str
    custom_id: str
    sys_id: str
    experiment: str | None
    parent_pk: int | None
    fork_step: int | None  # fixed point, like every stored step
    depth: int
    created: bool = False  # True when open_run created it just now


@dataclasses.dataclass(frozen=True)
class FieldRecord:
    """One field: its type, its value (atoms) or last value (series), last step, count."""

    path: str
    type: int
    value: Any
    step: int | None
    count: int


@dataclasses.dataclass(frozen=True)
class Chunk:
    """A packed run of float-series points: int64 fixed-point steps, float64 values and times."""

    first_step: int
    last_step: int
    count: int
    steps: bytes
    values: bytes
    stamps: bytes


class Store(Protocol):
    """A storage backend. Implementations: :class:`naiad._storage._sqlite.SqliteStore`."""

    uri: str
    root: Path | None

    def open_run(self, spec: RunSpec) -> RunRecord: ...
    def find_run(self, project: str, custom_id: str) -> RunRecord | None: ...
    def get_run(self, pk: int) -> RunRecord: ...
    def open_session(self, run_pk: int, host: str, pid: int, now: float) -> int: ...
    def ping(self, session: int, now: float, closing: bool = False) -> None: ...
    def write_batch(self, run_pk: int, ops: Sequence[Op]) -> list[str]: ...
    def fields(self, run_pk: int, prefix: str | None = None) -> list[FieldRecord]: ...
    def field(self, run_pk: int, path: str) -> FieldRecord | None: ...
    def chunks(self, run_pk: int, path: str, max_step: int | None) -> list[Chunk]: ...
    def points(self, run_pk: int, path: str, max_step: int | None) -> list[tuple[int, float, Any]]: ...
    def last_point_before(self, run_pk: int, path: str, max_step: int
                          ) -> tuple[int, Any] | None: ...
    def run_state(self, run_pk: int, now: float) -> tuple[str, float | None]: ...
    def children(self, run_pk: int) -> list[RunRecord]: ...
    def put_blob(self, source: Path | bytes | BinaryIO) -> tuple[str, int]: ...
    def open_blob(self, sha256: str) -> BinaryIO: ...
    def blob_exists(self, sha256: str) -> bool: ...
    def iter_runs(self, project: str | None = None) -> Iterator[RunRecord]: ...
    def close(self) -> None: ...
