"""Value objects exchanged with a storage backend, and the ops a batch is made of."""

from __future__ import annotations

import dataclasses
from typing import Any

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
