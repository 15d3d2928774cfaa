"""The wire format of the HTTP store: the seam's values as plain JSON, and their type checks.

Both ends (:mod:`._http` and :mod:`naiad._server`) speak it. JSON carries ``None``, bools,
ints, finite floats, strings and lists as they are; everything else is a one-key tagged
object: ``{"$f": "nan"}`` (non-finite floats), ``{"$b": base64}`` (bytes), ``{"$t": [...]}``
(tuples), ``{"$s": [...]}`` (sets), ``{"$m": [[k, v], ...]}`` (dicts), ``{"$a": "q", "b":
base64}`` (arrays, little-endian), ``{"$r": "Assign", "v": {...}}`` (the seam's records).
Decoding builds only the records named in :data:`RECORDS`, never an arbitrary class, and
:func:`conforms` checks a decoded value against a type hint of the Protocol before the
server calls the store with it.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import sys
import types
import typing
from array import array
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .._filter import And, Compare, Exists, Node, Not, Or, Term
from ..errors import StorageError
from ._records import (
    Assign,
    Assigns,
    Chunk,
    Delete,
    FieldRecord,
    FloatRow,
    Floats,
    Heartbeat,
    Incr,
    Points,
    RunRecord,
    RunSelection,
    RunSpec,
    SavedView,
    SetChange,
    StoreStats,
    pack,
    unpack,
)
from ._summary import ChunkSummary
from ._text_chunks import TextChunk

RECORDS: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        Assign, Assigns, Delete, SetChange, Floats, FloatRow, Points, Incr, Heartbeat, RunSpec, RunRecord,
        FieldRecord, Chunk, ChunkSummary, TextChunk, RunSelection, StoreStats, SavedView, Term, Compare,
        Exists, Not, And, Or,
    )
}  # fmt: skip
WIRE_TYPE = "application/x-naiad-wire+json"
_TYPECODES = ("q", "d")
_MAX_DEPTH = 64  # filter trees nest; deeper input is refused, not recursed into


class WireError(StorageError, ValueError):
    """A request or answer that is not valid in the wire format (the other end's bug, or a
    hand-made request)."""


def dumps(value: Any) -> bytes:
    """``value`` as UTF-8 JSON of the wire format."""
    return json.dumps(encode(value), separators=(",", ":"), allow_nan=False).encode("utf-8")


def loads(data: bytes) -> Any:
    """The value of a wire-format JSON document; WireError when it is not one."""
    try:
        raw = json.loads(data)
    except (ValueError, RecursionError) as e:
        raise WireError(f"not JSON: {e}") from None
    return decode(raw)


def encode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$f": repr(value)}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$b": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, tuple):
        return {"$t": [encode(v) for v in value]}
    if isinstance(value, (set, frozenset)):
        return {"$s": [encode(v) for v in value]}
    if isinstance(value, dict):
        return {"$m": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, array):
        if value.typecode not in _TYPECODES:
            raise WireError(f"array of type {value.typecode!r} has no wire form")
        return {"$a": value.typecode, "b": base64.b64encode(pack(value)).decode("ascii")}
    name = type(value).__name__
    if RECORDS.get(name) is type(value):
        fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"$r": name, "v": fields}
    raise WireError(f"{type(value).__name__} has no wire form")


def decode(raw: Any, depth: int = 0) -> Any:
    if depth > _MAX_DEPTH:
        raise WireError(f"nested deeper than {_MAX_DEPTH} levels")
    if raw is None or isinstance(raw, (bool, int, str, float)):
        return raw
    if isinstance(raw, list):
        return [decode(v, depth + 1) for v in raw]
    if not isinstance(raw, dict) or len(raw) not in (1, 2):
        raise WireError("an object that is not a tagged value")
    try:
        if "$f" in raw:
            text = str(raw["$f"])
            if text not in ("nan", "inf", "-inf"):
                raise WireError(f"not a non-finite float: {text!r}")
            return float(text)
        if "$b" in raw:
            return base64.b64decode(str(raw["$b"]), validate=True)
        if "$t" in raw:
            return tuple(decode(v, depth + 1) for v in _list(raw["$t"]))
        if "$s" in raw:
            return {decode(v, depth + 1) for v in _list(raw["$s"])}
        if "$m" in raw:
            return {decode(k, depth + 1): decode(v, depth + 1) for k, v in _list(raw["$m"])}
        if "$a" in raw:
            code = raw["$a"]
            if code not in _TYPECODES:
                raise WireError(f"array of type {code!r} has no wire form")
            return unpack(code, base64.b64decode(str(raw["b"]), validate=True))
        if "$r" in raw:
            cls = RECORDS.get(str(raw["$r"]))
            values = raw.get("v")
            if cls is None or not isinstance(values, dict):
                raise WireError(f"unknown record {raw['$r']!r}")
            args = {str(k): decode(v, depth + 1) for k, v in values.items()}
            record = cls(**args)
            for name, hint in _hints(cls).items():
                if not conforms(getattr(record, name), hint):
                    raise WireError(f"{cls.__name__}.{name} is not a {_name(hint)}")
            return record
    except WireError:
        raise
    except (TypeError, ValueError, KeyError) as e:  # wrong fields, bad base64, odd buffer size
        raise WireError(f"malformed tagged value: {e}") from None
    raise WireError(f"unknown tag in {sorted(raw)}")


def _list(raw: Any) -> list[Any]:
    if not isinstance(raw, list):
        raise WireError("a tagged value whose content is not a list")
    return raw


class _ArrayHint:
    """Stands for ``array[...]`` in hints (``array.array`` is not subscriptable before 3.12)."""

    def __class_getitem__(cls, item: Any) -> type[_ArrayHint]:
        return cls


_NAMES = {"Node": Node, "array": _ArrayHint}
_HINTS: dict[type[Any], dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    found = _HINTS.get(cls)
    if found is None:
        module = sys.modules[cls.__module__]
        found = typing.get_type_hints(cls, vars(module) | _NAMES)
        _HINTS[cls] = found
    return found


def hints_of(fn: Callable[..., Any]) -> dict[str, Any]:
    """The parameter hints of a Protocol method (names resolved in its module)."""
    module = sys.modules[fn.__module__]
    hints = typing.get_type_hints(fn, vars(module) | _NAMES)
    hints.pop("return", None)
    return hints


def conforms(value: Any, hint: Any) -> bool:
    """Whether ``value`` is of the type ``hint`` says (the subset of hints the seam uses)."""
    if hint is Any:
        return True
    if hint is None or hint is type(None):
        return value is None
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(conforms(value, a) for a in args)
    if origin is typing.Literal:
        return value in args
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint in (str, bool, bytes):
        return isinstance(value, hint)
    if hint is _ArrayHint:
        return isinstance(value, array)
    if origin is tuple:
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(conforms(v, args[0]) for v in value)
        return len(args) == len(value) and all(conforms(v, a) for v, a in zip(value, args))
    if origin in (list, Sequence):
        item = args[0] if args else Any
        return isinstance(value, (list, tuple)) and all(conforms(v, item) for v in value)
    if origin in (dict, Mapping):
        k, v = args or (Any, Any)
        return isinstance(value, dict) and all(conforms(a, k) and conforms(b, v) for a, b in value.items())
    if origin is set:
        return isinstance(value, set) and all(conforms(v, args[0]) for v in value)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return False


def _name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint)
