"""Field types and the conversion of user values into storable ones.

A value is classified once, in the calling thread, into a :class:`FieldType` and a plain
Python value the store can take. Nothing here imports numpy or torch: their scalars are
recognised by duck typing (``.item()`` on a zero-dimensional object).
"""

from __future__ import annotations

import dataclasses
import enum
import math
import struct
import sys
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from ._paths import join
from .errors import FieldValueError

MAX_STRING_BYTES = 64 * 1024
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
STEP_SCALE = 1_000_000  # steps are stored in fixed point with 1e-6 resolution
MAX_STEP = 10**12


class FieldType(enum.IntEnum):
    """The type a field is locked to at its first write."""

    FLOAT = 1
    INTEGER = 2
    BOOLEAN = 3
    STRING = 4
    DATETIME = 5
    STRING_SET = 6
    FLOAT_SERIES = 7
    STRING_SERIES = 8
    FILE = 9
    FILE_SERIES = 10
    ARTIFACT = 11
    HISTOGRAM_SERIES = 12

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def is_series(self) -> bool:
        return self in _SERIES

    @property
    def is_atom(self) -> bool:
        """A single value (not a series): what a fork copies and a runs table shows."""
        return self not in _SERIES

    @property
    def is_value(self) -> bool:
        """An atom holding a plain value (not a file or artifact): a table cell, a hyperparameter."""
        return self.is_atom and self not in (FieldType.FILE, FieldType.ARTIFACT)


_LABELS = {
    FieldType.FLOAT: "Float",
    FieldType.INTEGER: "Integer",
    FieldType.BOOLEAN: "Boolean",
    FieldType.STRING: "String",
    FieldType.DATETIME: "Datetime",
    FieldType.STRING_SET: "StringSet",
    FieldType.FLOAT_SERIES: "FloatSeries",
    FieldType.STRING_SERIES: "StringSeries",
    FieldType.FILE: "File",
    FieldType.FILE_SERIES: "FileSeries",
    FieldType.ARTIFACT: "Artifact",
    FieldType.HISTOGRAM_SERIES: "HistogramSeries",
}
_SERIES = {
    FieldType.FLOAT_SERIES,
    FieldType.STRING_SERIES,
    FieldType.FILE_SERIES,
    FieldType.HISTOGRAM_SERIES,
}


@dataclasses.dataclass(frozen=True)
class stringify:  # noqa: N801 - named like a function, as users call it
    """Wrap a value so that it is stored as ``str(value)``.

    Example:
        >>> run["model/activation"] = stringify(torch.nn.GELU())  # doctest: +SKIP
    """

    value: Any


@dataclasses.dataclass(frozen=True)
class Histogram:
    """One histogram: ``bin_edges`` (n+1 values) and either ``counts`` or ``densities`` (n).

    Example:
        >>> Histogram(bin_edges=[0, 1, 2], counts=[3, 4])
        Histogram(bin_edges=(0.0, 1.0, 2.0), counts=(3, 4), densities=None)
    """

    bin_edges: Any
    counts: Any = None
    densities: Any = None

    def __post_init__(self) -> None:
        edges = tuple(float(x) for x in _tolist(self.bin_edges))
        if (self.counts is None) == (self.densities is None):
            raise FieldValueError("A Histogram takes either counts or densities, not both or neither.")
        if self.counts is not None:
            counts: tuple[Any, ...] = tuple(int(x) for x in _tolist(self.counts))
            object.__setattr__(self, "counts", counts)
        else:
            counts = tuple(float(x) for x in _tolist(self.densities))
            object.__setattr__(self, "densities", counts)
        if len(edges) != len(counts) + 1:
            raise FieldValueError(
                f"A Histogram needs one more bin edge than bins: got {len(edges)} edges "
                f"for {len(counts)} bins."
            )
        object.__setattr__(self, "bin_edges", edges)

    def to_json(self) -> dict[str, Any]:
        return {
            "bin_edges": list(self.bin_edges),
            "counts": _list(self.counts),
            "densities": _list(self.densities),
        }


def _list(x: Any) -> Any:
    return None if x is None else list(x)


def _tolist(x: Any) -> Iterable[Any]:
    out: Iterable[Any] = x.tolist() if hasattr(x, "tolist") else x
    return out


def unwrap_scalar(value: Any) -> Any:
    """numpy / torch scalars (and 0-d arrays or tensors) → the Python scalar they hold."""
    t = type(value)
    if t.__module__.split(".", 1)[0] in ("numpy", "torch", "jax", "jaxlib"):
        item = getattr(value, "item", None)
        shape = getattr(value, "shape", ())
        if item is not None and tuple(shape) == ():
            out = item()
            if getattr(getattr(value, "dtype", None), "kind", "") in ("m", "M") and not isinstance(
                out, datetime
            ):
                return value  # datetime64[ns] or a timedelta: item() is a bare int, not a time
            return out
    return value


def float_bits(value: float) -> float | bytes:
    """A float as the store keeps it: itself, or its 8 bytes when NaN (SQLite turns NaN to NULL)."""
    return struct.pack(">d", value) if value != value else value


def float_from_store(stored: float | bytes | int) -> float:
    if isinstance(stored, bytes):
        return float(struct.unpack(">d", stored)[0])
    return float(stored)


def to_float(path: str, value: Any) -> float:
    """A series point's value as a float; ints are widened, bools and others refused."""
    value = unwrap_scalar(value)
    if type(value) is float:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FieldValueError(
            f"Series '{path}' takes numbers; got {type(value).__name__} {_short(value)}.", path
        )
    try:
        return float(value)
    except OverflowError:
        raise FieldValueError(
            f"Value {_short(value)} for '{path}' is too large for a float64 series.", path
        ) from None


def check_string(path: str, value: str) -> str:
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise FieldValueError(f"String for '{path}' is not valid Unicode (lone surrogate).", path) from None
    if size > MAX_STRING_BYTES:
        raise FieldValueError(
            f"String for '{path}' is {size} bytes in UTF-8; the limit is {MAX_STRING_BYTES} "
            "bytes. Upload long text as a file instead.",
            path,
        )
    return value


def to_micros(path: str, value: datetime) -> int:
    """Datetime → microseconds since the epoch, UTC. Naive datetimes are local time."""
    if type(value) is not datetime and hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()  # pandas.Timestamp: its naive astimezone() takes no default
    try:  # it must exist in UTC, or it could never be read back
        value = (value if value.tzinfo is not None else value.astimezone()).astimezone(timezone.utc)
        delta = value - datetime(1970, 1, 1, tzinfo=timezone.utc)
    except (OverflowError, ValueError, TypeError) as e:  # datetime.min in local time, year 10000 in UTC
        raise FieldValueError(
            f"Datetime {_short(value)} for '{path}' cannot be stored in UTC: {e}.", path
        ) from None
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    from datetime import timedelta

    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=micros)


def fixed_step(path: str, step: Any) -> int:
    """A step as the fixed-point integer the store keeps, or :class:`StepOrderError`-free check."""
    from .errors import StepOrderError

    s = unwrap_scalar(step)
    if isinstance(s, bool) or not isinstance(s, (int, float)):
        raise StepOrderError(
            f"Step for '{path}' must be a number, not {type(step).__name__} {_short(step)}.",
            path,
            math.nan,
            None,
        )
    if not (0 <= s < MAX_STEP):  # NaN fails this too
        raise StepOrderError(
            f"Step {s!r} for '{path}' is out of range: steps are numbers with 0 <= step < 1e12.",
            path,
            float(s),
            None,
        )
    return s * STEP_SCALE if type(s) is int else round(s * STEP_SCALE)


def step_value(fixed: int) -> float:
    """A stored fixed-point step as the step the user logged."""
    return fixed / STEP_SCALE


def whole_step_fixed(step: int) -> int:
    """A whole-number step (fork steps, ``log_metrics(step=int)``) in the fixed-point scale."""
    return step * STEP_SCALE


def fixed_fork_step(step: int | float) -> int:
    """A fork step in the fixed-point scale: whole (``Run(fork_step=10)``) or fractional (an
    imported Neptune fork at 80.5), exact at the store's 1e-6 resolution."""
    return step * STEP_SCALE if type(step) is int else round(step * STEP_SCALE)


def fork_step_of_fixed(fixed: int) -> int | float:
    """A stored fork step as the step a ``RunSpec`` takes: an int when whole, else a float."""
    whole, frac = divmod(fixed, STEP_SCALE)
    return int(whole) if not frac else fixed / STEP_SCALE


def next_whole_step(fixed: int) -> int:
    """The first whole step after the stored step ``fixed`` (fixed point)."""
    return int(fixed // STEP_SCALE + 1) * STEP_SCALE


def epoch_micros(seconds: float) -> int:
    """Epoch seconds as the microseconds a Datetime field stores."""
    return round(seconds * 1_000_000)


def classify(
    path: str, value: Any, cast_unsupported: bool, *, in_config: bool = False
) -> tuple[FieldType, Any]:
    """Classify an atom value: (type, storable value). Raises :class:`FieldValueError`."""
    value = unwrap_scalar(value)
    if isinstance(value, stringify):
        return FieldType.STRING, check_string(path, str(value.value))
    if isinstance(value, bool):
        return FieldType.BOOLEAN, value
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise FieldValueError(
                f"Integer {_short(value)} for '{path}' is outside the int64 range; "
                "store it as a string (stringify(value)) or a float (float(value)).",
                path,
            )
        return FieldType.INTEGER, int(value)
    if isinstance(value, float):
        return FieldType.FLOAT, float(value)
    if isinstance(value, str):
        return FieldType.STRING, check_string(path, value)
    if isinstance(value, datetime):
        return FieldType.DATETIME, to_micros(path, value)
    if isinstance(value, (set, frozenset)) or (
        isinstance(value, (list, tuple)) and all(isinstance(x, str) for x in value)
    ):
        items = [unwrap_scalar(x) for x in value]
        if all(isinstance(x, str) for x in items):
            return FieldType.STRING_SET, sorted({check_string(path, x) for x in items})
    if cast_unsupported:
        return FieldType.STRING, check_string(path, str(value))
    raise FieldValueError(
        f"Cannot store a value of type {type(value).__name__} at '{path}': {_short(value)}. "
        "Pass cast_unsupported=True (or wrap it in naiad.stringify(...)) to store str(value).",
        path,
    )


def _is_argparse_namespace(value: Any) -> bool:
    argparse = sys.modules.get("argparse")  # not imported: cannot be one (saves import time)
    return argparse is not None and isinstance(value, argparse.Namespace)


def is_namespace_value(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        or _is_argparse_namespace(value)
        or (
            dataclasses.is_dataclass(value)
            and not isinstance(value, type)
            and not isinstance(value, (stringify, Histogram))
        )
    )


def namespace_items(value: Any) -> Iterable[tuple[Any, Any]]:
    if isinstance(value, Mapping):
        return value.items()
    if _is_argparse_namespace(value):
        attributes: dict[str, Any] = vars(value)
        return attributes.items()
    return ((f.name, getattr(value, f.name)) for f in dataclasses.fields(value))


_LEAVES = frozenset({float, int, str, bool, type(None)})  # never a namespace: skip the test


def flatten(
    prefix: str, value: Any, depth: int = 0, out: list[tuple[str, Any]] | None = None
) -> list[tuple[str, Any]]:
    """Walk dicts, ``argparse.Namespace`` and dataclasses into (path, leaf) pairs."""
    if depth > 512:
        raise FieldValueError(f"Namespace at '{prefix}' is nested more than 512 levels deep.", prefix)
    found: list[tuple[str, Any]] = [] if out is None else out
    for key, sub in namespace_items(value):
        path = f"{prefix}/{key}" if prefix and type(key) is str else join(prefix, key)
        if type(sub) in _LEAVES or not is_namespace_value(sub):
            found.append((path, sub))
        else:
            flatten(path, sub, depth + 1, found)
    return found


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def step_text(fixed: int) -> str:
    """A fixed-point step as exact text (``1000001``, ``2.5``): no two steps share one name."""
    whole, frac = divmod(fixed, STEP_SCALE)
    return str(whole) if not frac else f"{whole}.{frac:06d}".rstrip("0")
