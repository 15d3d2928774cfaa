"""Value objects exchanged with a storage backend, and the typed ops a batch is made of.

Ops are frozen, slotted dataclasses applied in order within one transaction. The per-point
hot path stays cheap because one :class:`Floats` op carries the columns of many points of
one path (``array('q')`` fixed-point steps, ``array('d')`` values and timestamps). A wide call
is one bulk op, which a store may write with one statement: :class:`FloatRow` (a step of many
float series) and :class:`Assigns` (many atoms).
"""

from __future__ import annotations

import dataclasses
import sys
from array import array
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .._filter import Node

_SWAP = sys.byteorder != "little"  # chunk columns are little-endian on every host


@dataclasses.dataclass(frozen=True, slots=True)
class Assign:
    """Set an atom (create, or overwrite one of the same type)."""

    path: str
    type: int
    value: Any


@dataclasses.dataclass(frozen=True, slots=True)
class Delete:
    """Delete a field, or every field under a namespace."""

    path: str


@dataclasses.dataclass(frozen=True, slots=True)
class SetChange:
    """Add items to, remove items from, or clear a StringSet."""

    path: str
    kind: Literal["add", "remove", "clear"]
    items: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Floats:
    """Append points to a float series: fixed-point steps, values, epoch-second timestamps."""

    path: str
    steps: array[int]
    values: array[float]
    stamps: array[float]


@dataclasses.dataclass(frozen=True, slots=True)
class Points:
    """Append ``(step, timestamp, stored value)`` rows to a series other than a float series."""

    path: str
    type: int
    rows: list[tuple[int, float, Any]]


@dataclasses.dataclass(frozen=True, slots=True)
class Incr:
    """Add ``amount`` to an Integer field (``sys/size``)."""

    path: str
    amount: int


@dataclasses.dataclass(frozen=True, slots=True)
class FloatRow:
    """One point of each of many float series, all at one step and time: a call that logs a
    million keys is one op, which a store may write in bulk, not a million :class:`Floats`."""

    paths: Sequence[str]
    step: int
    stamp: float
    values: array[float]

    def floats(self) -> list[Floats]:
        """The same points as one :class:`Floats` op per path."""
        steps, stamps = array("q", [self.step]), array("d", [self.stamp])
        return [Floats(p, steps, array("d", [v]), stamps) for p, v in zip(self.paths, self.values)]


@dataclasses.dataclass(frozen=True, slots=True)
class Assigns:
    """Set many atoms (a call that logs a million configs) as one op: an :class:`Assign` per
    path, each ``types[i]`` and ``values[i]``."""

    paths: Sequence[str]
    types: Sequence[int]
    values: Sequence[Any]

    def assigns(self) -> list[Assign]:
        """The same writes as one :class:`Assign` op per path."""
        return list(map(Assign, self.paths, self.types, self.values))


Op = Assign | Assigns | Delete | SetChange | Floats | FloatRow | Points | Incr


def expand_bulk(ops: Sequence[Op]) -> Sequence[Op]:
    """``ops`` with every bulk op (:class:`FloatRow`, :class:`Assigns`) as its single ops, for a
    store that writes each field on its own anyway."""
    if not any(type(op) is FloatRow or type(op) is Assigns for op in ops):
        return ops
    out: list[Op] = []
    for op in ops:
        if isinstance(op, FloatRow):
            out.extend(op.floats())
        elif isinstance(op, Assigns):
            out.extend(op.assigns())
        else:
            out.append(op)
    return out


@dataclasses.dataclass(frozen=True)
class Heartbeat:
    """A session's heartbeat, recorded in the same transaction as a batch."""

    session: int
    now: float
    closing: bool = False


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """What a process asks for when it opens a run (create, or resume when it exists)."""

    project: str
    custom_id: str
    experiment: str | None
    fork_parent: str | None
    fork_step: int | float | None  # whole, except a fractional fork an import rebuilds (80.5)
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
    """A packed run of float-series points: int64 fixed-point steps, float64 values and times,
    each column stored as ``codec`` says (:mod:`._codec`: 0 raw little-endian items)."""

    first_step: int
    last_step: int
    count: int
    steps: bytes
    values: bytes
    stamps: bytes
    codec: int = 0


def pack(values: array[Any]) -> bytes:
    """An array as a chunk column stores it: raw little-endian items, whatever the host."""
    if _SWAP:  # pragma: no cover - big-endian hosts only
        values = array(values.typecode, values)
        values.byteswap()
    return values.tobytes()


def unpack(typecode: str, data: bytes) -> array[Any]:
    """The array a chunk column (see :func:`pack`) holds."""
    out = array(typecode)
    out.frombytes(data)
    if _SWAP:  # pragma: no cover
        out.byteswap()
    return out


@dataclasses.dataclass(frozen=True)
class RunSelection:
    """Which runs a query reads; each backend compiles it (and its filter tree) its own way.

    ``heads``: experiment heads only, labelled by experiment name (else runs, by run id).
    ``names``: an exact name, a list of exact names, or (``names_regex``) a regular
    expression searched in the label. ``trashed``: False leaves trashed runs out, True keeps
    only them, None keeps all. ``sort_by`` a field path (or ``sys/state``), else creation order.
    """

    project: str
    heads: bool = False
    names: tuple[str, ...] | None = None
    names_regex: str | None = None
    filter: Node | None = None
    trashed: bool | None = False
    sort_by: str | None = None
    ascending: bool = True
    limit: int | None = None
    experiments: tuple[str, ...] | None = None  # restrict to runs of these experiments


@dataclasses.dataclass(frozen=True)
class StoreStats:
    """What ``naiad store info`` reports about a store."""

    location: str
    schema_version: int
    projects: dict[str, int]
    runs: int
    trashed_runs: int
    fields: int
    points: int
    database_bytes: int
    files_bytes: int


@dataclasses.dataclass(frozen=True, slots=True)
class SavedView:
    """A named page address of the UI, kept per project in the store (never evaluated)."""

    project: str
    name: str
    url: str
    saved: float  # seconds since the epoch
